"""A script under `art run` that joins the run keeps what it records: the wrapper's finish
sets the status, never the config or summary the script wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ART = [sys.executable, "-m", "artstore.cli"]

SCRIPT = """
import artstore as art
run = art.init(config={"epochs": 3})  # nothing changes the config afterwards
run.summary["val_acc"] = 0.93
run.log({"loss": 1.0})
run.finish()
"""


@pytest.mark.slow
def test_joined_run_keeps_config_and_summary(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "ARTSTORE_URL": str(store)}
    subprocess.run([*ART, "init", str(store)], check=True, env=env, capture_output=True)
    (tmp_path / "train.py").write_text(SCRIPT)
    ran = subprocess.run(
        [*ART, "run", "--project", "p", "--", sys.executable, str(tmp_path / "train.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    listed = subprocess.run([*ART, "runs", "--json"], env=env, capture_output=True, text=True)
    (run,) = json.loads(listed.stdout)
    assert run["state"] == "finished"
    command = [sys.executable, str(tmp_path / "train.py")]
    assert run["config"] == {"command": command, "epochs": 3}
    assert run["summary"] == {"val_acc": 0.93, "loss": 1.0}
