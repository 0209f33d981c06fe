"""The background writer: training code appends rows, a thread writes them in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from artstore.lineage import MetricRecord

__all__ = ["BACKLOG_BATCHES", "BatchWriter", "Flush"]

logger = logging.getLogger(__name__)

# Waiting rows, in batches, before the producer blocks.
BACKLOG_BATCHES = 100

# One flush: metric rows, console rows, changed run columns.
Flush = Callable[[list[MetricRecord], list[tuple[Any, ...]], dict[str, Any]], None]


class BatchWriter:
    """Buffers a run's rows in memory and writes them from a daemon thread.

    A batch is written when ``flush_interval`` seconds have passed or ``flush_rows`` rows are
    waiting, whichever comes first; when nothing arrives, the run's heartbeat is still written
    every ``heartbeat_interval``. The producer appends under ``lock`` to ``metrics`` and
    ``console`` (cheap: no I/O on the training thread). It blocks only if the database falls
    so far behind that ``BACKLOG_BATCHES`` batches are waiting, which bounds memory without
    slowing a training loop that logs in bursts.

    A batch that cannot be written is told apart by writing the heartbeat alone. If that fails
    too, the catalog is away (a network, a lock): the batch waits in memory and is retried with
    the next one, nothing is dropped, and a warning says so once. If the heartbeat is written,
    the catalog refuses something in the batch: it is written again in halves, down to single
    rows and columns, and only what is still refused alone is dropped. That is logged once as
    an error (and the total at :meth:`close` if more followed); ``dropped`` counts it. Later
    batches are written either way.
    """

    def __init__(
        self,
        flush: Flush,
        *,
        flush_interval: float,
        flush_rows: int,
        heartbeat_interval: float,
        extra_fields: Callable[[], dict[str, Any]] = dict,
        label: str = "run",
    ) -> None:
        self.lock = threading.Lock()
        self.metrics: list[MetricRecord] = []
        self.console: list[tuple[Any, ...]] = []
        self.fields: dict[str, Any] = {}
        self.flush_rows = flush_rows
        self._flush = flush
        self._extra_fields = extra_fields
        self._interval = flush_interval
        self._heartbeat = heartbeat_interval
        self._wake = threading.Condition(self.lock)
        self._taken = threading.Condition(self.lock)
        self._written = threading.Condition(self.lock)
        self._closing = False
        self._urgent = False  # flush() asked for the batch now, not at the end of the interval
        self._generation = 0  # batches started
        self._done = 0  # batches finished (written or failed)
        self._last_write = time.monotonic()
        self._label = label
        self._outage = False  # the last write failed with the heartbeat alone
        self._error: BaseException | None = None
        #: Rows and columns dropped because the catalog refused them alone, by kind.
        self.dropped: Counter[str] = Counter()
        self._reported: Counter[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="artstore-writer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Called with ``lock`` held after appending: wakes the writer, and waits when full."""
        waiting = len(self.metrics)
        if waiting >= self.flush_rows:
            self._wake.notify()
            while len(self.metrics) >= self.flush_rows * BACKLOG_BATCHES and not self._closing:
                self._taken.wait(1.0)

    def set_fields(self, **fields: Any) -> None:
        """Columns of the run to write with the next batch (config, summary, ...)."""
        with self.lock:
            self.fields.update(fields)
            self._wake.notify()

    def flush(self, timeout: float | None = None) -> None:
        """Write everything appended so far, and wait until it is written."""
        with self.lock:
            target = self._generation + 1
            self._urgent = True
            self._wake.notify()
            self._written.wait_for(lambda: self._done >= target or self._closing, timeout)

    def close(self) -> None:
        """Write what is left and stop the thread."""
        with self.lock:
            self._closing = True
            self._wake.notify()
            self._taken.notify_all()
        self._thread.join()
        self._report_total()

    def _loop(self) -> None:
        while True:
            with self.lock:
                deadline = time.monotonic() + self._interval
                while (
                    not self._closing and not self._urgent and len(self.metrics) < self.flush_rows
                ):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                closing = self._closing
                metrics, console = self.metrics, self.console
                fields = {**self.fields, **self._extra_fields()}
                self.metrics, self.console, self.fields = [], [], {}
                self._urgent = False
                self._generation += 1
                self._taken.notify_all()
            idle = time.monotonic() - self._last_write < self._heartbeat
            if metrics or console or fields or not idle:
                self._write(metrics, console, fields)
            with self.lock:
                self._done += 1
                self._written.notify_all()
            if closing:
                return

    def _write(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        try:
            self._flush(metrics, console, fields)
        except Exception as exc:
            self._error = exc
            if self._reachable():
                self._salvage(metrics, console, fields)
            else:
                self._put_back(metrics, console, fields)
            return
        self._mark_written()

    def _reachable(self) -> bool:
        # Whether a write can succeed now: an empty batch (the heartbeat alone) tells a
        # catalog that cannot be written at all from one that refuses what a batch holds.
        try:
            self._flush([], [], {})
        except Exception:
            return False
        self._mark_written()
        return True

    def _mark_written(self) -> None:
        self._last_write = time.monotonic()
        if self._outage:
            self._outage = False
            logger.warning("%s: the catalog is written again", self._label)

    def _put_back(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        if not self._outage:
            self._outage = True
            logger.warning(
                "%s: cannot write to the catalog now (%s); %d rows wait in memory and are "
                "retried with the next batch",
                self._label,
                _first_line(self._error),
                len(metrics) + len(console),
            )
        with self.lock:  # in front, in order; newer column values win
            self.metrics[:0] = metrics
            self.console[:0] = console
            self.fields = {**fields, **self.fields}

    def _salvage(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # The catalog works but refuses this batch: write it in ever smaller parts, and drop
        # only the single rows (or columns) it still refuses, so the rest and every later
        # batch are kept.
        kept_metrics = self._in_parts("metric rows", metrics, lambda p: self._flush(p, [], {}))
        kept_console = self._in_parts("console rows", console, lambda p: self._flush([], p, {}))
        kept_fields = self._in_parts(
            "run columns", list(fields.items()), lambda p: self._flush([], [], dict(p))
        )
        if kept_metrics or kept_console or kept_fields:  # the catalog went away meanwhile
            self._put_back(kept_metrics, kept_console, dict(kept_fields))
        self._report_dropped()

    def _in_parts(
        self, what: str, rows: list[Any], write: Callable[[list[Any]], None]
    ) -> list[Any]:
        # Returns what could not be tried because the catalog became unwritable.
        stack = [rows] if rows else []
        while stack:
            part = stack.pop()
            try:
                write(part)
                continue
            except Exception as exc:
                self._error = exc
            if len(part) > 1:
                half = len(part) // 2
                stack += [part[half:], part[:half]]
            elif self._reachable():
                self.dropped[what] += 1
            else:
                return [row for piece in [part, *reversed(stack)] for row in piece]
        return []

    def _report_dropped(self) -> None:
        # Said once, when it first happens; close() tells the total if more followed.
        if self._reported is None and self.dropped.total():
            logger.error(
                "%s: the catalog refused %s (%s); they are dropped, later rows are still written",
                self._label,
                _counts(self.dropped),
                _first_line(self._error),
            )
            self._reported = Counter(self.dropped)

    def _report_total(self) -> None:
        if self._reported is not None and self.dropped != self._reported:
            logger.error(
                "%s: in all, %s refused by the catalog were dropped",
                self._label,
                _counts(self.dropped),
            )


def _counts(dropped: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in dropped.items() if n) or "nothing"


def _first_line(error: BaseException | None) -> str:
    text = str(getattr(error, "orig", None) or error or "").strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
