"""``sync_spool`` merges: rows another writer added stay, rows synced before are not added
again, a run resumed online keeps its newer columns; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from artstore.tracker import sync_spool
from artstore.tracker.spool import SPOOL_FILE
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    db = None if request.param == "sqlite" else request.getfixturevalue("pg_catalog_url")
    url = str(tmp_path / "store")
    with Store.init(url, db=db) as made:
        yield made


def offline(store: Store, base: Path, steps: int = 3, **kw: Any) -> artstore.Run:
    run = artstore.init(store=store.url, mode="offline", dir=base, project="p", **FAST, **kw)
    with run:
        for step in range(steps):
            run.log({"loss": float(step)})
            if step == 1:
                run.flush()  # the first two steps in a batch of their own
        print("offline line")
        run.summary["where"] = "offline"
    return run


def history(store: Store, run_id: str) -> list[dict[str, Any]]:
    return store.run(run_id).history()


def rows(store: Store, run_id: str) -> tuple[int, int]:
    info = store.run(run_id)
    return sum(len(r) - 1 for r in info.history()), len(store.catalog.runs.console(run_id))


def test_resumed_online_rows_and_columns_survive_a_second_sync(store, tmp_path):
    run = offline(store, tmp_path)
    assert sync_spool(run.dir, store).new_metrics == 3
    online = artstore.init(store=store, id=run.id, resume="allow", config={"lr": 2}, **FAST)
    assert online.step == 3
    with online:
        online.log({"loss": 30.0})
        online.summary["where"] = "online"
    before = store.run(run.id).record
    again = sync_spool(run.dir, store)
    assert (again.new_metrics, again.new_console, again.metrics) == (0, 0, 3)
    info = store.run(run.id)
    assert [(r["_step"], r["loss"]) for r in info.history()] == [
        (0, 0.0),
        (1, 1.0),
        (2, 2.0),
        (3, 30.0),
    ]
    assert info.summary == {"loss": 30.0, "where": "online"}
    assert info.config == {"lr": 2}
    assert info.record == before, "the online resume's columns are newer: kept"
    assert info.console().count("offline line") == 1


def test_a_spool_synced_while_running_then_again_when_done_gets_its_newer_columns(store, tmp_path):
    run = offline(store, tmp_path, steps=4)
    spool = run.dir / SPOOL_FILE
    lines = spool.read_text().splitlines()
    partial = tmp_path / "partial" / run.dir.name
    partial.mkdir(parents=True)
    # Up to the first batch with a metric: the run as a sync in the middle saw it.
    cut = next(i for i, line in enumerate(lines) if json.loads(line).get("metrics"))
    (partial / SPOOL_FILE).write_text("\n".join(lines[: cut + 1]) + "\n")
    first = sync_spool(partial, store)
    assert store.run(run.id).record.finished_at is None
    done = sync_spool(run.dir, store)
    assert (first.new_metrics, done.new_metrics) == (2, 2)
    info = store.run(run.id)
    assert info.state == "finished"
    assert info.summary["where"] == "offline"
    assert [r["loss"] for r in info.history()] == [0.0, 1.0, 2.0, 3.0]


def test_the_same_rows_twice_in_a_spool_are_kept_once(store, tmp_path):
    run = offline(store, tmp_path)
    spool = run.dir / SPOOL_FILE
    lines = spool.read_text().splitlines()
    batches = [line for line in lines if json.loads(line)["type"] == "batch"]
    # A batch written twice (as a retry after a failed write might): its rows count once.
    spool.write_text("\n".join([*lines[:-1], *batches, lines[-1]]) + "\n")
    result = sync_spool(run.dir, store)
    assert result.new_metrics == 3
    assert rows(store, run.id) == (3, len(store.catalog.runs.console(run.id)))
    assert store.run(run.id).console().count("offline line") == 1


def test_a_version_produced_offline_is_recorded_once_with_its_aliases(store, tmp_path):
    run = artstore.init(store=store.url, mode="offline", dir=tmp_path, **FAST)
    with run:
        model = Artifact("model", "model")
        model.add_dir(make_folder(tmp_path / "m", {"w": b"1"}))
        run.log_artifact(model, aliases=["candidate"])
    assert sync_spool(run.dir, store).produced == ["model:v0"]
    store.remove_alias("model", "candidate")
    assert sync_spool(run.dir, store).produced == ["model:v0"]
    [version] = store.versions("model")
    assert version.aliases == ("latest",), "a repeated sync moves no alias back"


def test_protected_aliases_are_not_set_by_a_sync(tmp_path, caplog):
    url = str(tmp_path / "store")
    Store.init(url).close()
    (tmp_path / "store" / "artstore.yaml").write_text("protected_aliases:\n  production: []\n")
    run = artstore.init(store=url, mode="offline", dir=tmp_path, **FAST)
    with run:
        model = Artifact("model", "model")
        model.add_dir(make_folder(tmp_path / "m", {"w": b"1"}))
        run.log_artifact(model, aliases=["production", "candidate"])
    with Store(url) as store, caplog.at_level(logging.WARNING, logger="artstore"):
        sync_spool(run.dir, store)
        assert store.artifact("model:v0").aliases == ("candidate", "latest")
    assert "protected aliases of model are not set by a sync: production" in caplog.text


def test_a_run_killed_offline_syncs_without_a_finish_and_its_last_heartbeat(store, tmp_path):
    run = offline(store, tmp_path)
    spool = run.dir / SPOOL_FILE
    lines = spool.read_text().splitlines()
    spool.write_text("\n".join(lines[:-1]) + "\n")  # the finishing batch never came
    result = sync_spool(run.dir, store)
    assert not result.finished
    record = store.run(run.id).record
    assert (record.finished_at, record.exit_code) == (None, None)
    # Its heartbeat is its last spooled batch's, so it shows as crashed once that is old.
    last = json.loads(lines[-2])["fields"]["heartbeat_at"]
    assert record.heartbeat_at == datetime.fromisoformat(last)


def test_a_copied_spool_folder_syncs_under_any_name(store, tmp_path):
    run = offline(store, tmp_path)
    copied = tmp_path / "copied"
    shutil.copytree(run.dir, copied)
    assert sync_spool(copied, store).run_id == run.id
    assert sync_spool(run.dir, store).new_metrics == 0


def test_two_values_of_a_key_logged_at_one_step_and_one_clock_tick_are_both_synced(
    store, tmp_path, monkeypatch
):
    """A coarse clock gives two log() calls one time: a merge keyed on (step, key, time) alone
    kept the first value and dropped the one logged last."""
    monkeypatch.setattr("artstore.tracker.run.time", type("Clock", (), {"time": lambda: 1e9}))
    run = artstore.init(store=store.url, mode="offline", dir=tmp_path, project="p", **FAST)
    with run:
        run.log({"loss": 1.0}, commit=False)
        run.log({"loss": 2.0})
    assert sync_spool(run.dir, store).new_metrics == 2
    assert history(store, run.id) == [{"_step": 0, "loss": 2.0}]
    assert sync_spool(run.dir, store).new_metrics == 0
