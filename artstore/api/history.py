"""A run's history as W&B's public API reads it: every row, a page at a time, or a sample."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from artstore.errors import InvalidArgumentError

if TYPE_CHECKING:
    from artstore.lineage.catalog_runs import CatalogRuns

__all__ = ["HistoryScan", "check_keys", "sample_indices"]


class HistoryScan(Iterator[dict[str, Any]]):
    """The rows of steps ``min_step`` to ``max_step`` (exclusive), by step, read from the
    catalog ``page_size`` steps at a time, so at most one page is held.

    With ``keys``, a row holds ``_step`` and those keys, and only steps that logged all of
    them have one (as W&B's ``scan_history`` does); with ``every=False``, steps that logged
    any of them (as ``art runs history --keys`` shows them).
    """

    def __init__(
        self,
        runs: CatalogRuns,
        run_id: str,
        keys: Sequence[str] | None,
        page_size: int,
        min_step: int,
        max_step: int | None,
        *,
        every: bool = True,
    ) -> None:
        self._runs = runs
        self._run_id = run_id
        # _step is every row's, not a metric the catalog holds.
        self._wanted = None if keys is None or not every else {"_step", *keys}
        self._keys = None if keys is None else [k for k in keys if k != "_step"]
        self._page_size = page_size
        self._next_step = min_step
        self._max_step = max_step
        self._page: Iterator[dict[str, Any]] = iter(())

    def __next__(self) -> dict[str, Any]:
        for row in self._page:
            return row
        if not self._keys:
            # Every metric: the names are read once, when the scan starts.
            self._keys = self._runs.metric_keys(self._run_id)
        while True:
            rows = self._runs.history_page(
                self._run_id, self._keys, self._next_step, self._max_step, self._page_size
            )
            if not rows:
                raise StopIteration
            self._next_step = rows[-1]["_step"] + 1
            if self._wanted is not None:
                wanted = self._wanted
                rows = [
                    {k: v for k, v in r.items() if k in wanted} for r in rows if wanted <= r.keys()
                ]
            self._page = iter(rows)
            for row in self._page:
                return row


def sample_indices(count: int, samples: int) -> list[int]:
    """The indices of at most ``samples`` of ``count`` rows, evenly spaced and keeping the
    first and the last."""
    if count <= samples:
        return list(range(count))
    if samples == 1:
        return [count - 1]
    last = count - 1
    return [i * last // (samples - 1) for i in range(samples)]


def check_keys(keys: object) -> list[str] | None:
    """``keys`` as given to ``history``/``scan_history``: None, or a list of metric names.

    Raises:
        InvalidArgumentError: anything else (W&B's own check, made a typed error).
    """
    if keys is None:
        return None
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise InvalidArgumentError(f"keys is a list of metric names, not {keys!r}")
    return list(keys)
