"""``run.alert``: recorded, printed, rate-limited per title, posted to a webhook that may fail."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Store
from artstore.artifacts.repository import Repository
from artstore.errors import (
    ConfigError,
    InvalidSpoolError,
    InvalidValueError,
    RunStateError,
    UnsupportedFormatError,
)
from artstore.tracker import sync_spool
from artstore.tracker.alerts import RateLimit, shown_webhook
from artstore.tracker.spool import SPOOL_FILE
from tests.tracker.conftest import FAST

SECRET = "T000/B000/very-secret-token"


class Hook:
    """A loopback HTTP server that records the JSON it is posted (or answers ``status``)."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.posts: list[dict] = []
        self.got = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(json.loads(body))
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                hook.got.set()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(monkeypatch) -> Iterator[Hook]:
    server = Hook()
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", server.url)
    yield server
    server.close()


def test_alert_is_recorded_printed_and_posted(store_url, hook, capfd):
    with artstore.init(store=store_url, project="p", entity="team", **FAST) as run:
        run.log({"acc": 0.1})
        run.alert("Low accuracy", "acc 0.1 is below 0.3", level="WARN")
    assert "artstore: alert WARN" in capfd.readouterr().err
    with Store(store_url) as store:
        [kept] = store.run(run.id).alerts()
    assert (kept.level, kept.title, kept.text, kept.step) == (
        "WARN",
        "Low accuracy",
        "acc 0.1 is below 0.3",
        0,
    )
    [post] = hook.posts
    assert post["title"] == "Low accuracy" and post["level"] == "WARN"
    assert post["run_id"] == run.id and post["project"] == "p" and post["entity"] == "team"
    assert post["text"] == "acc 0.1 is below 0.3" and post["step"] == 0


def test_the_same_title_within_wait_duration_is_suppressed(store_url, monkeypatch):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    with artstore.init(store=store_url, **FAST) as run:
        run.alert("loss", "first")
        run.alert("loss", "second")  # within W&B's default minute: suppressed
        run.alert("other", "kept", level=artstore.AlertLevel.ERROR)
        run.alert("quick", "1", wait_duration=0)
        run.alert("quick", "2", wait_duration=timedelta(0))
    with Store(store_url) as store:
        kept = [(a.title, a.text, a.level) for a in store.run(run.id).alerts()]
    assert kept == [
        ("loss", "first", "INFO"),
        ("other", "kept", "ERROR"),
        ("quick", "1", "INFO"),
        ("quick", "2", "INFO"),
    ]


def test_rate_limit_counts_from_the_last_kept_alert():
    limit = RateLimit()
    assert limit.allow("t", 0.0, 60)
    assert not limit.allow("t", 30.0, 60)
    assert limit.allow("t", 60.0, 60)
    assert limit.allow("u", 61.0, 60)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 65}, "title"),
        ({"title": 3}, "title"),
        ({"title": "a\x00b"}, "NUL"),
        ({"text": "x" * 10_001}, "text"),
        ({"level": "DEBUG"}, "level"),
        ({"wait_duration": "soon"}, "wait_duration"),
        ({"wait_duration": -1}, "negative"),
    ],
)
def test_bad_alerts_are_refused(store_url, kwargs, match):
    with (
        artstore.init(store=store_url, **FAST) as run,
        pytest.raises(InvalidValueError, match=match),
    ):
        run.alert(**{"title": "t", "text": "", **kwargs})
    with Store(store_url) as store:
        assert store.run(run.id).alerts() == []


@pytest.mark.parametrize("mode", ["refused", "error", "timeout"])
def test_a_webhook_that_fails_never_stops_training(store_url, monkeypatch, caplog, mode):
    server = None
    if mode == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/hooks/{SECRET}"
    else:
        server = Hook(status=500 if mode == "error" else 200, delay=3.0 if mode == "timeout" else 0)
        url = server.url
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", url)
    monkeypatch.setattr("artstore.tracker.alerts.WEBHOOK_TIMEOUT", 0.5)
    try:
        with artstore.init(store=store_url, **FAST) as run:
            started = time.monotonic()
            run.alert("down", "the hook is down")
            assert time.monotonic() - started < 0.5, "the post does not hold up training"
            run.log({"loss": 1.0})
        assert "was recorded but not posted to http://127.0.0.1/***" in caplog.text
        assert SECRET not in caplog.text
        with Store(store_url) as store:
            assert [a.title for a in store.run(run.id).alerts()] == ["down"]
            assert store.run(run.id).state == "finished"
    finally:
        if server is not None:
            server.close()


def test_webhook_from_artstore_yaml(store_url, monkeypatch, hook):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK")
    (Path(store_url) / "artstore.yaml").write_text(f"alert_webhook: {hook.url}\n")
    with artstore.init(store=store_url, **FAST) as run:
        run.alert("from yaml", "")
    assert [p["title"] for p in hook.posts] == ["from yaml"]


def test_bad_webhook_settings_are_refused(store_url, monkeypatch):
    (Path(store_url) / "artstore.yaml").write_text("alert_webhook: ftp://x\n")
    with pytest.raises(ConfigError, match="alert_webhook"):
        Store(store_url).repository.settings  # noqa: B018
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", "not-a-url")
    (Path(store_url) / "artstore.yaml").unlink()
    with artstore.init(store=store_url, **FAST) as run, pytest.raises(ConfigError):
        run.alert("t", "")


def test_shown_webhook_hides_the_path():
    assert shown_webhook(f"https://hooks.slack.com/services/{SECRET}") == (
        "https://hooks.slack.com/***"
    )


def test_module_level_alert_and_no_run(store_url, monkeypatch):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    with pytest.raises(RunStateError, match=r"artstore\.alert"):
        artstore.alert(title="t", text="x")
    with artstore.init(store=store_url, **FAST) as run:
        artstore.alert(title="t", text="x", level="ERROR", wait_duration=300)
    with Store(store_url) as store:
        assert [a.level for a in store.run(run.id).alerts()] == ["ERROR"]


def test_disabled_run_records_and_posts_nothing(store_url, hook, capfd):
    with artstore.init(store=store_url, mode="disabled", **FAST) as run:
        run.alert("t", "x")
        with pytest.raises(InvalidValueError):
            run.alert("", "x")
    assert hook.posts == [] and "alert" not in capfd.readouterr().err


# -- offline ----------------------------------------------------------------------------------


def _offline(store_url, tmp_path, monkeypatch):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    run = artstore.init(store=store_url, mode="offline", dir=tmp_path, **FAST)
    run.log({"x": 1})
    run.alert("offline", "raised offline", level="ERROR")
    run.finish()
    return run


def test_offline_alerts_sync_once(store_url, tmp_path, monkeypatch):
    run = _offline(store_url, tmp_path, monkeypatch)
    with Store(store_url) as store:
        first = sync_spool(run.dir, store)
        again = sync_spool(run.dir, store)
        [kept] = store.run(run.id).alerts()
    assert (first.new_alerts, again.new_alerts) == (1, 0)
    assert (kept.title, kept.level, kept.step) == ("offline", "ERROR", 0)


def _rewrite(spool: Path, change) -> None:
    path = spool / SPOOL_FILE
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        if record["type"] == "alert":
            change(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r.update(level="LOUD"), "level"),
        (lambda r: r.update(title=""), "title"),
        (lambda r: r.update(title="x" * 65), "title"),
        (lambda r: r.update(text="a\x00"), "text"),
        (lambda r: r.update(step=-1), "step"),
        (lambda r: r.update(step=1.5), "step"),
        (lambda r: r.update(at="yesterday"), "at"),
        (lambda r: r.update(at="2026-11-01T12:00:00"), "at"),
        (lambda r: r.pop("text"), "text"),
        (lambda r: r.update(format=1), "format"),
    ],
)
def test_hostile_alert_records_are_refused(store_url, tmp_path, monkeypatch, change, match):
    run = _offline(store_url, tmp_path, monkeypatch)
    _rewrite(run.dir, change)
    with Store(store_url) as store, pytest.raises(InvalidSpoolError, match=match):
        sync_spool(run.dir, store)


def test_a_newer_record_format_is_refused(store_url, tmp_path, monkeypatch):
    run = _offline(store_url, tmp_path, monkeypatch)
    _rewrite(run.dir, lambda r: r.update(format=4))
    with Store(store_url) as store, pytest.raises(UnsupportedFormatError, match="format 4"):
        sync_spool(run.dir, store)


def test_an_alert_records_the_step_last_logged(store_url, monkeypatch):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    with artstore.init(store=store_url, **FAST) as run:
        run.alert("before any log", "", wait_duration=0)
        run.log({"a": 1})
        run.log({"a": 2})
        run.alert("after two logs", "", wait_duration=0)
        run.log({"b": 1}, step=7, commit=False)
        run.alert("uncommitted step", "", wait_duration=0)
    with Store(store_url) as store:
        steps = [(a.title, a.step) for a in store.run(run.id).alerts()]
    assert steps == [("before any log", 0), ("after two logs", 1), ("uncommitted step", 7)]


def test_an_offline_run_reads_only_the_environments_webhook(store_url, tmp_path, monkeypatch):
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    (Path(store_url) / "artstore.yaml").write_text("alert_webhook: http://127.0.0.1:9/x\n")
    run = artstore.init(store=store_url, mode="offline", dir=tmp_path, **FAST)
    read = []
    monkeypatch.setattr(Repository, "settings", property(lambda repo: read.append(1)))
    run.alert("offline", "no settings read")
    monkeypatch.undo()
    run.finish()
    assert read == []
