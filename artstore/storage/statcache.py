"""Remember file digests by (device, inode, size, mtime) so unchanged files are not re-read."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import xxhash

from artstore.storage.chunker import POLICY
from artstore.storage.chunks import Chunk
from artstore.storage.digest import HASH_NAME, Digest

__all__ = [
    "CACHE_VERSION",
    "AnyStatKey",
    "NoStatCache",
    "SqliteStatCache",
    "StatCache",
    "StatKey",
    "file_set_key",
    "stat_key",
]

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
# A file modified this close to the moment it was hashed could change again within the same
# mtime tick without its stat changing ("racy" entries, as git calls them): such files are not
# remembered, so the next put hashes them again.
RACY_WINDOW_NS = 2_000_000_000


class StatKey(NamedTuple):
    """What identifies one unchanged file on one machine.

    Any plain ``(dev, ino, size, mtime_ns)`` tuple is accepted where a key is expected and
    compares equal to its ``StatKey``: hot loops build plain tuples, which are cheaper.
    """

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatKey:
        """The key of a file from its ``stat`` result."""
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# The shape every stat cache method takes and returns: a StatKey or a plain tuple.
AnyStatKey = tuple[int, int, int, int]


def stat_key(st: os.stat_result) -> AnyStatKey:
    """The plain-tuple key of a file from its ``stat`` result."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_set_key(
    names: Sequence[str], stats: Sequence[tuple[int, ...]], *, chunked: bool
) -> str | None:
    """A key for a set of named files that changes whenever any name or stat does, or the way
    large files are stored: the manifest it maps to holds piece lists cut under one chunking
    policy, or none.

    Args:
        names: the files' names within the set, in a fixed order.
        stats: for each, a tuple starting with its ``stat_key`` (dev, ino, size, mtime_ns),
            optionally followed by more fields that must also be unchanged (mode bits).
        chunked: whether large files are stored in pieces (cut under ``POLICY``) or whole.

    Returns:
        The key, or None when a file is too recently modified to be trusted.
    """
    if not names:
        return None
    if max(st[3] for st in stats) >= time.time_ns() - RACY_WINDOW_NS:
        return None
    text = repr((names, stats, POLICY if chunked else 0)).encode()
    return f"{HASH_NAME}:{CACHE_VERSION}:{xxhash.xxh3_128_hexdigest(text)}"


class StatCache(Protocol):
    """Digests of files whose stat has not changed since they were hashed, and manifest
    digests of whole file sets (a folder) whose every stat is unchanged."""

    def lookup_set(self, key: str) -> Digest | None:
        """The manifest digest recorded for a file-set key (see :func:`file_set_key`)."""

    def record_set(self, key: str, manifest: Digest) -> None:
        """Remember the manifest digest of a file set."""

    def lookup(self, keys: Iterable[AnyStatKey]) -> dict[AnyStatKey, Digest]:
        """The known digests among ``keys``."""

    def record(self, entries: Mapping[AnyStatKey, Digest]) -> None:
        """Remember digests (entries too recent to trust are skipped)."""

    def lookup_chunks(self, files: Mapping[Digest, int]) -> dict[Digest, tuple[Chunk, ...]]:
        """The known piece lists, under the current chunking policy, of files with these
        digests and sizes (a list whose pieces do not add up to its file's size is left out:
        a damaged row must never reach a manifest)."""

    def record_chunks(self, lists: Mapping[Digest, tuple[Chunk, ...]]) -> None:
        """Remember the piece lists of files by their digests, under the current policy."""


class NoStatCache:
    """A stat cache that remembers nothing."""

    def lookup_set(self, key: str) -> Digest | None:
        # docstring inherited
        return None

    def record_set(self, key: str, manifest: Digest) -> None:
        # docstring inherited
        return None

    def lookup(self, keys: Iterable[AnyStatKey]) -> dict[AnyStatKey, Digest]:
        # docstring inherited
        return {}

    def record(self, entries: Mapping[AnyStatKey, Digest]) -> None:
        # docstring inherited
        return None

    def lookup_chunks(self, files: Mapping[Digest, int]) -> dict[Digest, tuple[Chunk, ...]]:
        # docstring inherited
        return {}

    def record_chunks(self, lists: Mapping[Digest, tuple[Chunk, ...]]) -> None:
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
                db.execute("DROP TABLE IF EXISTS file_sets")
                db.execute(f"PRAGMA user_version={CACHE_VERSION}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, hash TEXT, digest TEXT, PRIMARY KEY (dev, ino))"
                " WITHOUT ROWID"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS file_sets (key TEXT PRIMARY KEY, manifest TEXT,"
                " used_at INTEGER) WITHOUT ROWID"
            )
            # A file's pieces depend on its bytes and the chunking policy alone: keyed by
            # both, a list is true of any file with that digest.
            db.execute(
                "CREATE TABLE IF NOT EXISTS chunk_lists (digest TEXT, policy INTEGER,"
                " chunks TEXT, PRIMARY KEY (digest, policy)) WITHOUT ROWID"
            )
            self._db = db
        return self._db

    def lookup(self, keys: Iterable[AnyStatKey]) -> dict[AnyStatKey, Digest]:
        # docstring inherited
        wanted = list(dict.fromkeys(keys))
        found: dict[AnyStatKey, Digest] = {}
        try:
            db = self._connect()
            batch_size = self._batch_keys(db)
            trusted = Digest.trusted
            for start in range(0, len(wanted), batch_size):
                batch = wanted[start : start + batch_size]
                marks = ",".join(["(?,?,?,?)"] * len(batch))
                # Joining from the literal list drives the lookup through the primary key, and
                # comparing size and mtime in SQL returns only rows that are hits.
                rows = db.execute(
                    f"WITH wanted(dev, ino, size, mtime_ns) AS (VALUES {marks}) "
                    "SELECT e.dev, e.ino, e.size, e.mtime_ns, e.digest FROM wanted w "
                    "CROSS JOIN entries e ON e.dev = w.dev AND e.ino = w.ino "
                    f"WHERE e.size = w.size AND e.mtime_ns = w.mtime_ns AND e.hash = '{HASH_NAME}'",
                    [v for key in batch for v in key],
                )
                for dev, ino, size, mtime_ns, digest in rows:
                    found[(dev, ino, size, mtime_ns)] = trusted(digest)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("stat cache %s unusable (%s); hashing files again", self.path, exc)
        return found

    def lookup_set(self, key: str) -> Digest | None:
        # docstring inherited
        try:
            row = (
                self._connect()
                .execute("SELECT manifest FROM file_sets WHERE key = ?", (key,))
                .fetchone()
            )
        except (sqlite3.Error, OSError) as exc:
            logger.warning("stat cache %s unusable (%s)", self.path, exc)
            return None
        return None if row is None else Digest.trusted(row[0])

    def record_set(self, key: str, manifest: Digest) -> None:
        # docstring inherited
        try:
            db = self._connect()
            with db:
                db.execute("BEGIN")
                db.execute(
                    "INSERT OR REPLACE INTO file_sets VALUES (?, ?, ?)",
                    (key, manifest.hex, time.time_ns()),
                )
        except (sqlite3.Error, OSError) as exc:
            logger.warning("stat cache %s not updated (%s)", self.path, exc)

    @staticmethod
    def _batch_keys(db: sqlite3.Connection) -> int:
        # Four variables per key, within this SQLite's limit (999 before SQLite 3.32).
        return max(1, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 4)

    def record(self, entries: Mapping[AnyStatKey, Digest]) -> None:
        # docstring inherited
        trusted_before = time.time_ns() - RACY_WINDOW_NS
        rows = [(*k, HASH_NAME, d.hex) for k, d in entries.items() if k[3] < trusted_before]
        self._insert("INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?)", rows)

    def _insert(self, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
        """Run ``statement`` for every row, in one transaction (a failure is logged)."""
        if not rows:
            return
        try:
            db = self._connect()
            with db:
                db.execute("BEGIN")
                db.executemany(statement, rows)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("stat cache %s not updated (%s)", self.path, exc)

    def lookup_chunks(self, files: Mapping[Digest, int]) -> dict[Digest, tuple[Chunk, ...]]:
        # docstring inherited
        found: dict[Digest, tuple[Chunk, ...]] = {}
        try:
            db = self._connect()
            for digest, size in files.items():
                row = db.execute(
                    "SELECT chunks FROM chunk_lists WHERE digest = ? AND policy = ?",
                    (f"{HASH_NAME}:{digest.hex}", POLICY),
                ).fetchone()
                if row is None:
                    continue
                chunks = _decode_chunks(row[0])
                if sum(c.size for c in chunks) == size and all(c.size > 0 for c in chunks):
                    found[digest] = chunks
                else:
                    logger.warning("stat cache %s holds a bad piece list; file read", self.path)
        except (sqlite3.Error, OSError, ValueError) as exc:
            logger.warning("stat cache %s unusable (%s); reading files again", self.path, exc)
        return found

    def record_chunks(self, lists: Mapping[Digest, tuple[Chunk, ...]]) -> None:
        # docstring inherited
        rows = [(f"{HASH_NAME}:{d.hex}", POLICY, _encode_chunks(c)) for d, c in lists.items()]
        self._insert("INSERT OR REPLACE INTO chunk_lists VALUES (?,?,?)", rows)

    def close(self) -> None:
        """Close the database connection."""
        if self._db is not None:
            self._db.close()
            self._db = None


def _encode_chunks(chunks: tuple[Chunk, ...]) -> str:
    return json.dumps([[c.digest.hex, c.size, c.tensor] for c in chunks], separators=(",", ":"))


def _decode_chunks(text: str) -> tuple[Chunk, ...]:
    # Written by this module alone; a damaged row raises ValueError and counts as a miss.
    try:
        return tuple(Chunk(Digest.parse(d), int(n), t) for d, n, t in json.loads(text))
    except (TypeError, KeyError) as exc:
        raise ValueError(f"bad chunk list: {exc}") from None
