"""The sweep controller's state in the catalog (catalog.sweeps and artstore.sweeps.controller),
on SQLite and PostgreSQL: leases, expiry, stop/cancel, ranking, migration 7, no secrets."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from artstore.artifacts import Store
from artstore.errors import InvalidSweepConfigError, NotFoundError, RunStateError
from artstore.lineage import SCHEMA_VERSION, Catalog, migrations
from artstore.lineage.catalog_sweeps import TrialRecord
from artstore.lineage.tables import utcnow
from artstore.sweeps import cancel_sweep, create_sweep, show_sweep, stop_sweep
from artstore.sweeps.controller import lease_next, ranked

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}},
}


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    with Catalog.open(db_url) as opened:
        yield opened


_RUN_IDS = itertools.count()


def _fields(number: int, params: Any) -> dict[str, Any]:
    return {"id": f"run{next(_RUN_IDS)}", "project": "p", "user": "u"}


def _lease(
    catalog: Catalog, sweep_id: str, agent: str, seconds: float = 60.0
) -> TrialRecord | None:
    sweep = catalog.sweeps.get(sweep_id)
    return lease_next(catalog, sweep, agent, seconds=seconds, run_fields=_fields).trial


def _new(catalog: Catalog, config: dict[str, Any] = GRID) -> str:
    return catalog.sweeps.create("sw1", project="p", name=None, config=config, user="u").id


def test_leases_run_the_grid_in_order_and_then_finish_the_sweep(catalog: Catalog) -> None:
    sweep_id = _new(catalog)
    seen = []
    while (trial := _lease(catalog, sweep_id, "agent-a")) is not None:
        assert trial.state == "running" and trial.agent == "agent-a" and trial.run_id
        run = catalog.runs.get(trial.run_id)
        assert run.config == trial.params and run.status == "running"
        seen.append(trial.params)
        done = catalog.sweeps.record(
            sweep_id,
            trial.number,
            "agent-a",
            state="finished",
            metric=float(trial.number),
            run={"status": "finished", "exit_code": 0},
        )
        assert done
    assert seen == [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y")]
    assert catalog.sweeps.get(sweep_id).state == "finished"
    trials = catalog.sweeps.trials(sweep_id)
    assert [t.number for t in trials] == list(range(6))
    assert all(catalog.runs.get(t.run_id or "").status == "finished" for t in trials)


def test_an_expired_lease_is_queued_again_and_its_run_marked_crashed(catalog: Catalog) -> None:
    sweep_id = _new(catalog)
    first = _lease(catalog, sweep_id, "dead", seconds=0.001)
    assert first is not None and first.run_id
    # The dead agent's lease is past; the next agent gets the same trial with a new run.
    again = _lease(catalog, sweep_id, "alive")
    assert again is not None
    assert (again.number, again.params) == (first.number, first.params)
    assert again.run_id != first.run_id
    assert catalog.runs.get(first.run_id).status == "crashed"
    # The dead agent comes back: its heartbeat and record are refused, nothing is written.
    assert catalog.sweeps.heartbeat(sweep_id, first.number, "dead", seconds=60) is None
    assert not catalog.sweeps.record(
        sweep_id, first.number, "dead", state="finished", metric=0.0, run={"status": "finished"}
    )
    assert catalog.sweeps.heartbeat(sweep_id, again.number, "alive", seconds=60) == "running"
    (trial, *_) = catalog.sweeps.trials(sweep_id)
    assert (trial.agent, trial.state, trial.run_id) == ("alive", "running", again.run_id)
    assert trial.lease_expires is not None and trial.lease_expires > utcnow() + timedelta(
        seconds=30
    )


def test_agents_leasing_at_once_never_share_a_trial(catalog: Catalog) -> None:
    config = {**GRID, "parameters": {"a": {"values": list(range(24))}}}
    sweep_id = _new(catalog, config)
    got: list[tuple[int, str]] = []
    lock = threading.Lock()

    def agent(name: str) -> None:
        while (trial := _lease(catalog, sweep_id, name)) is not None:
            with lock:
                got.append((trial.number, name))
            catalog.sweeps.record(
                sweep_id, trial.number, name, state="finished", metric=1.0, run={}
            )

    threads = [threading.Thread(target=agent, args=(f"agent-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(number for number, _ in got) == list(range(24))
    assert [t.params["a"] for t in catalog.sweeps.trials(sweep_id)] == list(range(24))


def test_stop_and_cancel_end_the_leases(catalog: Catalog) -> None:
    sweep_id = _new(catalog)
    trial = _lease(catalog, sweep_id, "a")
    assert trial is not None
    catalog.sweeps.set_state(sweep_id, "stopped")
    assert _lease(catalog, sweep_id, "b") is None
    assert catalog.sweeps.heartbeat(sweep_id, trial.number, "a", seconds=60) == "stopped"
    catalog.sweeps.set_state(sweep_id, "cancelled")
    assert catalog.sweeps.heartbeat(sweep_id, trial.number, "a", seconds=60) == "cancelled"
    with pytest.raises(RunStateError, match="cancelled already"):
        catalog.sweeps.set_state(sweep_id, "stopped")
    with pytest.raises(NotFoundError, match="no sweep 'nope'"):
        catalog.sweeps.get("nope")


def test_histories_give_each_trial_run_its_metric_by_step(catalog: Catalog) -> None:
    from artstore.lineage import MetricRecord

    sweep_id = _new(catalog)
    trial = _lease(catalog, sweep_id, "a")
    assert trial is not None and trial.run_id
    rows = [MetricRecord(trial.run_id, s, "loss", 1.0 / (s + 1), None, 0.0) for s in range(3)]
    catalog.runs.write_batch(trial.run_id, rows, [], {})
    assert catalog.sweeps.histories(sweep_id, "loss") == {
        trial.run_id: ("running", {0: 1.0, 1: 0.5, 2: 1.0 / 3})
    }
    assert catalog.sweeps.of_runs([trial.run_id, "other"])[trial.run_id].number == 0


def test_schema_6_migrates_to_7_with_the_sweep_tables(db_url: str, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:6])
        with Catalog.open(db_url) as catalog:
            assert catalog.schema_version == 6
    engine = sa.create_engine(db_url)
    try:
        assert "sweeps" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with Catalog.open(db_url) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION >= 7
        assert catalog.sweeps.newest_first() == []
        _new(catalog)
        assert _lease(catalog, "sw1", "a") is not None


def test_listing_gives_each_sweep_newest_first_with_its_own_trials(catalog: Catalog) -> None:
    first = _new(catalog)
    second = catalog.sweeps.create("sw2", project="q", name=None, config=GRID, user="u").id
    for _ in range(2):
        assert _lease(catalog, first, "a") is not None
    assert _lease(catalog, second, "a") is not None
    one_by_one = [(s, catalog.sweeps.trials(s.id)) for s in catalog.sweeps.newest_first()]
    listed = catalog.sweeps.listing()
    assert [s.id for s, _ in listed] == [second, first]
    assert [[t.number for t in trials] for _, trials in listed] == [[0], [0, 1]]
    assert listed == one_by_one
    assert catalog.sweeps.listing("q") == one_by_one[:1]


def test_store_level_sweep_show_rank_and_refuse_a_credential(tmp_path: Path) -> None:
    with Store.init(str(tmp_path / "store")) as store:
        config = {**GRID, "metric": {"name": "acc", "goal": "maximize"}}
        sweep = create_sweep(store, config, project="proj")
        assert (sweep.project, sweep.state, sweep.config["method"]) == ("proj", "running", "grid")
        catalog = store.repository.catalog
        for metric in (0.5, None, 0.9):
            trial = _lease(catalog, sweep.id, "a")
            assert trial is not None
            catalog.sweeps.record(
                sweep.id, trial.number, "a", state="finished", metric=metric, run={}
            )
        view = show_sweep(store, sweep.id)
        assert [t.number for t in view.trials] == [2, 0, 1]
        assert view.best is not None and view.best.params == {"a": 2, "b": "x"}
        assert ranked(sweep, []) == []
        with Store(str(tmp_path / "store"), read_only=True) as reader:  # what the UI opens
            assert show_sweep(reader, sweep.id) == view
        assert stop_sweep(store, sweep.id).state == "stopped"
        assert cancel_sweep(store, sweep.id).state == "cancelled"
        leaky = {**GRID, "command": ["${program}", "--api-key=abcdef123456", "${args}"]}
        with pytest.raises(
            InvalidSweepConfigError, match=r"^sweep config: command: holds a credential"
        ):
            create_sweep(store, {**leaky, "program": "t.py"})
        assert len(catalog.sweeps.newest_first()) == 1


def test_a_late_record_racing_the_requeue_of_its_expired_lease_wins_or_loses_whole(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent's record holds the trial's row while the lease of another agent waits for it:
    # the lease must re-check state and expiry after the wait (PostgreSQL: FOR UPDATE).
    import time

    from artstore.lineage import catalog_sweeps

    sid = _new(catalog, {**GRID, "parameters": {"a": {"values": [1, 2, 3]}}})
    sweep = catalog.sweeps.get(sid)
    trial = lease_next(catalog, sweep, "A", seconds=0.2, run_fields=_fields).trial
    assert trial is not None
    time.sleep(0.5)
    real = catalog_sweeps.runs.update_columns
    reached, go = threading.Event(), threading.Event()

    def slow(conn: Any, run_id: str, values: dict[str, Any]) -> None:
        real(conn, run_id, values)
        if values:
            reached.set()
            go.wait(5)

    monkeypatch.setattr(catalog_sweeps.runs, "update_columns", slow)
    out: dict[str, Any] = {}
    record = threading.Thread(
        target=lambda: out.setdefault(
            "rec",
            catalog.sweeps.record(
                sid,
                trial.number,
                "A",
                state="finished",
                metric=1.0,
                run={"status": "finished", "exit_code": 0},
            ),
        )
    )
    record.start()
    assert reached.wait(5)
    lease = threading.Thread(
        target=lambda: out.setdefault(
            "lease", lease_next(catalog, sweep, "B", seconds=60, run_fields=_fields)
        )
    )
    lease.start()
    time.sleep(1.0)
    go.set()
    lease.join()
    record.join()
    assert not (out["rec"] and out["lease"].requeued), "recorded AND queued again"
    first = catalog.sweeps.trials(sid)[0]
    assert (first.state, first.agent) == (("finished", "A") if out["rec"] else ("running", "B"))


def test_six_agents_leasing_twelve_expired_trials_at_once_lease_each_once(
    catalog: Catalog,
) -> None:
    import time

    sid = _new(catalog, {**GRID, "parameters": {"a": {"values": list(range(12))}}})
    for _ in range(12):
        assert _lease(catalog, sid, "dead", seconds=0.05) is not None
    time.sleep(0.2)
    got: list[tuple[int, str]] = []
    barrier = threading.Barrier(6)

    def agent(name: str) -> None:
        barrier.wait()
        for _ in range(4):
            trial = _lease(catalog, sid, name)
            if trial is None:
                return
            got.append((trial.number, name))

    threads = [threading.Thread(target=agent, args=(f"a{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(number for number, _ in got)
    assert numbers == sorted(set(numbers)), got
    assert numbers == list(range(12))


def test_on_postgresql_leases_expire_by_the_servers_clock_not_the_agents(
    catalog: Catalog, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's catalog is on one machine: its clock is the agents'")
    from artstore.lineage import catalog_sweeps

    sid = _new(catalog)
    first = _lease(catalog, sid, "A", seconds=60)
    assert first is not None
    monkeypatch.setattr(catalog_sweeps, "utcnow", lambda: utcnow() + timedelta(hours=1))
    sweep = catalog.sweeps.get(sid)
    lease = lease_next(catalog, sweep, "B", seconds=60, run_fields=_fields)
    assert lease.requeued == () and lease.trial is not None and lease.trial.number == 1
    monkeypatch.setattr(catalog_sweeps, "utcnow", lambda: utcnow() - timedelta(hours=1))
    assert catalog.sweeps.heartbeat(sid, 0, "A", seconds=60) == "running"
    monkeypatch.undo()
    assert _lease(catalog, sid, "C") is not None
    assert [t.agent for t in catalog.sweeps.trials(sid)][:2] == ["A", "B"]


def test_a_failed_trials_value_is_ranked_after_results_and_is_never_the_best(
    tmp_path: Path,
) -> None:
    with Store.init(str(tmp_path / "store")) as store:
        sweep = create_sweep(store, GRID, project="proj")
        catalog = store.repository.catalog
        for state, metric in (("failed", 0.1), ("stopped", 0.5), ("finished", 0.7)):
            trial = _lease(catalog, sweep.id, "a")
            assert trial is not None
            catalog.sweeps.record(sweep.id, trial.number, "a", state=state, metric=metric, run={})
        view = show_sweep(store, sweep.id)
        assert [t.number for t in view.trials] == [1, 2, 0]
        assert view.best is not None and view.best.number == 1
        alone = create_sweep(store, GRID, project="proj")
        trial = _lease(catalog, alone.id, "a")
        assert trial is not None
        catalog.sweeps.record(alone.id, trial.number, "a", state="failed", metric=0.1, run={})
        view = show_sweep(store, alone.id)
        assert [t.number for t in view.trials] == [0] and view.best is None
