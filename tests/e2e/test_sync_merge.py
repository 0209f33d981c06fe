"""Offline runs and `art sync` with real processes, on SQLite and PostgreSQL: a run synced,
resumed online and synced again keeps every row once; a spool whose rows name another run is
refused and that run is untouched; a `sync` killed at any moment leaves all of the run or
none, and the next one writes it exactly once."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from artstore.artifacts import Store
from tests.hostile.harness import snapshot

pytestmark = pytest.mark.slow

ART = Path(sys.executable).with_name("art")
SEED = int(os.environ.get("ARTSTORE_CRASH_SEED", str(time.time_ns() % 2**32)))

OFFLINE = textwrap.dedent(
    """
    import sys
    import artstore
    steps = int(sys.argv[1])
    run = artstore.init(project="p", mode="offline", flush_interval=0.05)
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "phase": "offline"})
    print("offline line")
    run.summary["where"] = "offline"
    run.finish()
    print(run.id, run.dir, file=sys.stderr)
    """
)

RESUME = textwrap.dedent(
    """
    import sys
    import artstore
    run = artstore.init(id=sys.argv[1], resume="must", config={"phase": 2}, flush_interval=0.05)
    for _ in range(5):
        run.log({"loss": 0.01, "phase": "online"})
    print("online line")
    run.summary["where"] = "online"
    run.finish()
    """
)


def run(
    env: dict[str, str], *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def offline_run(env: dict[str, str], work: Path, steps: int = 5) -> tuple[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    (work / "offline.py").write_text(OFFLINE)
    done = run(env, sys.executable, "offline.py", str(steps), cwd=work)
    assert done.returncode == 0, done.stderr
    run_id, folder = done.stderr.split()[-2:]
    return run_id, Path(folder)


def store_of(env: dict[str, str]) -> Store:
    return Store(env["ARTSTORE_URL"], db=env.get("ARTSTORE_DB"))


def test_sync_resume_online_sync_again_loses_and_doubles_nothing(env, tmp_path):
    run_id, folder = offline_run(env, tmp_path / "work")
    first = run(env, ART, "sync", folder, "--json")
    assert first.returncode == 0, first.stderr
    [synced] = json.loads(first.stdout)
    assert (synced["run"], synced["metrics"], synced["new_metrics"]) == (run_id, 10, 10)
    (tmp_path / "resume.py").write_text(RESUME)
    resumed = run(env, sys.executable, "resume.py", run_id, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    again = run(env, ART, "sync", folder, "--json")
    assert again.returncode == 0, again.stderr
    [resynced] = json.loads(again.stdout)
    assert (resynced["new_metrics"], resynced["new_console"]) == (0, 0)
    shown = run(env, ART, "runs", "show", run_id, "--json")
    data = json.loads(shown.stdout)
    assert data["state"] == "finished"
    assert data["summary"] == {"loss": 0.01, "phase": "online", "where": "online"}
    assert data["config"] == {"phase": 2}
    with store_of(env) as store:
        history = store.run(run_id).history()
        console = store.run(run_id).console()
    assert [row["_step"] for row in history] == list(range(10)), "each step once"
    assert [row["phase"] for row in history] == ["offline"] * 5 + ["online"] * 5
    assert (console.count("offline line"), console.count("online line")) == (1, 1)


def test_a_spool_whose_rows_name_another_run_is_refused(env, tmp_path):
    victim_id, _ = offline_run(env, tmp_path / "victim", steps=2)
    victim = run(env, ART, "sync", tmp_path / "victim" / "artstore-runs")
    assert victim.returncode == 0, victim.stderr
    _, folder = offline_run(env, tmp_path / "work")
    path = folder / "run.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        for row in record.get("metrics", ()):
            row[0] = victim_id
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    before = snapshot(Path(env["ARTSTORE_URL"]), env.get("ARTSTORE_DB"))
    refused = run(env, ART, "sync", folder)
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert f"metrics[0].run '{victim_id}' is not this spool's run" in line
    assert line.startswith(f"art: {path}:")
    assert snapshot(Path(env["ARTSTORE_URL"]), env.get("ARTSTORE_DB")) == before


# -- SIGKILL during `art sync` ---------------------------------------------------------------------

BIG = textwrap.dedent(
    """
    import os, sys
    import artstore
    run = artstore.init(project="big", mode="offline", flush_rows=5000, flush_interval=60)
    for step in range(20000):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 20000})
        if step % 50 == 0:
            print("step", step)
    model = artstore.Artifact("model", type="model")
    os.makedirs("model", exist_ok=True)
    for i in range(20):
        with open(f"model/part{i}.bin", "wb") as f:
            f.write(os.urandom(256 * 1024))
    model.add_dir("model")
    run.log_artifact(model, aliases=["candidate"])
    run.finish()
    print(run.id, run.dir, file=sys.stderr)
    """
)


def all_or_nothing(store: Store, run_id: str) -> tuple[int, int, list[str]] | None:
    """The run's (metric rows, console rows, produced versions), or None if it is absent."""
    if store.catalog.runs.find(run_id) is None:
        assert [a.name for a in store.artifacts()] == []
        return None
    info = store.run(run_id)
    cells = sum(len(row) - 1 for row in info.history())
    produced = [v.qualified_name for v in info.produced()]
    return cells, len(store.catalog.runs.console(run_id)), produced


def test_a_killed_sync_leaves_all_of_the_run_or_none(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"ARTSTORE_CRASH_SEED={SEED}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    work = tmp_path / "work"
    work.mkdir()
    (work / "big.py").write_text(BIG)
    made = run(
        {**env, "ARTSTORE_URL": str(tmp_path / "unused")}, sys.executable, "big.py", cwd=work
    )
    assert made.returncode == 0, made.stderr
    run_id, folder = made.stderr.split()[-2:]
    template = tmp_path / "template"
    assert run(env, ART, "init", template).returncode == 0
    full = tmp_path / "full"
    shutil.copytree(template, full)
    start = time.monotonic()
    whole = run(env, ART, "--store", full, "sync", folder)
    duration = time.monotonic() - start
    assert whole.returncode == 0, whole.stderr
    with Store(str(full)) as store:
        expected = all_or_nothing(store, run_id)
    assert expected is not None and expected[0] == 40000 and expected[2] == ["model:v0"]
    outcomes: list[str] = []
    for kill in range(10):
        target = tmp_path / f"kill-{kill}"
        shutil.copytree(template, target)
        proc = subprocess.Popen(
            [ART, "--store", str(target), "sync", folder],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=rng.uniform(0, duration))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        with Store(str(target)) as store:
            found = all_or_nothing(store, run_id)
        assert found in (None, expected), f"kill {kill}: {found}"
        outcomes.append("none" if found is None else "all")
        again = run(env, ART, "--store", target, "sync", folder, "--json")
        assert again.returncode == 0, again.stderr
        with Store(str(target)) as store:
            assert all_or_nothing(store, run_id) == expected, f"kill {kill}: not exactly once"
        verified = run(env, ART, "--store", target, "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    print("after each kill:", outcomes)
