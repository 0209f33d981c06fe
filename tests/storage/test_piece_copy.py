"""Pieces of a file cut at its safetensors tensors, on the store's filesystem: hashed ahead on a
thread and copied by the kernel. The pieces are those the userspace path cuts; known pieces are
not copied; a file that changes while it is copied is refused (by its stat, or within the racy
window by the copies' bytes); where the kernel cannot copy, the put still stores every piece."""

from __future__ import annotations

import errno
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save

from artstore.errors import SourceChangedError
from artstore.storage import BlobStore, Chunk, Kind, _atomic, _pieces, hash_bytes, init_store
from artstore.storage.chunker import CHUNKED_FROM, MAX_PIECE, cut
from tests import conftest
from tests.storage.contract import ByteCounter

MiB = 1024 * 1024


def _model(seed: int = 0, changed: int | None = None) -> bytes:
    """A safetensors file over CHUNKED_FROM: five tensors, the last larger than MAX_PIECE (cut
    in two); ``changed`` gives tensor ``changed`` other bytes of the same shape."""
    sizes = [2 * MiB, 3 * MiB, MiB, 2 * MiB, MAX_PIECE + MiB]
    rng = np.random.default_rng(seed)
    tensors = {f"t{i}": rng.integers(0, 255, n, dtype=np.uint8) for i, n in enumerate(sizes)}
    if changed is not None:
        other = np.random.default_rng(seed + 1000)
        tensors[f"t{changed}"] = other.integers(0, 255, sizes[changed], dtype=np.uint8)
    data = save(tensors)
    assert len(data) > CHUNKED_FROM
    return data


def _write(path: Path, data: bytes, *, backdate: bool = True) -> Path:
    path.write_bytes(data)
    if backdate:
        conftest.backdate(path)
    return path


def _expected(data: bytes) -> tuple[Chunk, ...]:
    pieces = cut(io.BytesIO(data), len(data))
    return tuple(Chunk(hash_bytes(p.data), len(p.data), p.tensor) for p in pieces)


def _staged_files(store: BlobStore) -> list[Path]:
    return [p for p in (Path(store.root) / "tmp").rglob("*") if p.is_file()]


@pytest.fixture
def copied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records (offset, length) of every piece the kernel path copies."""
    real = _pieces._RangeCopier.copy
    ranges: list[tuple[int, int]] = []

    def spy(self: Any, staged: Path, offset: int, length: int) -> None:
        ranges.append((offset, length))
        real(self, staged, offset, length)

    monkeypatch.setattr(_pieces._RangeCopier, "copy", spy)
    return ranges


def test_new_pieces_are_copied_by_the_kernel_and_are_those_the_cut_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copied: list[tuple[int, int]]
) -> None:
    data = _model()
    source = _write(tmp_path / "model.safetensors", data)
    store = init_store(str(tmp_path / "store"))
    real_range = os.copy_file_range
    kernel: list[int] = []

    def counting(*args: Any) -> int:
        n = real_range(*args)
        kernel.append(n)
        return n

    monkeypatch.setattr(os, "copy_file_range", counting)
    monkeypatch.setattr(_atomic, "StagedWriter", None)  # not the userspace path
    progress = ByteCounter()
    result = store.put_file(source, callback=progress, chunked=True)
    assert result.chunks == _expected(data)
    assert (result.digest, result.size) == (hash_bytes(data), len(data))
    assert result.new_bytes == len(data) and result.stored
    assert progress.total_seen == len(data)
    header = result.chunks[0].size
    assert sum(kernel) == len(data) - header, "every piece but the header, by the kernel"
    assert [offset for offset, _ in copied] == [
        sum(c.size for c in result.chunks[:i]) for i in range(1, len(result.chunks))
    ]
    at = 0
    for chunk in result.chunks:
        assert Path(store.path(Kind.BLOB, chunk.digest)).read_bytes() == data[at : at + chunk.size]
        at += chunk.size
    assert _staged_files(store) == []


def test_known_pieces_are_not_copied(tmp_path: Path, copied: list[tuple[int, int]]) -> None:
    store = init_store(str(tmp_path / "store"))
    first = store.put_file(_write(tmp_path / "v1.safetensors", _model()), chunked=True)
    copied.clear()
    tuned = _model(changed=1)
    result = store.put_file(_write(tmp_path / "v2.safetensors", tuned), chunked=True)
    changed = [c for c in result.chunks if c not in first.chunks]
    assert [c.tensor for c in changed] == ["t1"], "the header and the other tensors are known"
    assert [length for _, length in copied] == [changed[0].size]
    assert result.new_bytes == changed[0].size
    assert store.verify(Kind.BLOB, changed[0].digest) == changed[0].digest


def test_a_piece_repeated_in_the_file_is_copied_once(
    tmp_path: Path, copied: list[tuple[int, int]]
) -> None:
    block = np.random.default_rng(3).integers(0, 255, 3 * MiB, dtype=np.uint8)
    data = save({"a": block, "b": block.copy(), "c": block.copy()})
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(_write(tmp_path / "tied.safetensors", data), chunked=True)
    assert len({c.digest for c in result.chunks[1:]}) == 1
    assert len(copied) == 1
    assert result.new_bytes == result.chunks[0].size + 3 * MiB


def test_a_file_changed_while_its_pieces_are_copied_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write(tmp_path / "model.safetensors", _model())
    real = _pieces._RangeCopier.copy
    calls: list[int] = []

    def rewrite_then_copy(self: Any, staged: Path, offset: int, length: int) -> None:
        calls.append(offset)
        if len(calls) == 2:
            with open(source, "r+b") as f:
                f.seek(offset)
                f.write(b"x" * 100)
        real(self, staged, offset, length)

    monkeypatch.setattr(_pieces._RangeCopier, "copy", rewrite_then_copy)
    store = init_store(str(tmp_path / "store"))
    with pytest.raises(SourceChangedError, match=r"model\.safetensors changed while it was read"):
        store.put_file(source, chunked=True)
    assert list(store.iter_digests(Kind.BLOB)) == [], "nothing placed"
    assert _staged_files(store) == []


def _hash_first(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the thread hash every piece before the first one is copied."""
    hashed = threading.Event()
    real_run, real_copy = _pieces._HashAhead.run, _pieces._RangeCopier.copy

    def run(self: Any) -> Any:
        try:
            return real_run(self)
        finally:
            hashed.set()

    def copy_after_hash(self: Any, staged: Path, offset: int, length: int) -> None:
        assert hashed.wait(10)
        real_copy(self, staged, offset, length)

    monkeypatch.setattr(_pieces, "_HASH_AHEAD", 64)  # every piece's digest fits in the queue
    monkeypatch.setattr(_pieces._HashAhead, "run", run)
    monkeypatch.setattr(_pieces._RangeCopier, "copy", copy_after_hash)
    return hashed


def test_bytes_changed_within_the_racy_window_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rewritten after the hash and before the copy, its stat restored: only the copies' bytes
    # show it, and a source modified within the racy window has them hashed again.
    data = _model()
    source = _write(tmp_path / "model.safetensors", data, backdate=False)
    hashed = _hash_first(monkeypatch)
    real_copy = _pieces._RangeCopier.copy
    # The stat before any rewrite: two copier threads rewrite at once, and one that took the
    # stat after the other's write would restore that write's time, which the stat check sees.
    st = source.stat()

    def rewrite_keeping_its_stat(self: Any, staged: Path, offset: int, length: int) -> None:
        assert hashed.wait(10)
        with open(source, "r+b") as f:
            f.seek(offset)
            f.write(b"x" * 100)
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
        real_copy(self, staged, offset, length)

    monkeypatch.setattr(_pieces._RangeCopier, "copy", rewrite_keeping_its_stat)
    store = init_store(str(tmp_path / "store"))
    with pytest.raises(SourceChangedError, match="its bytes changed, its stat did not"):
        store.put_file(source, chunked=True)
    assert list(store.iter_digests(Kind.BLOB)) == [], "nothing placed"
    assert _staged_files(store) == []


def test_copies_of_a_file_outside_the_racy_window_are_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artstore.storage import blobstore

    data = _model()
    source = _write(tmp_path / "model.safetensors", data)
    rehashed: list[object] = []
    real = blobstore.hash_file

    def spy(path: Any, buffer: Any = None) -> Any:
        rehashed.append(path)
        return real(path, buffer)

    monkeypatch.setattr(blobstore, "hash_file", spy)
    store = init_store(str(tmp_path / "store"))
    assert store.put_file(source, chunked=True).chunks == _expected(data)
    assert rehashed == []
    recent = _write(tmp_path / "recent.safetensors", _model(seed=7), backdate=False)
    result = store.put_file(recent, chunked=True)
    # Same names and shapes: its header piece is the first file's, stored already.
    assert len(rehashed) == len(result.chunks) - 1, "each copy of a recent file hashed again"


def test_where_the_kernel_refuses_each_piece_is_read_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _model()
    source = _write(tmp_path / "model.safetensors", data)
    refused: list[int] = []

    def no_kernel_copy(*args: Any) -> int:
        refused.append(1)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", no_kernel_copy)
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(source, chunked=True)
    # Asked by each copying thread at most, not again for that file.
    assert 1 <= len(refused) <= _pieces._COPIERS < len(result.chunks) - 1
    assert result.chunks == _expected(data)
    at = 0
    for chunk in result.chunks:
        assert Path(store.path(Kind.BLOB, chunk.digest)).read_bytes() == data[at : at + chunk.size]
        at += chunk.size


def test_a_file_on_another_filesystem_takes_the_userspace_path(
    tmp_path: Path, other_filesystem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = init_store(str(tmp_path / "store"))

    def no_kernel_path(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the kernel path was taken across filesystems")

    monkeypatch.setattr(_pieces, "stage_pieces", no_kernel_path)
    data = _model()
    result = store.put_file(_write(other_filesystem / "model.safetensors", data), chunked=True)
    assert result.chunks == _expected(data)
    assert all(store.verify(Kind.BLOB, c.digest) == c.digest for c in result.chunks)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_each_copied_piece_is_sent_to_disk_once_and_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copiers hand each finished piece to the put's writeback thread, which starts its
    # writeback and closes it: every piece once, no descriptor left open.
    data = _model()
    source = _write(tmp_path / "model.safetensors", data)
    store = init_store(str(tmp_path / "store"))
    started: list[tuple[int, int, str]] = []
    real = _atomic._start_writeback

    def spy(fd: int, offset: int, length: int) -> None:
        started.append((offset, length, threading.current_thread().name))
        if threading.current_thread().name == "artstore-writeback":
            time.sleep(0.02)  # behind the copies: descriptors are still open unless joined
        real(fd, offset, length)

    monkeypatch.setattr(_atomic, "_start_writeback", spy)
    before = _open_descriptors()
    result = store.put_file(source, chunked=True)
    assert _open_descriptors() == before
    header, *pieces = result.chunks
    assert started[0][:2] == (0, header.size), "the header piece, written by the put itself"
    assert sorted(n for _, n, _ in started[1:]) == sorted(c.size for c in pieces)
    assert {name for _, _, name in started[1:]} == {"artstore-writeback"}


def test_a_put_that_fails_while_copying_leaves_nothing_open_or_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write(tmp_path / "model.safetensors", _model())
    store = init_store(str(tmp_path / "store"))
    real = os.copy_file_range
    calls: list[int] = []

    def failing(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")
        return real(*args)

    monkeypatch.setattr(os, "copy_file_range", failing)
    before = _open_descriptors()
    with pytest.raises(OSError, match="Input/output error"):
        store.put_file(source, chunked=True)
    assert _open_descriptors() == before
    assert list(store.iter_digests(Kind.BLOB)) == [], "nothing placed"
    assert _staged_files(store) == []
    assert not any(t.name == "artstore-writeback" for t in threading.enumerate())


def test_copiers_wait_for_the_writeback_when_it_falls_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One file may wait for its writeback: the copiers wait instead of holding a descriptor
    # per piece; the put still stores every piece.
    monkeypatch.setattr(_pieces, "_WRITEBACK_WAITING", 1)
    real, real_add = _atomic._start_writeback, _pieces.Writeback.add
    waiting: list[int] = []

    def slow(fd: int, offset: int, length: int) -> None:
        if threading.current_thread().name == "artstore-writeback":
            time.sleep(0.05)  # the disk falls behind
        real(fd, offset, length)

    def add(self: _pieces.Writeback, fd: int, length: int) -> None:
        real_add(self, fd, length)
        waiting.append(self._files.qsize())

    monkeypatch.setattr(_atomic, "_start_writeback", slow)
    monkeypatch.setattr(_pieces.Writeback, "add", add)
    data = _model()
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(_write(tmp_path / "model.safetensors", data), chunked=True)
    assert result.chunks == _expected(data)
    assert len(waiting) == len(result.chunks) - 1, "every piece but the header handed over"
    assert max(waiting) <= 1
    at = 0
    for chunk in result.chunks:
        assert Path(store.path(Kind.BLOB, chunk.digest)).read_bytes() == data[at : at + chunk.size]
        at += chunk.size


def _put_within(store: BlobStore, source: Path, seconds: float) -> BaseException | None:
    """Put ``source`` chunked on a thread; the error it raised (None: it returned)."""
    outcome: list[BaseException | None] = []

    def put() -> None:
        try:
            store.put_file(source, chunked=True)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the put still runs after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("when", ["starting its writeback", "closing it"])
def test_a_writeback_error_fails_the_put_with_nothing_placed_or_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    # Closing reports write errors on NFS, CIFS and FUSE: the error reaches the put, which
    # places nothing, instead of ending the writeback thread while copiers wait for it.
    monkeypatch.setattr(_pieces, "_WRITEBACK_WAITING", 1)
    on_writeback = {"artstore-writeback"}
    if when == "starting its writeback":
        real_start = _atomic._start_writeback

        def failing(fd: int, offset: int, length: int) -> None:
            if threading.current_thread().name in on_writeback:
                raise OSError(errno.EIO, "Input/output error")
            real_start(fd, offset, length)

        monkeypatch.setattr(_atomic, "_start_writeback", failing)
    else:
        real_close = os.close

        def close(fd: int) -> None:
            real_close(fd)
            if threading.current_thread().name in on_writeback:
                raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "close", close)
    source = _write(tmp_path / "model.safetensors", _model())
    store = init_store(str(tmp_path / "store"))
    before = _open_descriptors()
    error = _put_within(store, source, 30)
    monkeypatch.undo()
    assert isinstance(error, OSError) and error.errno == errno.EIO, error
    assert _open_descriptors() == before
    assert list(store.iter_digests(Kind.BLOB)) == [], "nothing placed"
    assert _staged_files(store) == []


def test_a_put_with_no_piece_to_copy_starts_no_writeback_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []
    real = _pieces.Writeback._run

    def run(self: _pieces.Writeback) -> None:
        runs.append(1)
        real(self)

    monkeypatch.setattr(_pieces.Writeback, "_run", run)
    store = init_store(str(tmp_path / "store"))
    store.put_file(_write(tmp_path / "small.bin", b"small"), chunked=True)
    store.put_file(_write(tmp_path / "model.safetensors", _model()), chunked=False)
    assert runs == []
    store.put_file(_write(tmp_path / "model.safetensors", _model(1)), chunked=True)
    assert runs == [1]
