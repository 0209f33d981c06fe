"""A run's metric history read a page of steps at a time, so a reader never holds it all."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from artstore.errors import NotFoundError
from artstore.lineage.tables import MetricRow, RunRow

__all__ = ["cell_of", "history_page", "metric_keys", "require_run"]


def cell_of(value: float | None, text: str | None, media: str | None) -> Any:
    """The value a metric row holds: its number, its text, its media reference, or NaN."""
    if value is not None:
        return value
    if text is not None:
        return text
    return math.nan if media is None else json.loads(media)


def metric_keys(session: Session, run_id: str) -> list[str]:
    """The metric names a run logged, sorted.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    query = select(MetricRow.key).where(MetricRow.run_id == run_id).distinct()
    return sorted(session.exec(query))


def history_page(
    session: Session,
    run_id: str,
    keys: Sequence[str],
    start: int,
    stop: int | None,
    steps: int,
) -> list[dict[str, Any]]:
    """The rows of the first ``steps`` steps in ``[start, stop)`` that logged any of ``keys``,
    by step.

    Each row is ``{"_step": n, key: value, ...}`` (NaN for a NaN, text for text, a dict for
    a media reference) and holds
    only ``keys``. An empty list means there are no more steps in the range.

    Raises:
        NotFoundError: no such run.
    """
    require_run(session, run_id)
    bounds: set[int] = set()
    for key in keys:
        # Each key's first steps walk the (run, key, step) index; the page's last step is
        # among them, so no query reads more than a page of any key.
        where = _where(run_id, [key], start, stop)
        first = select(MetricRow.step).where(*where).order_by(col(MetricRow.step)).limit(steps)
        bounds.update(session.exec(first))
    if not bounds:
        return []
    last = sorted(bounds)[:steps][-1]
    query = (
        sa_select(
            col(MetricRow.step),
            col(MetricRow.key),
            col(MetricRow.value),
            col(MetricRow.text),
            col(MetricRow.media),
        )
        .where(*_where(run_id, keys, start, last + 1))
        .order_by(col(MetricRow.step), col(MetricRow.id))
    )
    by_step: dict[int, dict[str, Any]] = {}
    for step, key, value, text, media in session.execute(query):
        by_step.setdefault(step, {"_step": step})[key] = cell_of(value, text, media)
    return list(by_step.values())


def _where(run_id: str, keys: Sequence[str], start: int, stop: int | None) -> list[Any]:
    where = [
        col(MetricRow.run_id) == run_id,
        col(MetricRow.key).in_(list(keys)),
        col(MetricRow.step) >= start,
    ]
    if stop is not None:
        where.append(col(MetricRow.step) < stop)
    return where


def require_run(session: Session, run_id: str) -> RunRow:
    """The run's row.

    Raises:
        NotFoundError: no such run.
    """
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFoundError(f"no run with id {run_id!r} in this store; see: art runs")
    return row
