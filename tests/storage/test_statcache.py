"""The stat cache: digests remembered by (dev, ino, size, mtime), and every way it must miss."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artstore.storage import Chunk, NoStatCache, SqliteStatCache, StatKey, hash_bytes
from artstore.storage.statcache import CACHE_VERSION, RACY_WINDOW_NS

OLD_NS = 1_600_000_000 * 10**9  # September 2020: far outside the racy window


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "stat.db"


@pytest.fixture
def cache(cache_path: Path) -> Iterator[SqliteStatCache]:
    cache = SqliteStatCache(cache_path)
    yield cache
    cache.close()


def old_file(tmp_path: Path, name: str, data: bytes, mtime_ns: int = OLD_NS) -> StatKey:
    path = tmp_path / name
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return StatKey.of(os.stat(path))


def test_stat_key_of() -> None:
    st = os.stat(__file__)
    assert StatKey.of(st) == StatKey(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def test_record_then_lookup_hits(cache: SqliteStatCache, cache_path: Path, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    digest = hash_bytes(b"hello")
    assert cache.lookup([key]) == {}
    cache.record({key: digest})
    assert cache.lookup([key]) == {key: digest}
    # And it persists for the next process.
    cache.close()
    again = SqliteStatCache(cache_path)
    try:
        assert again.lookup([key]) == {key: digest}
    finally:
        again.close()


def test_changed_size_misses(cache: SqliteStatCache, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    cache.record({key: hash_bytes(b"hello")})
    grown = old_file(tmp_path, "a.bin", b"hello, world")  # same inode and mtime, new size
    assert (grown.dev, grown.ino, grown.mtime_ns) == (key.dev, key.ino, key.mtime_ns)
    assert grown.size != key.size
    assert cache.lookup([grown]) == {}


def test_changed_mtime_misses(cache: SqliteStatCache, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    cache.record({key: hash_bytes(b"hello")})
    touched = old_file(tmp_path, "a.bin", b"jello", mtime_ns=OLD_NS + 1)  # same size
    assert (touched.ino, touched.size) == (key.ino, key.size)
    assert cache.lookup([touched]) == {}
    assert cache.lookup([key._replace(mtime_ns=key.mtime_ns - 1)]) == {}


def test_other_inode_misses(cache: SqliteStatCache, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    cache.record({key: hash_bytes(b"hello")})
    assert cache.lookup([key._replace(ino=key.ino + 1)]) == {}
    assert cache.lookup([key._replace(dev=key.dev + 1)]) == {}


def test_rerecording_replaces_the_entry(cache: SqliteStatCache, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    cache.record({key: hash_bytes(b"hello")})
    newer = old_file(tmp_path, "a.bin", b"world", mtime_ns=OLD_NS + 10**9)
    cache.record({newer: hash_bytes(b"world")})
    assert cache.lookup([key, newer]) == {newer: hash_bytes(b"world")}


def test_racy_entries_are_not_recorded(cache: SqliteStatCache, tmp_path: Path) -> None:
    now = time.time_ns()
    fresh = old_file(tmp_path, "fresh.bin", b"just written", mtime_ns=now)
    future = old_file(tmp_path, "future.bin", b"clock skew", mtime_ns=now + 10**12)
    settled = old_file(tmp_path, "settled.bin", b"old", mtime_ns=now - 2 * RACY_WINDOW_NS)
    cache.record(
        {
            fresh: hash_bytes(b"just written"),
            future: hash_bytes(b"clock skew"),
            settled: hash_bytes(b"old"),
        }
    )
    assert cache.lookup([fresh, future, settled]) == {settled: hash_bytes(b"old")}


def test_only_racy_entries_records_nothing(cache: SqliteStatCache, tmp_path: Path) -> None:
    fresh = old_file(tmp_path, "fresh.bin", b"x", mtime_ns=time.time_ns())
    cache.record({fresh: hash_bytes(b"x")})
    assert cache.lookup([fresh]) == {}


def test_other_cache_version_drops_old_entries(cache_path: Path, tmp_path: Path) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    first = SqliteStatCache(cache_path)
    first.record({key: hash_bytes(b"hello")})
    assert first.lookup([key]) == {key: hash_bytes(b"hello")}
    first.close()

    db = sqlite3.connect(cache_path)
    db.execute(f"PRAGMA user_version={CACHE_VERSION + 1}")
    db.commit()
    db.close()

    second = SqliteStatCache(cache_path)
    try:
        assert second.lookup([key]) == {}
        # The file is rewritten for this version and works again.
        second.record({key: hash_bytes(b"hello")})
        assert second.lookup([key]) == {key: hash_bytes(b"hello")}
    finally:
        second.close()
    db = sqlite3.connect(cache_path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == CACHE_VERSION
    finally:
        db.close()


@pytest.mark.parametrize("garbage", [b"garbage", os.urandom(8192)], ids=["short", "random"])
def test_corrupt_cache_file_degrades_to_misses(
    cache_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    key = old_file(tmp_path, "a.bin", b"hello")
    first = SqliteStatCache(cache_path)
    first.record({key: hash_bytes(b"hello")})
    first.close()
    for leftover in cache_path.parent.glob(cache_path.name + "-*"):
        leftover.unlink()
    cache_path.write_bytes(garbage)

    broken = SqliteStatCache(cache_path)
    try:
        with caplog.at_level(logging.WARNING, logger="artstore.storage.statcache"):
            assert broken.lookup([key]) == {}
            broken.record({key: hash_bytes(b"hello")})  # must not raise either
            assert broken.lookup([key]) == {}
        assert any("stat cache" in r.getMessage() for r in caplog.records)
    finally:
        broken.close()


@pytest.mark.parametrize("sqlite_limit", [None, 999], ids=["default", "sqlite-before-3.32"])
def test_lookup_of_more_keys_than_one_batch(
    cache: SqliteStatCache, sqlite_limit: int | None
) -> None:
    if sqlite_limit is not None:
        # Builds of SQLite older than 3.32 bind at most 999 variables per statement.
        cache._connect().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, sqlite_limit)
    keys = [StatKey(dev=7, ino=i, size=i * 3, mtime_ns=OLD_NS + i) for i in range(1234)]
    entries = {k: hash_bytes(str(k.ino).encode()) for k in keys}
    cache.record(entries)
    unknown = [StatKey(dev=7, ino=10_000 + i, size=1, mtime_ns=OLD_NS) for i in range(600)]
    stale = [k._replace(size=k.size + 1) for k in keys[:700]]
    assert cache.lookup(keys + unknown) == entries
    assert cache.lookup(unknown) == {}
    assert cache.lookup(stale) == {}
    assert cache.lookup(iter(keys)) == entries


def test_lookup_of_nothing(cache: SqliteStatCache) -> None:
    assert cache.lookup([]) == {}


def test_no_stat_cache_never_hits(tmp_path: Path) -> None:
    cache = NoStatCache()
    key = old_file(tmp_path, "a.bin", b"hello")
    cache.record({key: hash_bytes(b"hello")})
    assert cache.lookup([key]) == {}


def test_a_cache_folder_that_cannot_be_made_degrades_to_misses(tmp_path: Path) -> None:
    # e.g. XDG_CACHE_HOME read-only, or a file where the folder should be: puts go on.
    (tmp_path / "blocked").write_bytes(b"a file, not a folder")
    cache = SqliteStatCache(tmp_path / "blocked" / "artstore" / "statcache.db")
    key = StatKey(1, 2, 3, OLD_NS)
    cache.record({key: hash_bytes(b"x")})
    cache.record_set("k", hash_bytes(b"x"))
    assert cache.lookup([key]) == {}
    assert cache.lookup_set("k") is None


@pytest.mark.parametrize(
    "rows",
    [
        '[["%s",5,null],["%s",4,null]]',  # adds up to 9, not 10
        '[["%s",10,null],["%s",0,null]]',  # an empty piece
    ],
)
def test_a_piece_list_that_does_not_make_its_file_is_dropped(
    cache: SqliteStatCache, caplog: pytest.LogCaptureFixture, rows: str
) -> None:
    whole, piece = hash_bytes(b"whole"), hash_bytes(b"piece")
    cache.record_chunks({whole: (Chunk(piece, 6), Chunk(piece, 4))})
    assert cache.lookup_chunks({whole: 10}) == {whole: (Chunk(piece, 6), Chunk(piece, 4))}
    assert cache.lookup_chunks({whole: 11}) == {}, "another size: not this file's list"
    db = sqlite3.connect(cache.path)
    with db:
        db.execute("UPDATE chunk_lists SET chunks = ?", (rows % (piece.hex, piece.hex),))
    db.close()
    with caplog.at_level(logging.WARNING):
        assert cache.lookup_chunks({whole: 10}) == {}
    assert "bad piece list" in caplog.text
