"""Sweeps with real processes: `art sweep` and parallel `art agent` processes on SQLite and
PostgreSQL catalogs, the W&B-style example end to end, and an agent killed mid-trial whose
trial another agent runs again once the lease expires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from artstore.artifacts import Store
from tests.e2e.conftest import ART

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

# A trial that takes no time: it appends its parameter to a shared file and logs it as the
# metric (through the run the agent made, which its init() joins).
FAST = textwrap.dedent(
    """
    import os, sys
    value = int(sys.argv[1].partition("=")[2])
    with open(os.environ["TRIALS_LOG"], "a") as out:
        out.write(f"{value} {os.environ['ARTSTORE_RUN_ID']}\\n")
    """
)

# The first attempt of the trial says it started and then hangs until killed; later
# attempts log the metric and end.
HANG_ONCE = textwrap.dedent(
    """
    import os, sys, time
    import artstore
    marker = os.environ["STARTED"]
    if not os.path.exists(marker):
        open(marker, "w").write(os.environ["ARTSTORE_RUN_ID"])
        while True:
            time.sleep(0.05)
    run = artstore.init()
    run.log({"loss": float(run.config["x"])})
    run.finish()
    """
)


def _sweep(env: dict[str, str], config: dict[str, object], tmp_path: Path) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [ART, "sweep", str(path), "--project", "sweeps"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _agents(env: dict[str, str], sweep_id: str, n: int, *extra: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [ART, "agent", sweep_id, "--json", *extra],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(n)
    ]


def _finish(agents: list[subprocess.Popen[str]], timeout: float = 120) -> list[dict[str, object]]:
    results = []
    for agent in agents:
        out, err = agent.communicate(timeout=timeout)
        assert agent.returncode == 0, err
        results.append(json.loads(out))
    return results


def _wait_for(marker: Path, agent: subprocess.Popen[str]) -> None:
    """Until the agent's trial has written ``marker`` (the agent must still be running)."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert agent.poll() is None, agent.communicate()
        assert time.monotonic() < deadline, "the trial never started"
        time.sleep(0.02)


def _store(env: dict[str, str]) -> Store:
    return Store(env["ARTSTORE_URL"], db=env.get("ARTSTORE_DB"))


def test_four_agents_run_forty_trials_once_each(env: dict[str, str], tmp_path: Path) -> None:
    program = tmp_path / "fast.py"
    program.write_text(FAST, encoding="utf-8")
    env = {**env, "TRIALS_LOG": str(tmp_path / "trials.log")}
    config = {
        "method": "grid",
        "program": str(program),
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"i": {"values": list(range(40))}},
    }
    sweep_id = _sweep(env, config, tmp_path)
    results = _finish(_agents(env, sweep_id, 4))
    ran = [trial["number"] for result in results for trial in result["trials"]]
    assert sorted(ran) == list(range(40)), ran
    done = (f"sweep {sweep_id} has no more trials to run", f"sweep {sweep_id} is finished")
    assert all(r["reason"] in done for r in results)
    lines = (tmp_path / "trials.log").read_text().split("\n")[:-1]
    counts = Counter(int(line.split()[0]) for line in lines)
    assert counts == Counter(range(40))  # every trial's program ran exactly once
    with _store(env) as store:
        catalog = store.repository.catalog
        trials = catalog.sweeps.trials(sweep_id)
        assert catalog.sweeps.get(sweep_id).state == "finished"
        assert [t.state for t in trials] == ["finished"] * 40
        assert {t.run_id for t in trials} == {line.split()[1] for line in lines}
        for trial in trials:
            run = catalog.runs.get(trial.run_id or "")
            assert (run.status, run.config, run.project) == ("finished", trial.params, "sweeps")


def test_a_killed_agents_trial_is_run_again_after_its_lease_expires(
    env: dict[str, str], tmp_path: Path
) -> None:
    program = tmp_path / "hang.py"
    program.write_text(HANG_ONCE, encoding="utf-8")
    marker = tmp_path / "started"
    # A lease long enough that a loaded machine never starves the live agent's heartbeats
    # (every lease/3 seconds) past it: only the SIGKILL below may let it expire.
    env = {**env, "STARTED": str(marker), "ARTSTORE_SWEEP_LEASE": "6"}
    config = {
        "method": "grid",
        "program": str(program),
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [3]}},
    }
    sweep_id = _sweep(env, config, tmp_path)
    (doomed,) = _agents(env, sweep_id, 1)
    _wait_for(marker, doomed)
    first_run = marker.read_text()
    # The second agent starts while the trial runs: it finds nothing to lease and waits.
    (waiting,) = _agents(env, sweep_id, 1)
    time.sleep(1.5)
    assert waiting.poll() is None
    os.killpg(doomed.pid, signal.SIGKILL)  # the agent and its trial, as a machine that dies
    doomed.communicate()
    (result,) = _finish([waiting])
    assert [(t["number"], t["state"], t["metric"]) for t in result["trials"]] == [
        (0, "finished", 3.0)
    ]
    with _store(env) as store:
        catalog = store.repository.catalog
        (trial,) = catalog.sweeps.trials(sweep_id)
        assert trial.run_id != first_run and trial.state == "finished"
        assert catalog.runs.get(first_run).status == "crashed"
        assert catalog.runs.get(trial.run_id or "").status == "finished"


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_the_example_sweep_runs_with_two_agents(env: dict[str, str], tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "examples/sweeps/sweep.yaml").read_text())
    config["run_cap"] = 4
    config["parameters"]["epochs"] = {"value": 9}
    sweep_id = _sweep(env, config, tmp_path)
    results = _finish(_agents(env, sweep_id, 2, "--count", "2"), timeout=240)
    assert sorted(t["number"] for r in results for t in r["trials"]) == [0, 1, 2, 3]
    shown = subprocess.run(
        [ART, "sweep", "show", sweep_id, "--json"], env=env, capture_output=True, text=True
    )
    view = json.loads(shown.stdout)
    assert view["state"] in ("running", "finished") and view["trials"] == 4
    assert all(t["state"] in ("finished", "stopped") for t in view["ranked"])
    metrics = [t["metric"] for t in view["ranked"]]
    assert all(m is not None for m in metrics) and metrics == sorted(metrics)
    assert view["best"]["params"] == view["ranked"][0]["params"]
    with _store(env) as store:
        runs = store.repository.catalog.runs
        for trial in view["ranked"]:
            run = runs.get(trial["run_id"])
            assert {k: run.config[k] for k in trial["params"]} == trial["params"]
            assert run.summary["val_loss"] == trial["metric"] or trial["state"] == "stopped"


# A good config (x < 1) logs 9 low values and ends; a bad one logs 3 high values and would
# hang forever: hyperband must stop it.
BANDED = textwrap.dedent(
    """
    import time
    import artstore
    run = artstore.init(flush_interval=0.05)
    x = run.config["x"]
    print("training with x =", x, flush=True)
    if x < 1:
        for step in range(9):
            run.log({"loss": x})
        run.finish()
    else:
        # Falling values, and a summary that is not the last one: a stopped trial's metric
        # is its last logged value.
        for step in range(3):
            run.log({"loss": x + 0.5 - 0.25 * step})
        run.summary["loss"] = 0.0
        while True:
            time.sleep(0.05)
    """
)

HANG = textwrap.dedent(
    """
    import os, time
    open(os.environ["STARTED"], "w").write(os.environ["ARTSTORE_RUN_ID"])
    while True:
        time.sleep(0.05)
    """
)


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_hyperband_stops_a_bad_trial_with_sigterm(env: dict[str, str], tmp_path: Path) -> None:
    program = tmp_path / "banded.py"
    program.write_text(BANDED, encoding="utf-8")
    env = {**env, "ARTSTORE_SWEEP_LEASE": "0.9", "ARTSTORE_SWEEP_GRACE": "1"}
    config = {
        "method": "grid",
        "program": str(program),
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [0.1, 5.0]}},
        "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
    }
    sweep_id = _sweep(env, config, tmp_path)
    (result,) = _finish(_agents(env, sweep_id, 1))
    assert [(t["state"], t["metric"]) for t in result["trials"]] == [
        ("finished", 0.1),
        ("stopped", 5.0),
    ]
    with _store(env) as store:
        runs = store.repository.catalog.runs
        assert [runs.get(t["run_id"]).status for t in result["trials"]] == ["finished", "killed"]
        assert runs.get(result["trials"][1]["run_id"]).summary["loss"] == 0.0
        for trial, x in zip(result["trials"], (0.1, 5.0), strict=True):
            out = "".join(t for s, t in runs.console(trial["run_id"]) if s == "stdout")
            assert out == f"training with x = {x}\n"


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_cancel_stops_the_running_trials(env: dict[str, str], tmp_path: Path) -> None:
    program = tmp_path / "hang.py"
    program.write_text(HANG, encoding="utf-8")
    marker = tmp_path / "started"
    env = {**env, "STARTED": str(marker), "ARTSTORE_SWEEP_LEASE": "0.9"}
    config = {"method": "grid", "program": str(program), "parameters": {"x": {"values": [1, 2]}}}
    sweep_id = _sweep(env, config, tmp_path)
    (agent,) = _agents(env, sweep_id, 1)
    _wait_for(marker, agent)
    cancelled = subprocess.run(
        [ART, "sweep", "cancel", sweep_id], env=env, capture_output=True, text=True
    )
    assert cancelled.returncode == 0, cancelled.stderr
    (result,) = _finish([agent])
    assert result["reason"] == f"sweep {sweep_id} is cancelled"
    assert [t["state"] for t in result["trials"]] == ["failed"]
    with _store(env) as store:
        catalog = store.repository.catalog
        assert catalog.runs.get(marker.read_text()).status == "killed"
        assert [t.state for t in catalog.sweeps.trials(sweep_id)] == ["failed"]


def test_a_program_that_cannot_start_fails_its_trial_and_stops_the_agent(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-program"
    config = {
        "method": "grid",
        "command": [str(missing), "${args}"],
        "parameters": {"x": {"values": [1, 2]}},
    }
    sweep_id = _sweep(env, config, tmp_path)
    (agent,) = _agents(env, sweep_id, 1)
    _, err = agent.communicate(timeout=120)
    assert agent.returncode == 2, err
    message = f"cannot use {missing}: the trial's program cannot start (No such file or directory)"
    assert err.strip().splitlines() == [
        f"art: {message}",
        json.dumps({"error": message, "code": 2}),
    ]
    with _store(env) as store:
        catalog = store.repository.catalog
        (trial,) = catalog.sweeps.trials(sweep_id)
        assert trial.state == "failed"
        run = catalog.runs.get(trial.run_id or "")
        assert (run.status, run.exit_code) == ("failed", 127)


ECHO_ARGS = textwrap.dedent(
    """
    import os, sys
    with open(os.environ["TRIALS_LOG"], "a") as out:
        out.write(" ".join(sys.argv[1:]) + "\\n")
    """
)


def test_an_envvar_value_reaches_the_child_but_never_the_catalog(
    env: dict[str, str], tmp_path: Path
) -> None:
    program = tmp_path / "echo.py"
    program.write_text(ECHO_ARGS, encoding="utf-8")
    secret = "s3cr3t-Value-9f8e7d"
    env = {**env, "TRIALS_LOG": str(tmp_path / "trials.log"), "DATA_PASS": secret}
    config = {
        "method": "grid",
        "program": str(program),
        "command": ["${interpreter}", "${program}", "${envvar:DATA_PASS}", "${args}"],
        "parameters": {"x": {"values": [1]}},
    }
    sweep_id = _sweep(env, config, tmp_path)
    _finish(_agents(env, sweep_id, 1))
    assert (tmp_path / "trials.log").read_text() == f"{secret} --x=1\n"
    with _store(env) as store:
        catalog = store.repository.catalog
        (trial,) = catalog.sweeps.trials(sweep_id)
        command = catalog.runs.get(trial.run_id or "").command or ""
        assert "'${envvar:DATA_PASS}' --x=1" in command and secret not in command
    if "ARTSTORE_DB" not in env:
        for path in Path(env["ARTSTORE_URL"]).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
