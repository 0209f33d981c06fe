"""The examples run as a new user runs them: ``python examples/X.py`` in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from artstore.artifacts import Store
from artstore.lineage import LineageGraph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# 2,000 training rows in batches of 64, 10 epochs by default.
TRAIN_STEPS = 320


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    for name in ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_BUILD_ID", "BUILD_ID"):
        env.pop(name, None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def _python(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _succeed(tmp_path, [str(EXAMPLES / script), *args], script, timeout=120)


def _art(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["-m", "artstore.cli", "--store", str(tmp_path / ".artstore"), *args]
    return _succeed(tmp_path, argv, f"art {' '.join(args)}", timeout=60)


def _succeed(
    tmp_path: Path, argv: list[str], what: str, timeout: int
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *argv],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{what} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _run_id(stdout: str) -> str:
    found = re.search(r"^run id\s+(\S+)$", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


def _labels(graph: LineageGraph) -> dict[str, str]:
    return {node.id: node.label for node in graph.nodes}


def _check_train_lineage(store: Store, run_id: str) -> None:
    graph = store.lineage("train-model:latest", direction="up")
    by_kind = {(n.kind, n.attrs.get("artifact") or n.attrs.get("run_id")): n for n in graph.nodes}
    model = by_kind[("version", "train-model")]
    run = by_kind[("run", run_id)]
    data = by_kind[("version", "train-data")]
    assert graph.root == model.id
    assert (data.id, run.id, "used") in graph.edges, (graph.edges, _labels(graph))
    assert (run.id, model.id, "produced") in graph.edges, (graph.edges, _labels(graph))
    assert (model.distance, run.distance, data.distance) == (0, 1, 2)


def test_quickstart_runs_in_a_fresh_folder(tmp_path: Path) -> None:
    proc = _python(tmp_path, "quickstart.py")
    assert "quickstart-model:v1" in proc.stdout
    with Store(str(tmp_path / ".artstore")) as store:
        assert store.artifact("quickstart-model:production").version == "v1"
        assert store.artifact("quickstart-data:latest").version == "v0"


def test_train_logs_a_run_its_metrics_and_lineage(tmp_path: Path) -> None:
    proc = _python(tmp_path, "train.py", "--epochs", "10")
    run_id = _run_id(proc.stdout)
    assert "art lineage train-model:latest" in proc.stdout

    with Store(str(tmp_path / ".artstore")) as store:
        run = store.run(run_id)
        assert run.state == "finished"
        assert run.project == "examples"
        assert run.config == {"lr": 0.5, "epochs": 10, "hidden": 32, "seed": 0}
        history = run.history()
        assert [row["_step"] for row in history] == list(range(TRAIN_STEPS))
        assert all({"train/loss", "val/acc"} <= row.keys() for row in history)
        accs = [row["val/acc"] for row in history]
        assert run.summary["val/acc"] == max(accs)
        assert run.summary["train/loss"] == history[-1]["train/loss"]
        # It learns: the loss falls and the best accuracy is well above chance.
        assert history[-1]["train/loss"] < history[0]["train/loss"]
        assert max(accs) > 0.8

        model = store.artifact("train-model:latest")
        assert model.type == "model"
        assert "candidate" in model.aliases
        assert model.created_by == run_id
        assert model.metadata["val_acc"] == max(accs)
        assert {e.path for e in model.files()} == {"model.safetensors", "config.json"}
        assert [v.name for v in run.used()] == ["train-data"]
        assert [v.name for v in run.produced()] == ["train-model"]
        _check_train_lineage(store, run_id)

    tree = _art(tmp_path, "lineage", "train-model:latest").stdout
    assert "train-model:v0" in tree and run_id in tree and "train-data:v0" in tree

    # Deterministic: a second run reuses the dataset and trains the same weights, so the model
    # is the same version (identical content), now also produced by the second run.
    again = _python(tmp_path, "train.py", "--epochs", "10")
    assert "train-data already in the store" in again.stdout
    with Store(str(tmp_path / ".artstore")) as store:
        second = store.run(_run_id(again.stdout))
        assert second.summary["val/acc"] == max(accs)
        assert [v.version for v in store.versions("train-model")] == ["v0"]


def test_train_offline_then_sync_gives_the_same_lineage(tmp_path: Path) -> None:
    epochs = 2
    proc = _python(tmp_path, "train.py", "--offline", "--epochs", str(epochs))
    run_id = _run_id(proc.stdout)
    assert "art sync" in proc.stdout
    with Store(str(tmp_path / ".artstore")) as store:
        # Only the dataset is in the store so far: the run and the model are spooled.
        assert [a.name for a in store.artifacts()] == ["train-data"]
        assert [r.id for r in store.runs()] == []

    synced = _art(tmp_path, "sync").stdout
    assert run_id in synced

    with Store(str(tmp_path / ".artstore")) as store:
        run = store.run(run_id)
        assert run.state == "finished"
        history = run.history()
        assert len(history) == epochs * 32
        assert run.summary["val/acc"] == max(row["val/acc"] for row in history)
        model = store.artifact("train-model:latest")
        assert "candidate" in model.aliases
        assert model.created_by == run_id
        _check_train_lineage(store, run_id)
    assert "train-data:v0" in _art(tmp_path, "lineage", "train-model:latest").stdout
