"""The W&B-tutorial examples (examples/wandb/) run as real processes, in order, on a new store,
and leave what ``art runs`` and ``art runs show --json`` report: metrics, media, files, alerts,
artifacts and an offline run synced with ``art sync wandb/``."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ART
from tests.services import require_service

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "wandb"


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _script(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, str(EXAMPLES / name)], cwd, env)


def _json(cwd: Path, env: dict[str, str], *args: str) -> Any:
    return json.loads(_run([str(ART), *args, "--json"], cwd, env).stdout)


def test_the_wandb_examples_run_with_one_changed_import(
    env: dict[str, str], tmp_path: Path
) -> None:
    if importlib.util.find_spec("torch") is None:
        require_service("torch", "examples/wandb train torch models: pip install torch")
    env = {k: v for k, v in env.items() if not k.startswith("WANDB_")}
    for name in ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_BUILD_ID", "BUILD_ID"):
        env.pop(name, None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    work = tmp_path / "work"
    work.mkdir()

    quickstart = _script("config_log_alert.py", work, env)
    assert "epoch=9, accuracy=" in quickstart.stdout
    assert "alert WARN" in quickstart.stderr and "Low accuracy" in quickstart.stderr
    _script("mnist_torch.py", work, env)
    _script("artifacts.py", work, env)
    offline = _script("offline_sync.py", work, env)
    assert offline.stdout.splitlines()[-1] == "art sync wandb/"
    _run([str(ART), "sync", "wandb/"], work, env)
    best_run = _script("api_best_run.py", work, env)

    runs = _json(work, env, "runs")
    assert sorted((run["project"], run["state"]) for run in runs) == [
        ("mnist", "finished"),
        ("mnist", "finished"),
        ("mnist", "finished"),
        ("offline-demo", "finished"),
        ("quickstart", "finished"),
    ]
    shown = [_json(work, env, "runs", "show", run["id"]) for run in runs]

    def one(project: str, tag: str = "", **config: Any) -> dict[str, Any]:
        (found,) = [
            run
            for run in shown
            if run["project"] == project
            and (not tag or tag in run["tags"])
            and all(run["config"].get(k) == v for k, v in config.items())
        ]
        return found

    alerted = one("quickstart")
    assert alerted["config"] == {"learning_rate": 0.01, "epochs": 10, "threshold": 0.8}
    assert set(alerted["summary"]) == {"accuracy", "loss", "final_accuracy"}
    # wait_duration=300 keeps one alert of the several low accuracies.
    assert [(a["level"], a["title"], a["step"]) for a in alerted["alerts"]] == [
        ("WARN", "Low accuracy", 0)
    ]
    assert alerted["media"] == {} and alerted["files"] == []

    cnn = one("mnist", "job_type:train", architecture="CNN")
    assert cnn["config"]["dropout"] == 0.2  # wandb.config.dropout = 0.2
    assert set(cnn["summary"]["val_acc"]) == {"max"}  # define_metric(summary="max")
    assert set(cnn["summary"]["train_loss"]) == {"min"}
    assert cnn["summary"]["test_accuracy"] <= cnn["summary"]["val_acc"]["max"]
    assert [f["name"] for f in cnn["files"]] == ["model.pt"]  # wandb.save("model.pt")
    media = cnn["media"]
    assert {k: media[k] for k in ("examples", "logits", "predictions", "confusion_matrix")} == {
        "examples": 1,  # a gallery of four images counts once
        "logits": 3,
        "predictions": 1,
        "confusion_matrix": 1,
    }
    watched = {k.split("/")[0] for k in media if "/" in k}
    assert watched == {"gradients", "parameters"}  # wandb.watch(model, log="all")
    assert cnn["alerts"] == [] and cnn["used"] == cnn["produced"] == []

    loader = one("mnist", "job_type:load-data")
    assert (loader["used"], loader["produced"]) == ([], ["mnist-raw:v0"])
    mlp = one("mnist", "job_type:train", hidden=64)
    assert (mlp["used"], mlp["produced"]) == (["mnist-raw:v0"], ["trained-model:v0"])
    assert set(mlp["summary"]["val_acc"]) == {"max"}

    synced = one("offline-demo")
    assert synced["config"] == {"learning_rate": 0.1, "steps": 20}
    assert synced["summary"]["final_loss"] == pytest.approx(math.exp(-0.1 * 19))
    assert synced["summary"]["step"] == 19

    best = max((cnn, mlp), key=lambda run: run["summary"]["val_acc"]["max"])
    assert f"best run {best['id']}: val_acc" in best_run.stdout
    model = "trained_model.pth" if best is mlp else "model.pt"
    assert (work / "best-model" / model).is_file(), best_run.stdout
