"""A training process that logs NaN and infinities, on SQLite and PostgreSQL: every step, the
summary and the finished state are kept, the values read back as logged, and `art runs --json`
prints valid JSON."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Store

pytestmark = pytest.mark.slow

ART = Path(sys.executable).with_name("art")
STEPS = 300

TRAIN = textwrap.dedent(
    f"""
    import math, sys
    import artstore
    run = artstore.init(project="nan", config={{"clip": math.inf}}, flush_interval=0.02)
    run.summarize("val_loss", "min")
    for step in range({STEPS}):
        if step % 50 == 0:
            run.log({{"val_loss": math.nan if step == 100 else 2.0 - step / 1000}}, commit=False)
            print("checkpoint", step)
        loss = math.nan if step % 7 == 3 else (math.inf if step == 50 else 1.0 / (step + 1))
        run.log({{"loss": loss, "grad_norm": -math.inf if step == 60 else 1.0}})
    run.summary["last_loss"] = math.nan
    run.finish()
    print(run.id, file=sys.stderr)
    """
)


def strict(text: str) -> Any:
    """Parse JSON as a strict reader does: NaN and Infinity tokens are not JSON."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def expected_loss(step: int) -> float:
    return math.nan if step % 7 == 3 else (math.inf if step == 50 else 1.0 / (step + 1))


def test_nan_and_infinities_in_a_training_process(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    trained = subprocess.run(
        [sys.executable, "train.py"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stderr.split()[-1]
    assert "refused" not in trained.stderr and "cannot write" not in trained.stderr
    with Store(env["ARTSTORE_URL"], db=env.get("ARTSTORE_DB")) as store:
        info = store.run(run_id)
        history = info.history()
        assert info.state == "finished"
        assert [row["_step"] for row in history] == list(range(STEPS)), "every step kept"
        for row in history:
            want = expected_loss(row["_step"])
            got = row["loss"]
            assert (math.isnan(got) and math.isnan(want)) or got == want, row
        assert history[60]["grad_norm"] == -math.inf
        assert math.isnan(history[100]["val_loss"])
        assert math.isnan(info.summary["last_loss"])
        assert info.summary["loss"] == 1.0 / STEPS
        assert info.summary["val_loss"] == 2.0 - 250 / 1000, "min() skipped the NaN"
        assert info.config == {"clip": math.inf}
        assert "checkpoint 250" in info.console()
    listed = subprocess.run([ART, "runs", "--json"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    [row] = strict(listed.stdout)
    assert row["summary"]["last_loss"] == "NaN"
    assert row["config"] == {"clip": "Infinity"}
    shown = subprocess.run(
        [ART, "runs", "show", run_id, "--json"], env=env, capture_output=True, text=True
    )
    assert strict(shown.stdout)["state"] == "finished"
