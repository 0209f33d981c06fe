"""Runs, their metrics and console, and the lineage edges between runs and versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, func, select

from artstore.lineage.history import cell_of, require_run
from artstore.lineage.records import MetricRecord, RunAlert, RunFile, RunRecord
from artstore.lineage.tables import (
    AlertRow,
    ArtifactRow,
    ConsoleRow,
    EdgeRow,
    MetricRow,
    RunFileRow,
    RunRow,
    VersionRow,
    utcnow,
)

__all__ = [
    "ConsoleValue",
    "EdgeKind",
    "MetricValue",
    "add_alerts",
    "add_edge",
    "add_files",
    "alerts",
    "append_rows",
    "console",
    "create_run",
    "edges_of_run",
    "effective_status",
    "every_file",
    "every_media",
    "files",
    "find_run",
    "get_run",
    "history",
    "list_runs",
    "max_step",
    "media_counts",
    "media_value",
    "merge_rows",
    "run_record",
    "step_count",
    "update_columns",
    "update_run",
]

EdgeKind = Literal["used", "produced"]
# A metric row is a MetricRecord (records.py): NaN is number, text and media None, since
# SQLite cannot store a NaN (it turns it into NULL) and None alone would be ambiguous.
MetricValue = MetricRecord
# (run id, seq, stream, text, unix time)
ConsoleValue = tuple[str, int, str, str, float]

_METRIC_COLUMNS = ("run_id", "step", "key", "value", "text", "time", "media")
_CONSOLE_COLUMNS = ("run_id", "seq", "stream", "text", "time")
# What identifies a row of a run when rows are merged: column names, and their places in a row.
_IDENTITY = {
    "metrics": (("step", "key", "value", "text", "time", "media"), itemgetter(1, 2, 3, 4, 5, 6)),
    "console_lines": (("seq", "stream", "time"), itemgetter(1, 2, 4)),
}
# Where a row holds its time.
_TIME_AT = {"metrics": 5, "console_lines": 4}
_Kept = TypeVar("_Kept", RunFile, RunAlert)
# Rows per multi-row INSERT on SQLite: 6,000 variables, within its 32,766 limit (3.32+).
_ROWS_PER_STATEMENT = 1000


def effective_status(
    status: str, heartbeat_at: datetime, heartbeat_timeout: float, now: datetime | None = None
) -> str:
    """A run's status as readers see it: ``running`` past its heartbeat timeout is crashed."""
    if status == "running" and (now or utcnow()) - heartbeat_at > timedelta(
        seconds=heartbeat_timeout
    ):
        return "crashed"
    return status


def run_record(row: RunRow, now: datetime | None = None) -> RunRecord:
    """The frozen record of a run row; a silent ``running`` run past its timeout is crashed."""
    status = effective_status(row.status, row.heartbeat_at, row.heartbeat_timeout, now)
    return RunRecord(
        id=row.id,
        project=row.project,
        name=row.name,
        status=status,
        config=dict(row.config),
        summary=dict(row.summary),
        tags=tuple(row.tags),
        notes=row.notes,
        user=row.user,
        host=row.host,
        python=row.python,
        command=row.command,
        git_commit=row.git_commit,
        git_dirty=row.git_dirty,
        exit_code=row.exit_code,
        created_at=row.created_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        heartbeat_timeout=row.heartbeat_timeout,
        entity=row.entity,
    )


def create_run(session: Session, fields: dict[str, Any]) -> RunRecord:
    """Insert a run row from its column values (``id`` and ``project`` at least)."""
    row = RunRow(status="running", **fields)
    session.add(row)
    session.flush()
    return run_record(row)


def update_run(session: Session, run_id: str, fields: dict[str, Any]) -> RunRecord:
    """Set columns of a run (``heartbeat_at`` too: any update proves the run alive)."""
    row = require_run(session, run_id)
    for key, value in {"heartbeat_at": utcnow(), **fields}.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    return run_record(row)


def update_columns(connection: Connection, run_id: str, fields: dict[str, Any]) -> None:
    """Set columns of a run and its heartbeat, without loading the row."""
    table = SQLModel.metadata.tables["runs"]
    values = {"heartbeat_at": utcnow(), **fields}
    connection.execute(update(table).where(table.c.id == run_id).values(**values))


def find_run(session: Session, run_id: str) -> RunRecord | None:
    """One run, or None."""
    row = session.get(RunRow, run_id)
    return None if row is None else run_record(row)


def get_run(session: Session, run_id: str) -> RunRecord:
    """One run.

    Raises:
        NotFoundError: no such run.
    """
    return run_record(require_run(session, run_id))


def list_runs(session: Session, project: str | None) -> list[RunRecord]:
    """Runs, newest first, optionally of one project."""
    query = select(RunRow).order_by(col(RunRow.created_at).desc())
    if project is not None:
        query = query.where(RunRow.project == project)
    now = utcnow()
    return [run_record(row, now) for row in session.exec(query)]


def append_rows(
    connection: Connection,
    table: Literal["metrics", "console_lines"],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert many metric or console rows (each starting with its run id).

    Metrics arrive by the hundred thousand; building ORM objects or dicts for each would cost
    more than the database's own work, so rows go to the driver as they are. On SQLite they
    go as multi-row ``INSERT``s of ``_ROWS_PER_STATEMENT`` rows: the driver releases the GIL
    once per statement instead of once per row, which lets this writer thread keep up while
    a training loop holds the GIL between its calls.
    """
    if not rows:
        return
    columns = _METRIC_COLUMNS if table == "metrics" else _CONSOLE_COLUMNS
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    if connection.dialect.paramstyle != "qmark":
        mark = "(" + ", ".join(["%s"] * len(columns)) + ")"
        connection.exec_driver_sql(head + mark, list(rows))
        return
    one = "(" + ",".join("?" * len(columns)) + ")"
    full, rest = divmod(len(rows), _ROWS_PER_STATEMENT)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if full:
            sql = head + ",".join([one] * _ROWS_PER_STATEMENT)
            cursor.executemany(
                sql,
                (
                    [v for row in rows[i : i + _ROWS_PER_STATEMENT] for v in row]
                    for i in range(0, full * _ROWS_PER_STATEMENT, _ROWS_PER_STATEMENT)
                ),
            )
        if rest:
            tail = rows[full * _ROWS_PER_STATEMENT :]
            cursor.execute(head + ",".join([one] * rest), [v for row in tail for v in row])
    finally:
        cursor.close()


def max_step(session: Session, run_id: str) -> int | None:
    """The highest step logged by a run, None before its first."""
    value = session.exec(select(func.max(MetricRow.step)).where(MetricRow.run_id == run_id)).one()
    return None if value is None else int(value)


def history(session: Session, run_id: str, keys: Sequence[str] | None) -> list[dict[str, Any]]:
    """A run's metrics as one dict per step, ``{"_step": n, key: value, ...}``, by step; a
    media value is its reference (a dict with ``_type``)."""
    require_run(session, run_id)
    t = SQLModel.metadata.tables["metrics"]
    query = sa_select(t.c.step, t.c.key, t.c.value, t.c.text, t.c.media).where(t.c.run_id == run_id)
    if keys is not None:
        query = query.where(t.c.key.in_(list(keys)))
    by_step: dict[int, dict[str, Any]] = {}
    for step, key, value, text, media in session.execute(query.order_by(t.c.step, t.c.id)):
        by_step.setdefault(step, {"_step": step})[key] = cell_of(value, text, media)
    return [by_step[s] for s in sorted(by_step)]


def media_counts(session: Session, run_id: str) -> dict[str, int]:
    """How many media values a run logged, by key (keys without media left out), sorted.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    rows = session.exec(
        select(MetricRow.key, func.count())
        .where(MetricRow.run_id == run_id, col(MetricRow.media).is_not(None))
        .group_by(col(MetricRow.key))
        .order_by(col(MetricRow.key))
    )
    return {key: int(count) for key, count in rows}


def media_value(
    session: Session, run_id: str, key: str, step: int | None
) -> tuple[int, dict[str, Any]] | None:
    """(step, reference) of the media value a run logged under ``key`` at ``step`` (or at its
    last step with one), None if there is none; reads that one row.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    t = SQLModel.metadata.tables["metrics"]
    query = sa_select(t.c.step, t.c.media).where(
        t.c.run_id == run_id, t.c.key == key, t.c.media.is_not(None)
    )
    if step is not None:
        query = query.where(t.c.step == step)
    found = session.execute(query.order_by(t.c.step.desc(), t.c.id.desc()).limit(1)).first()
    return None if found is None else (int(found[0]), cell_of(None, None, found[1]))


def step_count(session: Session, run_id: str, keys: Sequence[str] | None) -> int:
    """How many steps a run logged: any metric, or (``keys``) every one of ``keys``.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    where = [col(MetricRow.run_id) == run_id]
    if not keys:
        distinct = func.count(func.distinct(MetricRow.step))
        return int(session.exec(select(distinct).where(*where)).one())
    steps = (
        select(MetricRow.step)
        .where(*where, col(MetricRow.key).in_(list(keys)))
        .group_by(col(MetricRow.step))
        .having(func.count(func.distinct(MetricRow.key)) == len(set(keys)))
    )
    return int(session.exec(select(func.count()).select_from(steps.subquery())).one())


def console(session: Session, run_id: str) -> list[tuple[str, str]]:
    """A run's console output as (stream, text) pieces in order."""
    require_run(session, run_id)
    rows = session.exec(
        select(ConsoleRow.stream, ConsoleRow.text)
        .where(ConsoleRow.run_id == run_id)
        .order_by(col(ConsoleRow.id))  # insertion order: seq restarts when a run resumes
    )
    return [(stream, text) for stream, text in rows]


def add_edge(session: Session, run_id: str, version_id: int, kind: EdgeKind) -> bool:
    """Record that a run used or produced a version; False if the run is unknown.

    Recording the same edge twice is a no-op.
    """
    if session.get(RunRow, run_id) is None:
        return False
    exists = session.exec(
        select(EdgeRow.id).where(
            EdgeRow.run_id == run_id, EdgeRow.version_id == version_id, EdgeRow.kind == kind
        )
    ).first()
    if exists is None:
        run_node, version_node = f"r:{run_id}", f"v:{version_id}"
        src, dst = (version_node, run_node) if kind == "used" else (run_node, version_node)
        session.add(EdgeRow(run_id=run_id, version_id=version_id, kind=kind, src=src, dst=dst))
        session.flush()  # the unique constraint turns a racing duplicate into a retry
    return True


def edges_of_run(session: Session, run_id: str) -> list[tuple[EdgeKind, str, int]]:
    """(kind, artifact name, version number) for every edge of a run, in order recorded."""
    require_run(session, run_id)
    rows = session.exec(
        select(EdgeRow.kind, ArtifactRow.name, VersionRow.number)
        .join(VersionRow, col(VersionRow.id) == EdgeRow.version_id)
        .join(ArtifactRow, col(ArtifactRow.id) == VersionRow.artifact_id)
        .where(EdgeRow.run_id == run_id)
        .order_by(col(EdgeRow.id))
    )
    return [(kind, name, number) for kind, name, number in rows]  # type: ignore[misc]


def merge_rows(
    connection: Connection,
    table: Literal["metrics", "console_lines"],
    run_id: str,
    rows: Sequence[tuple[Any, ...]],
) -> int:
    """Insert the rows of ``run_id`` it does not have yet; return how many were inserted.

    A metric row is identified by (step, key, value, text, time, media), a console row by (seq,
    stream, time); a row whose identity the run has, or that came earlier in ``rows``, is
    left out.
    """
    if not rows:
        return 0
    names, identity = _IDENTITY[table]
    t = SQLModel.metadata.tables[table]
    at = _TIME_AT[table]
    times = [row[at] for row in rows]
    query = select(*(t.c[name] for name in names)).where(
        t.c.run_id == run_id, t.c.time >= min(times), t.c.time <= max(times)
    )
    seen = {tuple(found) for found in connection.execute(query)}
    new = []
    for row in rows:
        key = identity(row)
        if key not in seen:
            seen.add(key)
            new.append(row)
    append_rows(connection, table, new)
    return len(new)


def add_files(session: Session, run_id: str, kept: Sequence[RunFile], *, merge: bool) -> int:
    """Record files kept with a run; return how many rows were added.

    With ``merge``, a file the run has already (all fields equal) is left out, so an import
    repeated adds nothing.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    have = _all_files(session, run_id) if merge and kept else []
    return _add_new(session, kept, have, lambda f: RunFileRow(run_id=run_id, **asdict(f)))


def _all_files(session: Session, run_id: str) -> list[RunFile]:
    rows = session.exec(
        select(RunFileRow)
        .where(RunFileRow.run_id == run_id)
        .order_by(col(RunFileRow.saved_at), col(RunFileRow.id))
    )
    return [_run_file(row) for row in rows]


def _run_file(row: RunFileRow) -> RunFile:
    return RunFile(row.name, row.digest, row.size, row.policy, row.saved_at)


def every_file(session: Session) -> list[tuple[str, RunFile]]:
    """(run id, file) for the files kept with every run, each as last saved, by run id then
    name: one query for the whole catalog."""
    rows = session.exec(
        select(RunFileRow).order_by(
            col(RunFileRow.run_id), col(RunFileRow.saved_at), col(RunFileRow.id)
        )
    )
    newest = {(row.run_id, row.name): _run_file(row) for row in rows}
    return [(run_id, newest[run_id, name]) for run_id, name in sorted(newest)]


def every_media(session: Session) -> list[MetricRecord]:
    """Every media value of every run (``value`` and ``text`` None), by run id, step and key:
    one query for the whole catalog."""
    t = SQLModel.metadata.tables["metrics"]
    query = (
        sa_select(t.c.run_id, t.c.step, t.c.key, t.c.time, t.c.media)
        .where(t.c.media.is_not(None))
        .order_by(t.c.run_id, t.c.step, t.c.key, t.c.id)
    )
    return [
        MetricRecord(run_id, step, key, None, None, time, media)
        for run_id, step, key, time, media in session.execute(query)
    ]


def files(session: Session, run_id: str) -> list[RunFile]:
    """The files kept with a run, each as last saved, sorted by name.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    newest = {kept.name: kept for kept in _all_files(session, run_id)}
    return [newest[name] for name in sorted(newest)]


def add_alerts(session: Session, run_id: str, raised: Sequence[RunAlert], *, merge: bool) -> int:
    """Record alerts of a run; return how many rows were added.

    With ``merge``, an alert the run has already (all fields equal) is left out.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    have = alerts(session, run_id) if merge and raised else []
    return _add_new(session, raised, have, lambda a: AlertRow(run_id=run_id, **asdict(a)))


def alerts(session: Session, run_id: str) -> list[RunAlert]:
    """The alerts of a run, oldest first.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    rows = session.exec(
        select(AlertRow)
        .where(AlertRow.run_id == run_id)
        .order_by(col(AlertRow.at), col(AlertRow.id))
    )
    return [RunAlert(row.at, row.level, row.title, row.text, row.step) for row in rows]


def _add_new(
    session: Session,
    items: Sequence[_Kept],
    have: Sequence[_Kept],
    row: Callable[[_Kept], SQLModel],
) -> int:
    seen = set(have)
    added = 0
    for item in items:
        if item not in seen:
            seen.add(item)
            session.add(row(item))
            added += 1
    session.flush()
    return added
