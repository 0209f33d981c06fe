"""Remember file digests by (device, inode, size, mtime) so unchanged files are not re-read."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from artstore.storage.digest import HASH_NAME, Digest

__all__ = ["CACHE_VERSION", "NoStatCache", "SqliteStatCache", "StatCache", "StatKey"]

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
# A file modified this close to the moment it was hashed could change again within the same
# mtime tick without its stat changing ("racy" entries, as git calls them): such files are not
# remembered, so the next put hashes them again.
RACY_WINDOW_NS = 2_000_000_000
# Two bound variables per key; SQLite before 3.32 allows at most 999 in one statement.
_BATCH = 999 // 2


@dataclass(frozen=True, slots=True)
class StatKey:
    """What identifies one unchanged file on one machine."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatKey:
        """The key of a file from its ``stat`` result."""
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class StatCache(Protocol):
    """Digests of files whose stat has not changed since they were hashed."""

    def lookup(self, keys: Iterable[StatKey]) -> dict[StatKey, Digest]:
        """The known digests among ``keys``."""

    def record(self, entries: Mapping[StatKey, Digest]) -> None:
        """Remember digests (entries too recent to trust are skipped)."""


class NoStatCache:
    """A stat cache that remembers nothing."""

    def lookup(self, keys: Iterable[StatKey]) -> dict[StatKey, Digest]:
        # docstring inherited
        return {}

    def record(self, entries: Mapping[StatKey, Digest]) -> None:
        # docstring inherited
        return None


class SqliteStatCache:
    """A stat cache in a per-user SQLite file, shared by every store on the machine.

    A failure of the cache itself (a locked or damaged file) is logged and treated as a miss:
    the cache only ever saves work, it never decides content.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != CACHE_VERSION:
                db.execute("DROP TABLE IF EXISTS entries")
                db.execute(f"PRAGMA user_version={CACHE_VERSION}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, hash TEXT, digest TEXT, PRIMARY KEY (dev, ino))"
                " WITHOUT ROWID"
            )
            self._db = db
        return self._db

    def lookup(self, keys: Iterable[StatKey]) -> dict[StatKey, Digest]:
        # docstring inherited
        by_inode = {(k.dev, k.ino): k for k in keys}
        found: dict[StatKey, Digest] = {}
        try:
            db = self._connect()
            inodes = list(by_inode)
            for start in range(0, len(inodes), _BATCH):
                batch = inodes[start : start + _BATCH]
                marks = ",".join("(?,?)" for _ in batch)
                params = [v for pair in batch for v in pair]
                rows = db.execute(
                    "SELECT dev, ino, size, mtime_ns, digest FROM entries"
                    f" WHERE hash = '{HASH_NAME}' AND (dev, ino) IN (VALUES {marks})",
                    params,
                )
                for dev, ino, size, mtime_ns, digest in rows:
                    key = by_inode[(dev, ino)]
                    if key.size == size and key.mtime_ns == mtime_ns:
                        found[key] = Digest(digest)
        except sqlite3.Error as exc:
            logger.warning("stat cache %s unusable (%s); hashing files again", self.path, exc)
        return found

    def record(self, entries: Mapping[StatKey, Digest]) -> None:
        # docstring inherited
        trusted_before = time.time_ns() - RACY_WINDOW_NS
        rows = [
            (k.dev, k.ino, k.size, k.mtime_ns, HASH_NAME, d.hex)
            for k, d in entries.items()
            if k.mtime_ns < trusted_before
        ]
        if not rows:
            return
        try:
            db = self._connect()
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?)", rows)
        except sqlite3.Error as exc:
            logger.warning("stat cache %s not updated (%s)", self.path, exc)

    def close(self) -> None:
        """Close the database connection."""
        if self._db is not None:
            self._db.close()
            self._db = None
