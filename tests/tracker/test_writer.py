"""``BatchWriter``: batching by time and by size, heartbeats, retry on failure, close."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from artstore.tracker._writer import BatchWriter
from tests.tracker.conftest import wait_for


class Recorder:
    """A flush target that records each call; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[list[Any], list[Any], dict[str, Any]]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self, metrics: list[Any], console: list[Any], fields: dict[str, Any]) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise OSError("database is locked")
            self.calls.append((list(metrics), list(console), dict(fields)))

    def metrics(self) -> list[Any]:
        with self.lock:
            return [row for m, _, _ in self.calls for row in m]


def append(writer: BatchWriter, *rows: Any) -> None:
    with writer.lock:
        writer.metrics.extend(rows)
        writer.nudge()


@pytest.fixture
def writers():
    made: list[BatchWriter] = []
    yield made
    for writer in made:
        writer.close()


def make(writers: list[BatchWriter], flush: Recorder, **kw: Any) -> BatchWriter:
    options = {"flush_interval": 60.0, "flush_rows": 1000, "heartbeat_interval": 60.0, **kw}
    writer = BatchWriter(flush, **options)
    writers.append(writer)
    return writer


def test_a_full_batch_is_written_before_the_interval(writers):
    flush = Recorder()
    writer = make(writers, flush, flush_rows=3)
    append(writer, (1,), (2,))
    append(writer, (3,))
    assert wait_for(lambda: flush.metrics() == [(1,), (2,), (3,)])


def test_rows_are_written_after_the_interval(writers):
    flush = Recorder()
    writer = make(writers, flush, flush_interval=0.05)
    with writer.lock:
        writer.metrics.append((1,))  # no nudge: the timer alone writes it
    assert wait_for(lambda: flush.metrics() == [(1,)])


def test_an_idle_writer_writes_heartbeats(writers):
    flush = Recorder()
    make(writers, flush, flush_interval=0.02, heartbeat_interval=0.05)
    wait_for(lambda: len(flush.calls) >= 2)
    assert all(call == ([], [], {}) for call in flush.calls)


def test_fields_and_extra_fields_travel_with_a_batch(writers):
    flush = Recorder()
    writer = BatchWriter(
        flush,
        flush_interval=60.0,
        flush_rows=1000,
        heartbeat_interval=60.0,
        extra_fields=lambda: {"summary": {"a": 1}},
    )
    writers.append(writer)
    writer.set_fields(config={"lr": 0.1})
    writer.flush(timeout=10)
    assert ([], [], {"config": {"lr": 0.1}, "summary": {"a": 1}}) in flush.calls


def test_flush_waits_until_written(writers):
    flush = Recorder()
    writer = make(writers, flush)
    append(writer, (1,))
    writer.flush(timeout=10)
    assert flush.metrics() == [(1,)]


def test_a_failed_write_is_retried_in_order(writers, caplog):
    flush = Recorder(failures=1)
    writer = make(writers, flush)
    append(writer, (1,), (2,))
    writer.set_fields(status="x")
    writer.flush(timeout=10)  # this batch fails
    assert flush.calls == []
    assert "could not write 2 run rows" in caplog.text
    append(writer, (3,))
    writer.flush(timeout=10)
    assert flush.calls == [([(1,), (2,), (3,)], [], {"status": "x"})]


def test_close_writes_what_is_left(writers):
    flush = Recorder()
    writer = BatchWriter(flush, flush_interval=60.0, flush_rows=1000, heartbeat_interval=60.0)
    append(writer, (1,), (2,))
    with writer.lock:
        writer.console.append(("c",))
    writer.close()
    assert flush.calls == [([(1,), (2,)], [("c",)], {})]
