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


def test_a_failed_write_is_written_again_without_loss(writers, caplog):
    flush = Recorder(failures=1)  # one passing failure: the heartbeat right after succeeds
    writer = make(writers, flush)
    append(writer, (1,), (2,))
    writer.set_fields(status="x")
    writer.flush(timeout=10)
    append(writer, (3,))
    writer.flush(timeout=10)
    assert flush.metrics() == [(1,), (2,), (3,)]
    assert {"status": "x"} in [fields for _, _, fields in flush.calls]
    assert not writer.dropped
    assert "refused" not in caplog.text


class Catalog(Recorder):
    """A flush target that can be down (every write fails) or refuse rows and columns that
    hold ``"bad"`` (as a database refuses a value it cannot store)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def __call__(self, metrics: list[Any], console: list[Any], fields: dict[str, Any]) -> None:
        if self.down:
            raise OSError("connection refused")
        if any("bad" in row for row in [*metrics, *console]) or "bad" in fields.values():
            raise ValueError("the database refuses 'bad'\nSQL: a second line")
        super().__call__(metrics, console, fields)


def test_while_the_catalog_is_down_rows_wait_and_nothing_is_dropped(writers, caplog):
    catalog = Catalog()
    writer = make(writers, catalog)
    catalog.down = True
    append(writer, (1,), (2,))
    writer.set_fields(status="x")
    writer.flush(timeout=10)
    append(writer, (3,))
    writer.flush(timeout=10)
    assert catalog.calls == []
    assert caplog.text.count("cannot write to the catalog now (connection refused)") == 1
    catalog.down = False
    writer.flush(timeout=10)
    assert catalog.calls == [([(1,), (2,), (3,)], [], {"status": "x"})]
    assert not writer.dropped
    assert "the catalog is written again" in caplog.text


def test_what_the_catalog_refuses_is_dropped_once_said_and_later_batches_flow(writers, caplog):
    catalog = Catalog()
    writer = make(writers, catalog)
    append(writer, *[(i,) for i in range(10)], ("bad",), (11,))
    with writer.lock:
        writer.console.extend([("out", "a"), ("out", "bad")])
    writer.set_fields(summary="bad", status="finished")
    writer.flush(timeout=10)
    append(writer, (12,))
    writer.flush(timeout=10)
    assert catalog.metrics() == [(i,) for i in [*range(10), 11, 12]]
    assert [row for _, c, _ in catalog.calls for row in c] == [("out", "a")]
    written = {k: v for _, _, fields in catalog.calls for k, v in fields.items()}
    assert written == {"status": "finished"}
    assert writer.dropped == {"metric rows": 1, "console rows": 1, "run columns": 1}
    [said] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert said.levelname == "ERROR"
    assert said.getMessage() == (
        "run: the catalog refused 1 metric rows, 1 console rows, 1 run columns (the database "
        "refuses 'bad'); they are dropped, later rows are still written"
    )
    append(writer, ("bad",), (13,))
    writer.flush(timeout=10)
    assert catalog.metrics()[-1] == (13,)
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1, "said once"
    writer.close()
    assert "in all, 2 metric rows, 1 console rows, 1 run columns refused" in caplog.text


def test_a_catalog_that_goes_away_while_a_batch_is_salvaged_loses_nothing(writers):
    catalog = Catalog()
    writer = make(writers, catalog)
    real = catalog.__call__

    def flaky(metrics: list[Any], console: list[Any], fields: dict[str, Any]) -> None:
        if metrics == [("bad",)]:
            catalog.down = True  # the single refused row is not dropped: the catalog is away
        real(metrics, console, fields)

    writer._flush = flaky
    append(writer, (1,), ("bad",), (2,))
    writer.flush(timeout=10)
    assert catalog.metrics() == [(1,)]
    catalog.down = False
    writer._flush = real
    writer.flush(timeout=10)
    assert catalog.metrics() == [(1,), (2,)]
    assert writer.dropped == {"metric rows": 1}


def test_close_writes_what_is_left(writers):
    flush = Recorder()
    writer = BatchWriter(flush, flush_interval=60.0, flush_rows=1000, heartbeat_interval=60.0)
    append(writer, (1,), (2,))
    with writer.lock:
        writer.console.append(("c",))
    writer.close()
    assert flush.calls == [([(1,), (2,)], [("c",)], {})]
