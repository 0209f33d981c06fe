"""The reads of a dashboard beside its charts: projects, the numeric keys of runs, each run's
lowest, highest and last value of a metric, console lines after a point, media by step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from artstore.lineage.history import cell_of, require_run
from artstore.lineage.tables import ConsoleRow, MetricRow, RunRow

__all__ = [
    "ConsoleLine",
    "MetricStats",
    "console_after",
    "media_steps",
    "metric_stats",
    "numeric_keys",
    "projects",
]


@dataclass(frozen=True, slots=True)
class MetricStats:
    """A run's lowest, highest and last (at its highest step) number logged under one key."""

    min: float
    max: float
    last: float | None


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    """One piece of a run's console output; ``position`` orders them (pass the last one seen
    as ``after`` to read only newer ones)."""

    position: int
    stream: str
    text: str
    time: float


def projects(session: Session) -> list[tuple[str, int]]:
    """(project, number of runs) for every project, by name."""
    query = select(RunRow.project, func.count()).group_by(col(RunRow.project))
    return [(name, int(count)) for name, count in session.exec(query.order_by(col(RunRow.project)))]


# A run's keys by one index seek each (the next key after the last), not a walk of every row.
_KEYS = text(
    """
WITH RECURSIVE keys(key) AS (
  SELECT (SELECT min(key) FROM metrics WHERE run_id = :run)
  UNION ALL
  SELECT (SELECT min(key) FROM metrics WHERE run_id = :run AND key > keys.key)
  FROM keys WHERE keys.key IS NOT NULL
)
SELECT key FROM keys WHERE key IS NOT NULL
"""
)


def numeric_keys(session: Session, run_ids: Sequence[str]) -> list[str]:
    """The keys under which any of the runs logged a number, sorted."""
    found: set[str] = set()
    for run_id in dict.fromkeys(run_ids):
        for (key,) in session.execute(_KEYS, {"run": run_id}):
            if key in found:
                continue
            number = select(MetricRow.id).where(
                col(MetricRow.run_id) == run_id,
                col(MetricRow.key) == key,
                col(MetricRow.value).is_not(None),
            )
            if session.exec(number.limit(1)).first() is not None:
                found.add(key)
    return sorted(found)


def metric_stats(
    session: Session, run_ids: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, MetricStats]]:
    """The lowest, highest and last number each run logged under each key, by run id then key;
    a run or key without numbers is left out."""
    if not run_ids or not keys:
        return {}
    t = MetricRow
    where = (
        col(t.run_id).in_(list(run_ids)),
        col(t.key).in_(list(keys)),
        col(t.value).is_not(None),
    )
    extremes = sa_select(
        col(t.run_id), col(t.key), func.min(t.value), func.max(t.value), func.max(t.step)
    )
    lows_highs: dict[tuple[str, str], tuple[float, float]] = {}
    last_steps: dict[tuple[str, str], int] = {}
    for run_id, key, low, high, step in session.execute(
        extremes.where(*where).group_by(col(t.run_id), col(t.key))
    ):
        lows_highs[run_id, key] = (low, high)
        last_steps[run_id, key] = step
    lasts: dict[tuple[str, str], float] = {}
    if last_steps:
        at_last = col(t.step).in_(sorted(set(last_steps.values())))
        tail = select(t.run_id, t.key, t.step, t.value).where(*where, at_last)
        for run_id, key, step, value in session.exec(tail.order_by(col(t.id))):
            if last_steps.get((run_id, key)) == step and value is not None:
                lasts[run_id, key] = value
    found: dict[str, dict[str, MetricStats]] = {}
    for (run_id, key), (low, high) in lows_highs.items():
        found.setdefault(run_id, {})[key] = MetricStats(low, high, lasts.get((run_id, key)))
    return found


def console_after(
    session: Session, run_id: str, after: int, contains: str | None, limit: int
) -> list[ConsoleLine]:
    """Up to ``limit`` console pieces of a run after position ``after``, in order; with
    ``contains``, only pieces holding that text (case-insensitive).

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    query = select(ConsoleRow.id, ConsoleRow.stream, ConsoleRow.text, ConsoleRow.time).where(
        col(ConsoleRow.run_id) == run_id, col(ConsoleRow.id) > after
    )
    if contains:
        query = query.where(func.lower(ConsoleRow.text).contains(contains.lower(), autoescape=True))
    # The row id orders pieces as written: seq restarts when a run resumes.
    rows = session.exec(query.order_by(col(ConsoleRow.id)).limit(limit))
    return [ConsoleLine(i or 0, stream, text, time) for i, stream, text, time in rows]


def media_steps(session: Session, run_id: str, key: str) -> list[tuple[int, dict[str, Any]]]:
    """(step, reference) of every media value a run logged under ``key``, by step.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    query = select(MetricRow.step, MetricRow.media).where(
        col(MetricRow.run_id) == run_id,
        col(MetricRow.key) == key,
        col(MetricRow.media).is_not(None),
    )
    rows = session.exec(query.order_by(col(MetricRow.step), col(MetricRow.id)))
    return [(int(step), cell_of(None, None, media)) for step, media in rows]
