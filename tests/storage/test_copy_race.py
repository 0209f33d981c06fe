"""Copies hashed on the side: a source that changes while it is copied never yields a blob
named by other bytes, and a digest known before the copy ends decides whether it goes on."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from artstore.errors import SourceChangedError
from artstore.storage import Kind, _atomic, hash_bytes, init_store
from tests.storage.contract import ByteCounter


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))  # over SMALL_FILE: the copying path
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**10))
    return path


def test_source_changed_after_its_hash_is_refused_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ordered: the hash reads the original bytes, then the file is rewritten, then the copy
    # runs, so the copy holds other bytes than the ones hashed.
    source = _source(tmp_path)
    _hash_before_copy(
        monkeypatch, after_hash=lambda: source.write_bytes(b"rewritten while it was being logged")
    )
    store = init_store(str(tmp_path / "store"))
    with pytest.raises(SourceChangedError, match=r"weights\.bin changed while it was read"):
        store.put_file(source)
    assert list(store.iter_digests(Kind.BLOB)) == []
    assert list((tmp_path / "store" / "tmp").iterdir()) == []


def test_source_swapped_by_rename_is_hashed_from_the_file_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another file renamed over the path, with the same size and mtime: the hash must still
    # read the file the copy reads (the one opened), never the path again.
    source = _source(tmp_path)
    data = source.read_bytes()
    impostor = tmp_path / "impostor.bin"
    impostor.write_bytes(os.urandom(len(data)))
    st = source.stat()
    os.utime(impostor, ns=(st.st_atime_ns, st.st_mtime_ns))
    real_hash = _atomic._hash_fd

    def swap_then_hash(fd):  # type: ignore[no-untyped-def]
        os.replace(impostor, source)
        return real_hash(fd)

    monkeypatch.setattr(_atomic, "_hash_fd", swap_then_hash)
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(source)
    assert result.digest == hash_bytes(data)
    assert Path(store.path(Kind.BLOB, result.digest)).read_bytes() == data


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
    result = store.put_file(source)
    assert result.digest == hash_bytes(source.read_bytes())
    assert hashed_copies == [], "only the source is hashed; the stored copy is not re-read"


def _hash_before_copy(
    monkeypatch: pytest.MonkeyPatch,
    step: int | None = None,
    after_hash: Callable[[], object] = lambda: None,
) -> list[int]:
    """Make the hash finish (then run ``after_hash``) before the copy starts, copy in
    ``step``-byte calls if given, and return the list that records how many bytes each kernel
    copy call moved."""
    hashed = threading.Event()
    real_hash, real_copy = _atomic._hash_fd, _atomic._kernel_copy
    real_range = os.copy_file_range
    moved: list[int] = []

    def hash_first(fd):  # type: ignore[no-untyped-def]
        result = real_hash(fd)
        after_hash()
        hashed.set()
        return result

    def copy_after_hash(src, dst, callback, step=None):  # type: ignore[no-untyped-def]
        assert hashed.wait(10)
        return real_copy(src, dst, callback, step)

    def counting_range(*args):  # type: ignore[no-untyped-def]
        n = real_range(*args)
        moved.append(n)
        return n

    monkeypatch.setattr(_atomic, "_hash_fd", hash_first)
    monkeypatch.setattr(_atomic, "_kernel_copy", copy_after_hash)
    monkeypatch.setattr(os, "copy_file_range", counting_range)
    if step is not None:
        monkeypatch.setattr(_atomic, "_KERNEL_STEP", step)
    return moved


def test_existing_blob_stops_the_copy_once_the_digest_is_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path)
    data = source.read_bytes()
    store = init_store(str(tmp_path / "store"))
    store.put_bytes(Kind.BLOB, data)
    moved = _hash_before_copy(monkeypatch, step=256 * 1024)
    progress = ByteCounter()
    result = store.put_file(source, callback=progress)
    assert (result.digest, result.size, result.stored) == (hash_bytes(data), len(data), False)
    assert moved == [256 * 1024], "one step, then the copy stopped"
    assert progress.total_seen == len(data), "the progress still ends at the file's size"
    assert list((tmp_path / "store" / "tmp").iterdir()) == [], "the partial copy is removed"
    assert Path(store.path(Kind.BLOB, result.digest)).read_bytes() == data


def test_new_blob_is_copied_whole_and_all_of_it_sent_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path)
    data = source.read_bytes()
    store = init_store(str(tmp_path / "store"))
    moved = _hash_before_copy(monkeypatch, step=256 * 1024)
    ranges: list[tuple[int, int]] = []
    monkeypatch.setattr(_atomic, "_start_writeback", lambda fd, off, n: ranges.append((off, n)))
    result = store.put_file(source)
    assert result.stored
    assert Path(store.path(Kind.BLOB, result.digest)).read_bytes() == data
    assert sum(moved) == len(data)
    # Every step goes to disk as soon as it is copied, in order.
    covered = 0
    for offset, length in ranges:
        assert offset == covered
        covered += length
    assert covered == len(data)


def test_source_on_another_filesystem_is_read_once(
    tmp_path: Path, other_filesystem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = init_store(str(tmp_path / "store"))
    source = other_filesystem / "weights.bin"
    data = os.urandom(3 * 1024 * 1024)
    source.write_bytes(data)

    def no_side_hash(fd):  # type: ignore[no-untyped-def]
        raise AssertionError("hashed on a side thread although the kernel cannot copy")

    monkeypatch.setattr(_atomic, "_hash_fd", no_side_hash)
    result = store.put_file(source)
    assert (result.digest, result.stored) == (hash_bytes(data), True)
    assert Path(store.path(Kind.BLOB, result.digest)).read_bytes() == data
