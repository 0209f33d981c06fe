"""`art sweep`, `art sweep ls|show|stop|cancel`, `art lineage --sweep`, and `artstore.sweep()`
/ `artstore.agent(function=)` in-process: trials' runs get their parameters in `config`, and
the lineage goes sweep -> runs -> artifacts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result

import artstore
from tests.cli.conftest import ISO_Z, json_out, one_error_line

CONFIG = {
    "method": "grid",
    "name": "tiny",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"lr": {"values": [0.1, 0.01]}, "layers": {"value": 2}},
}


def _file(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def test_art_sweep_prints_the_id_and_lists_shows_stops_and_cancels(
    art: Callable[..., Result], tmp_path: Path
) -> None:
    created = art("sweep", _file(tmp_path, CONFIG), "--project", "demo")
    assert created.exit_code == 0, created.stderr
    sweep_id = created.stdout.strip()
    assert len(sweep_id) == 8 and f"art agent {sweep_id}" in created.stderr
    (listed,) = json_out(art("sweep", "ls", "--json"))
    assert listed["id"] == sweep_id and listed["project"] == "demo" and listed["state"] == "running"
    assert listed["method"] == "grid" and listed["trials"] == 0 and listed["trial_states"] == {}
    assert ISO_Z.fullmatch(listed["created_at"])
    assert listed["config"]["parameters"]["lr"] == {
        "distribution": "categorical",
        "values": [0.1, 0.01],
    }
    text = art("sweep", "ls").stdout
    assert sweep_id in text and "tiny" in text
    shown = json_out(art("sweep", "show", sweep_id, "--json"))
    assert shown["ranked"] == [] and shown["best"] is None
    assert json_out(art("sweep", "stop", sweep_id, "--json"))["state"] == "stopped"
    assert art("sweep", "cancel", sweep_id).stdout == f"sweep {sweep_id} is cancelled\n"
    assert "cancelled already" in one_error_line(art("sweep", "stop", sweep_id), 2)
    assert "no sweep 'nosuch1'" in one_error_line(art("sweep", "show", "nosuch1"), 2)
    made = json_out(art("sweep", "--project", "p2", _file(tmp_path, CONFIG), "--json"))
    assert made["project"] == "p2"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"method": "hill"}, "method"),
        ({"parameters": {"lr": {"min": 1}}}, "parameters.lr"),
        ({"early_terminate": {"type": "hyperband"}}, "early_terminate"),
        ({"command": ["${program}", "--password", "hunter22"], "program": "t.py"}, "command"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_key(
    art: Callable[..., Result], tmp_path: Path, change: dict[str, object], key: str
) -> None:
    line = one_error_line(art("sweep", _file(tmp_path, {**CONFIG, **change})), 2)
    assert line.startswith(f"art: sweep config: {key}")
    assert "hunter22" not in line
    assert json_out(art("sweep", "ls", "--json")) == []


def test_agent_function_mode_and_the_sweep_in_lineage(
    art: Callable[..., Result], store_url: str
) -> None:
    sweep_id = artstore.sweep(CONFIG, project="fn", store=store_url)
    seen = []

    def train() -> None:
        run = artstore.init(config={"lr": 99.0, "epochs": 3})  # the sweep's lr wins
        seen.append(dict(run.config))
        run.log({"loss": run.config["lr"] * 10})
        model = artstore.Artifact("model", type="model")
        with model.new_file("weights.txt") as out:
            out.write(str(run.config["lr"]))
        run.log_artifact(model)

    result = artstore.agent(sweep_id, function=train, count=5, store=store_url)
    assert [t.state for t in result.trials] == ["finished", "finished"]
    assert result.reason == f"sweep {sweep_id} has no more trials to run"
    assert seen == [
        {"lr": 0.1, "layers": 2, "epochs": 3},
        {"lr": 0.01, "layers": 2, "epochs": 3},
    ]
    shown = json_out(art("sweep", "show", sweep_id, "--json"))
    assert shown["state"] == "finished" and shown["trial_states"] == {"finished": 2}
    assert [t["metric"] for t in shown["ranked"]] == [0.1, 1.0]
    assert shown["best"] == {"number": 1, "params": {"lr": 0.01, "layers": 2}, "metric": 0.1}
    text = art("sweep", "show", sweep_id).stdout
    assert "best: trial 1" in text

    up = art("lineage", "model:v1", "--up").stdout
    assert f"run by fn/sweep tiny ({sweep_id})" in up
    assert f'"s:{sweep_id}"' in art("lineage", "model:v1", "--format", "dot").stdout
    assert "hexagon" in art("lineage", "model:v1", "--format", "dot").stdout
    assert "{{" in art("lineage", "model:v1", "--format", "mermaid").stdout
    graph = json_out(art("lineage", "--sweep", sweep_id, "--json"))
    kinds = sorted(node["kind"] for node in graph["nodes"])
    assert kinds == ["run", "run", "sweep", "version", "version"]
    assert {e["kind"] for e in graph["edges"]} == {"ran", "produced"}
    near = json_out(art("lineage", "--sweep", sweep_id, "--json", "--depth", "1"))
    assert sorted(node["kind"] for node in near["nodes"]) == ["run", "run", "sweep"]
    assert "sweep" in one_error_line(art("lineage", "--sweep", "nosuch1"), 2)
