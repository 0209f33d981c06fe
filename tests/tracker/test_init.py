"""``artstore.init``: ids and resuming, modes and environment, what a run records about itself."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import InvalidNameError, NotFoundError, RunStateError, UserError
from artstore.tracker.spool import SPOOL_FILE, read_spool
from tests.tracker.conftest import FAST, log_files, wait_for

# -- ids and resuming ------------------------------------------------------------------------


def test_resume_must_of_a_missing_run_raises_and_creates_nothing(start, store):
    with pytest.raises(NotFoundError, match="no run 'ghost' to resume"):
        start(id="ghost", resume="must")
    assert store.runs() == []


def test_resume_allow_continues_after_the_last_logged_step(start, store):
    first = start(id="r1", config={"lr": 0.1, "batch": 8}, tags=["a"])
    for i in range(3):
        first.log({"loss": float(i)})
    first.summary["best"] = 1.0
    first.finish()
    assert store.run("r1").state == "finished"

    again = start(id="r1", resume="allow", config={"lr": 0.2}, allow_val_change=True)
    assert again.step == 3
    assert store.run("r1").state == "running"
    assert dict(again.summary) == {"loss": 2.0, "best": 1.0}
    again.log({"loss": 3.0})
    again.finish()
    info = store.run("r1")
    assert info.state == "finished"
    assert info.config == {"lr": 0.2, "batch": 8}
    assert info.summary == {"loss": 3.0, "best": 1.0}
    assert [row["_step"] for row in info.history()] == [0, 1, 2, 3]
    assert [r.id for r in store.runs()] == ["r1"]


def test_resume_must_continues_an_existing_run(start, store):
    start(id="r2").finish()
    run = start(id="r2", resume="must")
    assert run.step == 0  # nothing was logged before
    run.log({"a": 1.0})
    run.finish()
    assert store.run("r2").history() == [{"_step": 0, "a": 1.0}]


def test_resume_allow_of_a_missing_run_starts_it(start, store):
    run = start(id="fresh", resume="allow")
    run.log({"a": 1.0})
    run.finish()
    assert store.run("fresh").history() == [{"_step": 0, "a": 1.0}]


def test_a_duplicate_id_without_resume_raises(start, store):
    start(id="dup", config={"lr": 0.1}).finish()
    with pytest.raises(RunStateError, match="'dup' already exists"):
        start(id="dup", config={"lr": 9.0})
    assert store.run("dup").config == {"lr": 0.1}
    assert store.run("dup").state == "finished"


@pytest.mark.parametrize("bad", ["-x", "a b", "a/b", "x" * 65])
def test_malformed_ids_are_refused(start, store, bad):
    with pytest.raises(InvalidNameError, match="invalid run id"):
        start(id=bad)
    assert store.runs() == []


def test_unknown_resume_policy_is_refused(start):
    with pytest.raises(UserError, match="resume must be 'allow', 'must' or 'never'"):
        start(id="x", resume="sometimes")


def test_random_ids_are_eight_characters(start):
    ids = {start().id for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[a-z0-9]{8}", i) for i in ids)


def test_a_process_inside_art_run_joins_that_run(start, store, tmp_path):
    outer = start(id="outer", capture_console=False)
    child = (
        "import artstore\n"
        f"run = artstore.init(store={store.url!r}, flush_interval=0.05)\n"
        "assert run.id == 'outer', run.id\n"
        "run.log({'child': 1.0})\n"
        "run.finish()\n"
    )
    env = {**os.environ, "ARTSTORE_RUN_ID": "outer"}
    done = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    info = store.run("outer")
    assert info.state == "running", "the joining process does not own the run's status"
    assert info.history() == [{"_step": 0, "child": 1.0}]
    outer.finish(exit_code=0)
    assert store.run("outer").state == "finished"
    assert [r.id for r in store.runs()] == ["outer"]


# -- modes and environment -------------------------------------------------------------------


def test_disabled_mode_from_the_environment_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTSTORE_MODE", "disabled")
    monkeypatch.chdir(tmp_path)
    run = artstore.init(project="p", config={"lr": 0.1}, **FAST)
    assert run.mode == "disabled"
    run.log({"a": 1.0})
    run.summary["s"] = 1
    print("not kept")
    run.finish()
    assert list(tmp_path.iterdir()) == []


def test_disabled_mode_leaves_an_existing_store_untouched(store, monkeypatch):
    monkeypatch.setenv("ARTSTORE_MODE", "disabled")
    with artstore.init(store=store.url, **FAST) as run:
        run.log({"a": 1.0})
    assert store.runs() == []


def test_disabled_mode_still_resolves_used_versions(store, tmp_path):
    made = log_files(store, "data", {"a.txt": b"a"}, tmp_path / "d")
    with artstore.init(store=store.url, mode="disabled", **FAST) as run:
        used = run.use_artifact("data:latest")
    assert used.digest == made.digest
    assert store.runs() == []


def test_unknown_mode_is_refused(store, monkeypatch):
    monkeypatch.setenv("ARTSTORE_MODE", "sometimes")
    with pytest.raises(UserError, match="mode must be one of online, offline, disabled"):
        artstore.init(store=store.url)


def test_project_comes_from_the_environment(start, store, monkeypatch):
    start().finish()
    monkeypatch.setenv("ARTSTORE_PROJECT", "from-env")
    start().finish()
    start(project="explicit").finish()
    assert sorted(r.project for r in store.runs()) == ["explicit", "from-env", "uncategorized"]
    assert [r.project for r in store.runs(project="from-env")] == ["from-env"]


def test_store_comes_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("ARTSTORE_URL", store.url)
    with artstore.init(**FAST) as run:
        run.log({"a": 1.0})
    assert store.run(run.id).history() == [{"_step": 0, "a": 1.0}]


def test_offline_run_folder_layout(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = artstore.init(store=store.url, mode="offline", project="p", **FAST)
    run.log({"a": 1.0})
    run.finish()
    [folder] = (tmp_path / "artstore-runs").iterdir()
    assert re.fullmatch(rf"offline-run-\d{{8}}_\d{{6}}-{run.id}", folder.name)
    assert run.dir == folder
    assert (folder / SPOOL_FILE).is_file()
    records = [json.loads(line) for line in (folder / SPOOL_FILE).read_text().splitlines()]
    assert all(r["format"] == 1 for r in records)
    assert records[0]["type"] == "start" and records[0]["fields"]["id"] == run.id
    spool = read_spool(folder)  # the same records, parsed and checked by artstore
    assert (spool.run_id, spool.finished) == (run.id, True)
    assert [row[2:5] for row in spool.metrics] == [("a", 1.0, None)]
    assert spool.columns["project"] == "p" and spool.columns["status"] == "finished"
    assert store.runs() == [], "an offline run reaches the store only through art sync"


def test_offline_dir_option(store, tmp_path):
    run = artstore.init(store=store.url, mode="offline", dir=tmp_path / "elsewhere", **FAST)
    run.finish()
    assert run.dir is not None and run.dir.parent == tmp_path / "elsewhere" / "artstore-runs"


def test_offline_use_artifact_resolves_in_the_local_store(store, tmp_path):
    made = log_files(store, "data", {"a.txt": b"a"}, tmp_path / "d")
    run = artstore.init(store=store.url, mode="offline", dir=tmp_path, **FAST)
    used = run.use_artifact("data:latest")
    run.finish()
    assert (used.name, used.number, used.digest) == ("data", 0, made.digest)
    assert run.dir is not None
    uses = [r for r in read_spool(run.dir).lineage]
    assert [(u.name, u.number, u.digest) for u in uses] == [("data", 0, made.digest)]
    assert store.runs() == []


def test_offline_runs_cannot_resume(store, tmp_path):
    with pytest.raises(RunStateError, match="offline runs cannot resume"):
        artstore.init(store=store.url, mode="offline", id="x", resume="allow", dir=tmp_path)


# -- what a run records about itself ---------------------------------------------------------


def test_run_records_host_python_and_command(start, store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not inside a git work tree
    run = start(tags=["t1", "t2"], notes="first try", name="cnn")
    run.finish()
    r = store.run(run.id).record
    assert r.host == socket.gethostname()
    assert r.python == platform.python_version()
    assert r.command == shlex.join(sys.argv)
    assert (r.git_commit, r.git_dirty) == (None, None)
    assert (r.tags, r.notes, r.name) == (("t1", "t2"), "first try", "cnn")
    assert r.user


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_run_records_git_commit_and_dirty_flag(start, store, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.py").write_text("print(1)\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)

    start(id="clean").finish()
    (repo / "untracked.txt").write_text("ignored by the dirty flag\n")
    start(id="still-clean").finish()
    (repo / "train.py").write_text("print(2)\n")
    start(id="dirty").finish()

    for run_id, dirty in (("clean", False), ("still-clean", False), ("dirty", True)):
        r = store.run(run_id).record
        assert (r.git_commit, r.git_dirty) == (head, dirty), run_id


# -- console ---------------------------------------------------------------------------------


def test_console_is_kept_and_still_reaches_the_terminal(start, store, capfd):
    run = start()
    print("hello from the run")
    print("a warning", file=sys.stderr)
    sys.stdout.write("no newline")
    run.finish()
    out, err = capfd.readouterr()
    assert "hello from the run\n" in out and "no newline" in out
    assert "a warning\n" in err
    assert store.run(run.id).console() == "hello from the run\na warning\nno newline"


def test_console_capture_can_be_turned_off(start, store, capfd):
    run = start(capture_console=False)
    print("not kept")
    run.finish()
    assert "not kept" in capfd.readouterr().out
    assert store.run(run.id).console() == ""


def test_finish_restores_the_streams(start):
    before = (sys.stdout, sys.stderr)
    run = start()
    assert sys.stdout is not before[0]
    run.finish()
    assert (sys.stdout, sys.stderr) == before


def test_store_object_can_be_passed(store):
    with artstore.init(store=Store(store.url), **FAST) as run:
        run.log({"a": 1.0})
    assert store.run(run.id).history() == [{"_step": 0, "a": 1.0}]


def test_an_idle_run_keeps_its_heartbeat_fresh(start, store):
    run = start(flush_interval=0.05, heartbeat_interval=0.1)
    first = store.run(run.id).record
    assert first.heartbeat_timeout == pytest.approx(0.3)  # 3 x max(heartbeat, flush)
    # Nothing is logged: only the heartbeat moves heartbeat_at forward.
    wait_for(lambda: store.run(run.id).record.heartbeat_at > first.heartbeat_at, timeout=5)
    assert store.run(run.id).state == "running"
    run.finish()


def test_heartbeat_timeout_follows_the_longer_interval(start, store):
    with start(flush_interval=2.0, heartbeat_interval=0.5) as run:
        pass
    assert store.run(run.id).record.heartbeat_timeout == pytest.approx(6.0)
