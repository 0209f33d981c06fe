"""Alerts a run raises: their checks, the per-title wait, and the optional webhook.

A webhook is posted on a thread of its own with a short timeout: a slow or refusing endpoint
costs the training loop nothing, and a failure is one warning line. Its URL is secret (a Slack
or Teams webhook URL is the credential), so messages show only its scheme and host; a
``user:password@`` in it is sent as a Basic ``Authorization`` header, never in the URL.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from artstore.errors import ConfigError, InvalidValueError
from artstore.lineage import RunAlert
from artstore.tracker.values import text_problem

__all__ = [
    "ALERT_LEVELS",
    "DEFAULT_WAIT",
    "MAX_ALERT_TEXT",
    "MAX_ALERT_TITLE",
    "WEBHOOK_ENV",
    "WEBHOOK_TIMEOUT",
    "AlertLevel",
    "Alerter",
    "RateLimit",
    "Webhook",
    "alert_line",
    "check_alert",
    "shown_webhook",
    "wait_seconds",
]

logger = logging.getLogger(__name__)

ALERT_LEVELS = ("INFO", "WARN", "ERROR")
#: W&B allows titles shorter than 64 characters; artstore keeps the same bound.
MAX_ALERT_TITLE = 64
MAX_ALERT_TEXT = 10_000
#: W&B's default ``wait_duration``.
DEFAULT_WAIT = timedelta(minutes=1)
WEBHOOK_ENV = "ARTSTORE_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT = 5.0
# serialize.iso_time's format (every JSON document's times), which the tracker may not import.
_JSON_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class AlertLevel(StrEnum):
    """How serious an alert is, as ``wandb.AlertLevel``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def check_alert(title: Any, text: Any, level: Any) -> tuple[str, str, str]:
    """The title, text and level of an alert as stored.

    Raises:
        InvalidValueError: a title that is not 1-64 characters, a text over 10,000 characters,
            either not a string or holding a NUL or a lone surrogate, or an unknown level.
    """
    if not isinstance(title, str) or not 1 <= len(title) <= MAX_ALERT_TITLE:
        raise InvalidValueError(
            f"an alert title is a string of 1-{MAX_ALERT_TITLE} characters, not {str(title)[:40]!r}"
        )
    if not isinstance(text, str) or len(text) > MAX_ALERT_TEXT:
        raise InvalidValueError(
            f"an alert text is a string of up to {MAX_ALERT_TEXT} characters (alert {title!r})"
        )
    for what, value in (("title", title), ("text", text)):
        problem = text_problem(value)
        if problem is not None:
            raise InvalidValueError(f"alert {what} {value[:40]!r} {problem}")
    chosen = (
        "INFO" if level is None else str(level.value if isinstance(level, AlertLevel) else level)
    )
    if chosen not in ALERT_LEVELS:
        raise InvalidValueError(
            f"alert level must be one of {', '.join(ALERT_LEVELS)}, not {str(level)[:40]!r}"
        )
    return title, text, chosen


def wait_seconds(wait_duration: Any) -> float:
    """``wait_duration`` (seconds, a timedelta, or None for one minute) in seconds.

    Raises:
        InvalidValueError: neither, or negative.
    """
    if wait_duration is None:
        return DEFAULT_WAIT.total_seconds()
    if isinstance(wait_duration, timedelta):
        seconds = wait_duration.total_seconds()
    elif type(wait_duration) in (int, float):
        seconds = float(wait_duration)
    else:
        raise InvalidValueError(
            "wait_duration is a number of seconds or a datetime.timedelta, "
            f"not a {type(wait_duration).__name__}"
        )
    if not seconds >= 0:
        raise InvalidValueError(f"wait_duration must not be negative, not {wait_duration!r}")
    return seconds


class RateLimit:
    """Per title: an alert within ``wait`` seconds of the last one kept is suppressed."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def allow(self, title: str, now: float, wait: float) -> bool:
        """Whether an alert titled ``title`` at ``now`` is kept (and remember it if so)."""
        last = self._last.get(title)
        if last is not None and now - last < wait:
            return False
        self._last[title] = now
        return True


def alert_line(run_id: str, level: str, title: str, text: str) -> str:
    """The one line an alert prints on stderr: whitespace runs are one space, and other
    characters that are not printable (an escape sequence) are shown escaped."""
    body = " ".join(f"{title}: {text}".split()) if text else " ".join(title.split())
    shown = body if body.isprintable() else repr(body)[1:-1]
    return f"artstore: alert {level} (run {run_id}): {shown}\n"


def shown_webhook(url: str) -> str:
    """A webhook URL as messages may show it: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/***"


class Webhook:
    """Posts alerts as JSON to one URL, each on a daemon thread."""

    def __init__(self, url: str, timeout: float = WEBHOOK_TIMEOUT) -> None:
        """Check ``url``; a ``user:password@`` in it is taken out and sent as a header.

        Raises:
            ConfigError: ``url`` is not an http(s) URL with a host.
        """
        problem = f"${WEBHOOK_ENV} (or alert_webhook: in artstore.yaml) must be an http(s) URL"
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # read to raise ValueError when out of range
            user, password = parts.username, parts.password
        except ValueError:  # a port out of range, a malformed IPv6 address
            raise ConfigError(problem) from None
        if parts.scheme not in ("http", "https") or not host:
            raise ConfigError(problem)
        self._headers = {"Content-Type": "application/json"}
        if user is not None or password is not None:
            # urllib would take user:password@ as part of the host: send it as a header.
            pair = f"{unquote(user or '')}:{unquote(password or '')}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self.url = url
        self.timeout = timeout
        self._threads: list[threading.Thread] = []

    @classmethod
    def find(cls, configured: str | None) -> Webhook | None:
        """The webhook of ``$ARTSTORE_ALERT_WEBHOOK``, else of ``configured`` (from
        ``artstore.yaml``), else None.

        Raises:
            ConfigError: the URL found is not an http(s) URL.
        """
        url = os.environ.get(WEBHOOK_ENV) or configured
        return None if not url else cls(url, timeout=WEBHOOK_TIMEOUT)

    def post(self, payload: dict[str, Any]) -> None:
        """Send ``payload`` in the background; a failure is logged, never raised."""
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(
            target=self._send, args=(payload,), name="artstore-alert-webhook", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def wait(self) -> None:
        """Wait for the posts under way (each is bounded by the timeout)."""
        for thread in self._threads:
            thread.join(self.timeout + 1.0)
        self._threads = []

    def _send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # refused, timed out, unreachable, bad URL
            problem = type(exc).__name__ if isinstance(exc, TimeoutError) else _reason(exc)
        else:
            return
        logger.warning(
            "alert %r was recorded but not posted to %s: %s",
            payload.get("title"),
            shown_webhook(self.url),
            problem,
        )


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return _reason(reason)
    # The URL may be in the message (urllib quotes it): keep only the error's kind and errno.
    errno = getattr(exc, "errno", None)
    text = getattr(exc, "strerror", None) or type(exc).__name__
    return f"{text} (errno {errno})" if errno else str(text)


class Alerter:
    """A run's alerts: checked, rate-limited per title, printed, recorded and posted.

    ``record`` stores an alert with the run; ``configured`` answers the store's
    ``alert_webhook`` setting, asked at the first alert kept, before it is recorded (and again
    at the next one if the webhook found was refused); ``about`` gives what is sent with each
    post (run id, project, name, entity), asked at the moment of the post.
    """

    def __init__(
        self,
        record: Callable[[RunAlert], None],
        configured: Callable[[], str | None],
        about: Callable[[], dict[str, Any]],
        *,
        enabled: bool = True,
    ) -> None:
        self._record = record
        self._configured = configured
        self._about = about
        self._enabled = enabled
        self._limit = RateLimit()
        self._webhook: Webhook | None = None
        self._looked = False

    def alert(self, title: Any, text: Any, level: Any, wait_duration: Any, step: int) -> bool:
        """Raise an alert at ``step``; False when an alert of that title was kept less than
        ``wait_duration`` ago (then it is not printed, recorded nor posted).

        Raises:
            InvalidValueError: a title, text, level or wait_duration artstore cannot keep.
            ConfigError: the webhook URL is not an http(s) URL (nothing is recorded or printed).
        """
        title, text, level = check_alert(title, text, level)
        wait = wait_seconds(wait_duration)
        if not self._enabled:
            return False
        if not self._limit.allow(title, time.monotonic(), wait):
            logger.info("alert %r suppressed: one was raised less than %gs ago", title, wait)
            return False
        webhook = self._find_webhook()
        raised = RunAlert(datetime.now(UTC), level, title, text, step)
        self._record(raised)
        about = self._about()
        sys.stderr.write(alert_line(str(about.get("run_id")), level, title, text))
        if webhook is not None:
            webhook.post(
                {
                    **about,
                    "title": title,
                    "text": text,
                    "level": level,
                    "step": step,
                    "time": raised.at.strftime(_JSON_TIME),
                }
            )
        return True

    def close(self) -> None:
        """Wait for the posts under way (each bounded by its timeout)."""
        if self._webhook is not None:
            self._webhook.wait()

    def _find_webhook(self) -> Webhook | None:
        if not self._looked:
            self._webhook = Webhook.find(self._configured())
            self._looked = True
        return self._webhook
