"""The background writer: training code appends rows, a thread writes them in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["BACKLOG_BATCHES", "BatchWriter", "Flush"]

logger = logging.getLogger(__name__)

# Waiting rows, in batches, before the producer blocks.
BACKLOG_BATCHES = 100

# One flush: metric rows, console rows, changed run columns.
Flush = Callable[[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, Any]], None]


class BatchWriter:
    """Buffers a run's rows in memory and writes them from a daemon thread.

    A batch is written when ``flush_interval`` seconds have passed or ``flush_rows`` rows are
    waiting, whichever comes first; when nothing arrives, the run's heartbeat is still written
    every ``heartbeat_interval``. The producer appends under ``lock`` to ``metrics`` and
    ``console`` (cheap: no I/O on the training thread). It blocks only if the database falls
    so far behind that ``BACKLOG_BATCHES`` batches are waiting, which bounds memory without
    slowing a training loop that logs in bursts. A failed write is retried with the next
    batch; nothing is dropped.
    """

    def __init__(
        self,
        flush: Flush,
        *,
        flush_interval: float,
        flush_rows: int,
        heartbeat_interval: float,
        extra_fields: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.lock = threading.Lock()
        self.metrics: list[tuple[Any, ...]] = []
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
        self, metrics: list[tuple[Any, ...]], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        try:
            self._flush(metrics, console, fields)
            self._last_write = time.monotonic()
        except Exception:
            logger.exception(
                "could not write %d run rows; retrying with the next batch",
                len(metrics) + len(console),
            )
            with self.lock:  # put them back in front, in order
                self.metrics[:0] = metrics
                self.console[:0] = console
                self.fields = {**fields, **self.fields}
