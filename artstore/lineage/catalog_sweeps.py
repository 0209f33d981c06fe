"""The sweeps of a catalog: the sweep controller's state, one row per sweep and per trial.

Leasing a trial is one write transaction (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the
sweep's row is locked ``FOR UPDATE``): trials whose lease expired are queued again first (their
run marked crashed), then the lowest queued trial is leased, or a new one proposed; a trial's
number is unique in its sweep, so two agents never hold the same trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from artstore.errors import NotFoundError, RunStateError
from artstore.lineage import runs
from artstore.lineage.tables import MetricRow, SweepRow, TrialRow, utcnow
from artstore.lineage.transactions import Transactions

__all__ = [
    "SWEEP_STATES",
    "CatalogSweeps",
    "Lease",
    "SweepRecord",
    "TrialRecord",
]

#: running: agents lease trials; stopped: none are leased, running ones finish; cancelled:
#: none are leased and agents stop their running ones; finished: the search is done.
SWEEP_STATES = ("running", "stopped", "cancelled", "finished")
_LIVE = ("queued", "running")


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """A sweep as stored: its config as checked (W&B's schema) and its state."""

    id: str
    project: str
    name: str | None
    config: dict[str, Any]
    state: str
    user: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One trial: its parameters, state (``queued``, ``running``, ``finished``, ``stopped``,
    ``failed``), run, the agent leasing it and until when, and its metric value."""

    sweep_id: str
    number: int
    params: dict[str, Any]
    state: str
    run_id: str | None
    agent: str | None
    lease_expires: datetime | None
    heartbeat_at: datetime | None
    metric: float | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Lease:
    """What a lease attempt got: a trial (now running under the agent, its run created), or
    None with the reason no trial was leased (the sweep's state, the search is done, or it
    waits for running trials)."""

    trial: TrialRecord | None
    reason: str | None = None
    requeued: tuple[int, ...] = ()
    #: no trial now, but other agents' trials are running: one may be queued again if its
    #: agent dies, so an agent asks again later.
    wait: bool = False


#: Given the trials so far, the next trial's parameters, or None when the search is done.
Proposer = Callable[[Sequence[TrialRecord]], dict[str, Any] | None]
#: Given a trial's number and parameters, the columns of its new run (``id`` among them).
RunFields = Callable[[int, Mapping[str, Any]], dict[str, Any]]


class CatalogSweeps:
    """Reads and writes sweeps and their trials, each call in its own transaction
    (``catalog.sweeps``)."""

    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    def create(
        self, sweep_id: str, *, project: str, name: str | None, config: dict[str, Any], user: str
    ) -> SweepRecord:
        """Insert a sweep in state ``running``."""

        def work(session: Session) -> SweepRecord:
            row = SweepRow(
                id=sweep_id, project=project, name=name, config=config, state="running", user=user
            )
            session.add(row)
            session.flush()
            return _sweep(row)

        return self._tx.write(work)

    def get(self, sweep_id: str) -> SweepRecord:
        """One sweep.

        Raises:
            NotFoundError: no such sweep.
        """
        return self._tx.read(lambda s: _sweep(_require(s, sweep_id)))

    def newest_first(self, project: str | None = None) -> list[SweepRecord]:
        """Sweeps, newest first, optionally of one project."""

        def work(session: Session) -> list[SweepRecord]:
            return [_sweep(row) for row in session.exec(_newest_first(project))]

        return self._tx.read(work)

    def listing(self, project: str | None = None) -> list[tuple[SweepRecord, list[TrialRecord]]]:
        """Sweeps, newest first, optionally of one project, each with its trials by number;
        two queries in one transaction (``art sweep ls``)."""

        def work(session: Session) -> list[tuple[SweepRecord, list[TrialRecord]]]:
            rows = session.exec(_newest_first(project))
            found = {row.id: (_sweep(row), list[TrialRecord]()) for row in rows}
            if found:
                mine = select(TrialRow).where(col(TrialRow.sweep_id).in_(list(found)))
                for row in session.exec(mine.order_by(col(TrialRow.number))):
                    found[row.sweep_id][1].append(_trial(row))
            return list(found.values())

        return self._tx.read(work)

    def trials(self, sweep_id: str) -> list[TrialRecord]:
        """A sweep's trials by number.

        Raises:
            NotFoundError: no such sweep.
        """

        def work(session: Session) -> list[TrialRecord]:
            _require(session, sweep_id)
            return _trials(session, sweep_id)

        return self._tx.read(work)

    def of_runs(self, run_ids: Sequence[str]) -> dict[str, TrialRecord]:
        """The trial each of ``run_ids`` ran, by run id (runs of no sweep are left out)."""

        def work(session: Session) -> dict[str, TrialRecord]:
            query = select(TrialRow).where(col(TrialRow.run_id).in_(list(run_ids)))
            return {row.run_id: _trial(row) for row in session.exec(query) if row.run_id}

        return self._tx.read(work) if run_ids else {}

    def set_state(self, sweep_id: str, state: str) -> SweepRecord:
        """Move a sweep to ``stopped`` or ``cancelled`` (a finished or cancelled sweep stays).

        Raises:
            NotFoundError: no such sweep.
            RunStateError: the sweep is finished or cancelled already.
        """
        assert state in SWEEP_STATES

        def work(session: Session) -> SweepRecord:
            row = _require(session, sweep_id, lock=True)
            if row.state in ("finished", "cancelled") and row.state != state:
                raise RunStateError(f"sweep {sweep_id} is {row.state} already")
            row.state = state
            session.add(row)
            session.flush()
            return _sweep(row)

        return self._tx.write(work)

    def lease(
        self,
        sweep_id: str,
        agent: str,
        *,
        seconds: float,
        propose: Proposer,
        run_fields: RunFields,
    ) -> Lease:
        """Lease the sweep's next trial to ``agent`` for ``seconds``, in one transaction.

        Expired leases are queued again first (their runs marked crashed); then the lowest
        queued trial is leased, else ``propose`` is asked for a new one. The trial's run is
        created in the same transaction from ``run_fields`` (its config is the parameters).
        When the search is done and no trial is live the sweep becomes ``finished``.

        Raises:
            NotFoundError: no such sweep.
        """

        def work(session: Session) -> Lease:
            sweep = _require(session, sweep_id, lock=True)
            now = _now(session)
            requeued = _requeue_expired(session, sweep_id, now)
            if sweep.state != "running":
                return Lease(None, f"sweep {sweep_id} is {sweep.state}", requeued)
            trials = session.exec(
                select(TrialRow).where(TrialRow.sweep_id == sweep_id).order_by(col(TrialRow.number))
            ).all()
            row = next((t for t in trials if t.state == "queued"), None)
            if row is None:
                params = propose([_trial(t) for t in trials])
                if params is None:
                    live = sum(t.state in _LIVE for t in trials)
                    if live:
                        reason = f"sweep {sweep_id} waits for {live} running trial(s)"
                        return Lease(None, reason, requeued, wait=True)
                    sweep.state = "finished"
                    session.add(sweep)
                    return Lease(None, f"sweep {sweep_id} has no more trials to run", requeued)
                row = TrialRow(sweep_id=sweep_id, number=len(trials), params=params, state="queued")
            fields = run_fields(row.number, row.params)
            runs.create_run(session, {**fields, "config": dict(row.params)})
            row.state, row.agent, row.run_id = "running", agent, fields["id"]
            row.heartbeat_at, row.lease_expires = now, now + timedelta(seconds=seconds)
            session.add(row)
            session.flush()
            return Lease(_trial(row), None, requeued)

        return self._tx.write(work)

    def heartbeat(self, sweep_id: str, number: int, agent: str, *, seconds: float) -> str | None:
        """Extend ``agent``'s lease on a trial by ``seconds`` and prove its run alive.

        Returns:
            The sweep's state, or None when the agent no longer holds the trial (its lease
            expired and another agent re-queued it).
        """

        def work(session: Session) -> str | None:
            row = _held(session, sweep_id, number, agent)
            if row is None:
                return None
            now = _now(session)
            row.heartbeat_at, row.lease_expires = now, now + timedelta(seconds=seconds)
            session.add(row)
            if row.run_id is not None:
                runs.update_columns(session.connection(), row.run_id, {})
            sweep = session.get(SweepRow, sweep_id)
            return None if sweep is None else sweep.state

        return self._tx.write(work)

    def record(
        self,
        sweep_id: str,
        number: int,
        agent: str,
        *,
        state: str,
        metric: float | None,
        run: dict[str, Any],
    ) -> bool:
        """Record how ``agent``'s trial ended (``finished``, ``stopped``, ``failed``), its
        metric value, and its run's final columns (status, exit code, ...).

        Returns:
            False, writing nothing, when the agent no longer held the trial.
        """

        def work(session: Session) -> bool:
            row = _held(session, sweep_id, number, agent)
            if row is None:
                return False
            now = _now(session)
            row.state, row.lease_expires, row.finished_at = state, None, now
            row.metric = metric if metric is not None and math.isfinite(metric) else None
            session.add(row)
            if row.run_id is not None:
                runs.update_columns(session.connection(), row.run_id, {"finished_at": now, **run})
            return True

        return self._tx.write(work)

    def histories(self, sweep_id: str, key: str) -> dict[str, tuple[str, dict[int, float]]]:
        """For each trial's run: (the trial's state, step -> numeric value of ``key``), in
        one query; what hyperband compares."""

        def work(session: Session) -> dict[str, tuple[str, dict[int, float]]]:
            found: dict[str, tuple[str, dict[int, float]]] = {}
            mine = select(TrialRow).where(
                TrialRow.sweep_id == sweep_id, col(TrialRow.run_id).isnot(None)
            )
            for row in session.exec(mine):
                assert row.run_id is not None
                found[row.run_id] = (row.state, {})
            if not found:
                return found
            query = select(MetricRow.run_id, MetricRow.step, MetricRow.value).where(
                col(MetricRow.run_id).in_(list(found)),
                MetricRow.key == key,
                col(MetricRow.value).isnot(None),
            )
            for run_id, step, value in session.exec(query):
                assert value is not None
                found[run_id][1][step] = value
            return found

        return self._tx.read(work)


def _require(session: Session, sweep_id: str, lock: bool = False) -> SweepRow:
    query = select(SweepRow).where(SweepRow.id == sweep_id)
    # On PostgreSQL the sweep's row serialises its leases; SQLite's BEGIN IMMEDIATE already has.
    row = session.exec(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"no sweep {sweep_id!r}; see: art sweep ls")
    return row


def _now(session: Session) -> datetime:
    # Leases are set and compared on one clock: PostgreSQL's (agents' clocks may differ;
    # clock_timestamp, not now(), as a lease may have waited for a row); SQLite is local.
    if session.get_bind().dialect.name != "postgresql":
        return utcnow()
    found: datetime = session.connection().execute(sql_select(func.clock_timestamp())).scalar_one()
    return found.astimezone(UTC)


def _held(session: Session, sweep_id: str, number: int, agent: str) -> TrialRow | None:
    return session.exec(
        select(TrialRow)
        .where(
            TrialRow.sweep_id == sweep_id,
            TrialRow.number == number,
            TrialRow.agent == agent,
            TrialRow.state == "running",
        )
        .with_for_update()
    ).first()


def _requeue_expired(session: Session, sweep_id: str, now: datetime) -> tuple[int, ...]:
    expired = session.exec(
        select(TrialRow)
        .where(
            TrialRow.sweep_id == sweep_id,
            TrialRow.state == "running",
            col(TrialRow.lease_expires) < now,
        )
        .with_for_update()
    ).all()
    run_ids = [row.run_id for row in expired if row.run_id is not None]
    if run_ids:
        table = SQLModel.metadata.tables["runs"]
        session.connection().execute(
            update(table)
            .where(table.c.id.in_(run_ids), table.c.status == "running")
            .values(status="crashed", finished_at=now)
        )
    for row in expired:
        row.state, row.agent, row.run_id = "queued", None, None
        row.lease_expires = row.heartbeat_at = None
        session.add(row)
    session.flush()
    return tuple(row.number for row in expired)


def _newest_first(project: str | None) -> SelectOfScalar[SweepRow]:
    query = select(SweepRow).order_by(col(SweepRow.created_at).desc())
    return query if project is None else query.where(SweepRow.project == project)


def _trials(session: Session, sweep_id: str) -> list[TrialRecord]:
    query = select(TrialRow).where(TrialRow.sweep_id == sweep_id).order_by(col(TrialRow.number))
    return [_trial(row) for row in session.exec(query)]


def _sweep(row: SweepRow) -> SweepRecord:
    return SweepRecord(**_columns(row, SweepRecord))


def _trial(row: TrialRow) -> TrialRecord:
    return TrialRecord(**_columns(row, TrialRecord))


def _columns(row: SQLModel, record: type[Any]) -> dict[str, Any]:
    # A record's fields are its row's columns; JSON columns are copied, never shared.
    values = {f.name: getattr(row, f.name) for f in fields(record)}
    return {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
