"""The alert webhook's URL (checked before an alert is recorded, credentials as a header), the
time it posts, and the alert line printed on stderr."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import ConfigError
from artstore.serialize import iso_time
from artstore.tracker.alerts import Webhook, alert_line
from tests.tracker.conftest import FAST


class Recorder:
    """A loopback HTTP server keeping each POST's path, headers and JSON body."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], dict]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.posts.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host/x", "http:///path", "http://h:99999/"])
def test_a_bad_webhook_is_refused_before_the_alert_is_recorded(store_url, monkeypatch, capfd, url):
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", url)
    with artstore.init(store=store_url, **FAST) as run:
        for _ in range(2):  # refused each time, never dropped silently
            with pytest.raises(ConfigError, match="ARTSTORE_ALERT_WEBHOOK"):
                run.alert("t", "x", wait_duration=0)
    assert "artstore: alert" not in capfd.readouterr().err
    with Store(store_url) as store:
        assert store.run(run.id).alerts() == []


def test_credentials_in_the_url_are_sent_as_basic_authorization(store_url, monkeypatch, recorder):
    url = f"http://alice:p%40ss@127.0.0.1:{recorder.port}/hook"
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", url)
    with artstore.init(store=store_url, **FAST) as run:
        run.alert("t", "x")
    [(path, headers, body)] = recorder.posts
    assert path == "/hook" and body["title"] == "t"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:p@ss").decode()
    assert "alice" not in Webhook(url).url and "p%40ss" not in Webhook(url).url


def test_the_posted_time_is_written_as_every_json_document_writes_it(
    store_url, monkeypatch, recorder
):
    monkeypatch.setenv("ARTSTORE_ALERT_WEBHOOK", f"http://127.0.0.1:{recorder.port}/")
    with artstore.init(store=store_url, **FAST) as run:
        run.alert("t", "x")
    with Store(store_url) as store:
        [kept] = store.run(run.id).alerts()
    [(_, _, body)] = recorder.posts
    assert body["time"] == iso_time(kept.at) and body["time"].endswith("Z")
    assert datetime.fromisoformat(body["time"]) == kept.at


def test_the_alert_line_escapes_control_characters():
    line = alert_line("r1", "WARN", "t\x1b[2J", "a\nb\x07c")
    assert line == "artstore: alert WARN (run r1): t\\x1b[2J: a b\\x07c\n"
    assert "\x1b" not in line and line.count("\n") == 1
