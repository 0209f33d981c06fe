"""A source file that changes while it is copied never yields a blob named by other bytes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from artstore.storage import Kind, _atomic, hash_bytes, init_store


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))  # over SMALL_FILE: the copying path
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**10))
    return path


def test_changed_source_names_the_blob_by_the_stored_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ordered with an event: the hash reads the original bytes, then the file is rewritten,
    # then the copy runs, so the copy holds other bytes than the ones hashed.
    source = _source(tmp_path)
    hashed = threading.Event()
    real_hash, real_copy = _atomic._hash_file, _atomic._kernel_copy

    def hash_then_rewrite(path):  # type: ignore[no-untyped-def]
        result = real_hash(path)
        source.write_bytes(b"rewritten while it was being logged")
        hashed.set()
        return result

    def copy_after_rewrite(src, dst, callback):  # type: ignore[no-untyped-def]
        assert hashed.wait(10)
        return real_copy(src, dst, callback)

    monkeypatch.setattr(_atomic, "_hash_file", hash_then_rewrite)
    monkeypatch.setattr(_atomic, "_kernel_copy", copy_after_rewrite)
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(source, size_hint=3 * 1024 * 1024)
    stored = Path(store.path(Kind.BLOB, result.digest)).read_bytes()
    assert stored == b"rewritten while it was being logged"
    assert result.digest == hash_bytes(stored)


def test_unchanged_source_keeps_the_parallel_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path)
    hashed_copies: list[object] = []
    real_stream = _atomic.hash_stream

    def spy(stream, buffer):  # type: ignore[no-untyped-def]
        hashed_copies.append(stream)
        return real_stream(stream, buffer)

    monkeypatch.setattr(_atomic, "hash_stream", spy)
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(source, size_hint=source.stat().st_size)
    assert result.digest == hash_bytes(source.read_bytes())
    assert len(hashed_copies) == 1, "only the source is hashed; the stored copy is not re-read"
