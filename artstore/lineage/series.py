"""A metric's points for a chart, downsampled in the database.

A long series is cut into buckets of equal step ranges and each bucket keeps its lowest and its
highest point (their steps too), so a spike is never averaged away and no point is made up.
The buckets are walked on the ``(run_id, key, step, value)`` index, one range per bucket: no
sort and no read of the table rows until the kept points are fetched by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import ColumnElement, text
from sqlmodel import Session, col, func, select

from artstore.lineage.history import require_run
from artstore.lineage.tables import MetricRow

__all__ = ["Series", "XAxis", "series"]

XAxis = Literal["step", "time", "wall"]

# One bucket: the id of its lowest point with the bucket's count ("id count": a scalar subquery
# has one column), and the id of its highest point, each found by a range walk of the index.
# SQLite returns the bare column of the row where min() or max() is reached.
_SQLITE_BUCKETS = """
WITH RECURSIVE buckets(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM buckets WHERE b < :n - 1)
SELECT
  (SELECT id || ' ' || n FROM (SELECT min(value), id, count(*) AS n FROM metrics
     WHERE run_id = :run AND key = :key
     AND step >= :lo + b * :width AND step < :lo + (b + 1) * :width AND step <= :hi
     AND value IS NOT NULL)),
  (SELECT id FROM (SELECT max(value), id FROM metrics WHERE run_id = :run AND key = :key
     AND step >= :lo + b * :width AND step < :lo + (b + 1) * :width AND step <= :hi
     AND value IS NOT NULL))
FROM buckets
"""
# PostgreSQL has no bare columns; it sorts each bucket's rows once per end instead.
_POSTGRES_BUCKETS = """
SELECT lows.id, highs.id FROM
  (SELECT DISTINCT ON (b) (step - :lo) / :width AS b, id FROM metrics
     WHERE run_id = :run AND key = :key AND step >= :lo AND step <= :hi AND value IS NOT NULL
     ORDER BY b, value, step) AS lows
  JOIN
  (SELECT DISTINCT ON (b) (step - :lo) / :width AS b, id FROM metrics
     WHERE run_id = :run AND key = :key AND step >= :lo AND step <= :hi AND value IS NOT NULL
     ORDER BY b, value DESC, step) AS highs
  ON lows.b = highs.b
"""


@dataclass(frozen=True, slots=True)
class Series:
    """The points of one run's metric, in step order, as a chart draws them.

    Attributes:
        run_id: the run.
        key: the metric.
        x: what ``xs`` holds: ``step``, ``time`` (seconds since the run started) or ``wall``
            (Unix seconds).
        steps: each point's step.
        xs: each point's x.
        ys: each point's value.
        total: how many points the run logged under ``key`` after ``after`` (numbers only:
            a NaN is kept as NULL and left out, as it cannot be drawn).
        buckets: None when every point is here; else how many buckets of equal step ranges
            held the ``total`` points (empty ones not counted), each keeping its lowest and
            highest point.
        last_step: the highest step of the series (None when it has none), for the next poll;
            every point sent is at or before it, every point after it is left for that poll.
    """

    run_id: str
    key: str
    x: XAxis
    steps: tuple[int, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    total: int
    buckets: int | None
    last_step: int | None


def series(
    session: Session,
    run_id: str,
    key: str,
    *,
    x: XAxis = "step",
    points: int = 1000,
    after: int | None = None,
) -> Series:
    """The numeric points of ``key`` logged by a run after step ``after``, at most about
    ``points`` of them: when there are more, ``points // 2`` buckets of equal step ranges keep
    their lowest and highest point each.

    Raises:
        NotFoundError: no such run.
    """
    run = require_run(session, run_id)
    lo = -(2**63) if after is None else after
    where: tuple[ColumnElement[bool], ...] = (
        col(MetricRow.run_id) == run_id,
        col(MetricRow.key) == key,
        col(MetricRow.step) > lo,
        col(MetricRow.value).is_not(None),
    )
    # Two index seeks: SQLite walks the whole range for min() and max() in one query. The
    # buckets span the numbers' steps (a trailing NaN, kept as NULL, would stretch them).
    seek = select(MetricRow.step).where(*where).limit(1)
    first = session.exec(seek.order_by(col(MetricRow.step))).first()
    last = session.exec(seek.order_by(col(MetricRow.step).desc())).first()
    if first is None or last is None:
        return Series(run_id, key, x, (), (), (), 0, None, None)
    # Every later statement stops at this last step: on PostgreSQL each sees the points a
    # running run committed since, and a point past last_step sent now would come again in
    # the next poll (after=last_step).
    where = (*where, col(MetricRow.step) <= last)
    # Counting stops past the budget: a short series is read whole, a long one never counted
    # row by row (its total comes from the bucket walk below).
    sample = select(MetricRow.id).where(*where).limit(points + 1).subquery()
    few = session.exec(select(func.count()).select_from(sample)).one() <= points
    query = select(MetricRow.step, MetricRow.value, MetricRow.time).where(*where)
    buckets = None
    if not few:
        buckets, total, ids = _bucket_ends(session, run_id, key, first, last, points // 2)
        # By primary key alone: with the series' own conditions too, the planner walks the
        # whole series on its index to test each row's id.
        query = select(MetricRow.step, MetricRow.value, MetricRow.time)
        query = query.where(col(MetricRow.id).in_(ids))
    rows = session.exec(query.order_by(col(MetricRow.step), col(MetricRow.id))).all()
    if few:
        total = len(rows)
    shift = run.created_at.timestamp() if x == "time" else 0.0
    xs = tuple(float(r[0]) if x == "step" else r[2] - shift for r in rows)
    steps = tuple(int(r[0]) for r in rows)
    ys = tuple(float(cast(float, r[1])) for r in rows)  # NULL (a NaN logged) is left out
    return Series(run_id, key, x, steps, xs, ys, total, buckets, int(last))


def _bucket_ends(
    session: Session, run_id: str, key: str, first: int, last: int, wanted: int
) -> tuple[int, int, list[int]]:
    # (buckets holding a point, points in them, ids of each bucket's lowest and highest point)
    width = -(-(last - first + 1) // max(1, wanted))
    buckets = -(-(last - first + 1) // width)
    params = {"run": run_id, "key": key, "lo": first, "hi": last, "width": width, "n": buckets}
    ids: set[int] = set()
    total = 0
    filled = 0  # the buckets holding a point (a gap in the steps leaves some empty)
    if session.get_bind().dialect.name == "postgresql":
        for low, high in session.execute(text(_POSTGRES_BUCKETS), params):
            ids.update((low, high))
            filled += 1
        where = (
            col(MetricRow.run_id) == run_id,
            col(MetricRow.key) == key,
            col(MetricRow.step) >= first,
            col(MetricRow.step) <= last,
            col(MetricRow.value).is_not(None),
        )
        total = session.exec(select(func.count()).select_from(MetricRow).where(*where)).one()
    else:
        for low, high in session.execute(text(_SQLITE_BUCKETS), params):
            if low is not None:
                low_id, count = low.split()
                ids.update((int(low_id), high))
                total += int(count)
                filled += 1
    return filled, int(total), sorted(ids)
