"""Waiting for a catalog that another process holds locked, and saying so.

One catalog operation (opening, a read, a write) makes attempts that each wait a short while
for a lock (SQLite's busy timeout, PostgreSQL's ``lock_timeout``: :func:`attempt_seconds`).
After :data:`WARN_AFTER` seconds of failed attempts (or a tenth of the limit, if that is
shorter), one warning names the catalog and the limit; at the limit (``$ARTSTORE_LOCK_TIMEOUT``,
10 minutes by default) the operation stops with :class:`~artstore.errors.CatalogBusyError`.
Reads and writes share the limit, so a read-only command never gives up sooner than a writer.
"""

from __future__ import annotations

import logging
import time

from artstore.errors import CatalogBusyError
from artstore.settings import LOCK_TIMEOUT_ENV

__all__ = ["WARN_AFTER", "LockWait", "attempt_seconds"]

logger = logging.getLogger(__name__)

#: Seconds of waiting before the warning (or a tenth of the limit, if that is shorter).
WARN_AFTER = 5.0
_ATTEMPT_SECONDS = 1.0


def attempt_seconds(limit: float) -> float:
    """How long one attempt waits for a lock: short enough that the warning comes in time."""
    return min(_ATTEMPT_SECONDS, _warn_after(limit) / 2)


def _warn_after(limit: float) -> float:
    return min(WARN_AFTER, limit / 10)


class LockWait:
    """The lock waits of one catalog operation: a deadline and a warning given once."""

    def __init__(self, where: str, limit: float) -> None:
        self._where = where
        self._limit = limit
        self._start = self._attempt_start = time.monotonic()
        self._warned = False

    def locked(self) -> None:
        """Note an attempt that found the catalog locked; the caller then tries again.

        Raises:
            CatalogBusyError: the operation has waited as long as the limit allows.
        """
        waited = time.monotonic() - self._start
        if waited >= self._limit:
            raise CatalogBusyError(
                f"catalog {self._where} stayed locked by another process for "
                f"{_seconds(waited)}, the longest artstore waits ({LOCK_TIMEOUT_ENV}="
                f"{self._limit:g}); try again when that process is done, or raise "
                f"{LOCK_TIMEOUT_ENV}"
            )
        if not self._warned and waited >= _warn_after(self._limit):
            self._warned = True
            logger.warning(
                "catalog %s is locked by another process; waiting for it up to %s (%s=%g seconds)",
                self._where,
                _seconds(self._limit),
                LOCK_TIMEOUT_ENV,
                self._limit,
            )
        # An attempt that failed at once instead of waiting inside the database (SQLite's
        # "database table is locked" skips the busy timeout) would otherwise spin until the
        # limit: it waits out the rest of its attempt here.
        now = time.monotonic()
        rest = attempt_seconds(self._limit) - (now - self._attempt_start)
        if rest > 0:
            time.sleep(min(rest, self._limit - (now - self._start)))
        self._attempt_start = time.monotonic()


def _seconds(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
