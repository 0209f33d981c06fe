"""A file stored in pieces restored on a local root: the kernel copies each piece's blob into
the staging file while a second thread checks each stretch of that copy as soon as it is
copied, so what is checked is the file's own bytes; nothing reaches the destination unless
every piece and the whole matched, and the checking thread ends however the copy ends."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from artstore.errors import ChunkListError, CorruptBlobError, MissingBlobError
from artstore.storage import BlobStore, Chunk, Kind, _atomic, hash_bytes, init_store, reassembly
from tests.storage.test_piece_copy import _model, _write


@pytest.fixture
def stored(tmp_path: Path) -> tuple[BlobStore, bytes, Any]:
    data = _model()
    store = init_store(str(tmp_path / "store"))
    result = store.put_file(_write(tmp_path / "model.safetensors", data), chunked=True)
    assert len(result.chunks) > 3
    return store, data, result


def _checkers() -> int:
    return sum(t.name.startswith("artstore-check") for t in threading.enumerate())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _refused(store: BlobStore, result: Any, digest: Any, dest: Path, error: type) -> Any:
    """Restore ``result``'s pieces as a file of ``digest``: ``error`` is raised, nothing is
    left beside ``dest`` and the checking thread has ended."""
    with pytest.raises(error) as caught:
        store.get_chunks(result.chunks, digest, result.size, dest)
    assert _leftovers(dest.parent) == [], "nothing written, no staging file left"
    assert _checkers() == 0
    return caught.value


def _on_copy(
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    then: Callable[[BinaryIO, BinaryIO], object],
    *,
    instead: bool = False,
) -> None:
    """Copy pieces as a restore does, except that the ``n``-th copy (from 1) is followed by
    ``then(blob, copy)``, or replaced by it ``instead``."""
    real = _atomic.append_copy
    copies: list[int] = []

    def copy(source: BinaryIO, target: BinaryIO, buffer: bytearray, callback: Any) -> None:
        copies.append(1)
        if not (instead and len(copies) == n):
            real(source, target, buffer, callback)
        if len(copies) == n:
            then(source, target)

    monkeypatch.setattr(_atomic, "append_copy", copy)


def test_a_file_in_pieces_restores_byte_identical(stored: Any, tmp_path: Path) -> None:
    store, data, result = stored
    dest = tmp_path / "out" / "model.safetensors"
    store.get_chunks(result.chunks, result.digest, result.size, dest)
    assert dest.read_bytes() == data
    assert _leftovers(dest.parent) == ["model.safetensors"]
    assert _checkers() == 0


def test_the_check_reads_the_copy_not_the_blobs(
    stored: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second piece's copy gets other bytes of the same length: the blobs are intact, so
    # only a check of the copy itself can see it.
    store, _, result = stored

    def zeros(source: BinaryIO, target: BinaryIO) -> None:
        target.write(b"\x00" * os.fstat(source.fileno()).st_size)

    _on_copy(monkeypatch, 2, zeros, instead=True)
    error = _refused(store, result, result.digest, tmp_path / "out" / "m", CorruptBlobError)
    assert error.chunk == 1 and error.count == len(result.chunks)
    assert all(store.verify(Kind.BLOB, c.digest) == c.digest for c in result.chunks)


def test_a_missing_piece_stops_the_copy_and_the_check(stored: Any, tmp_path: Path) -> None:
    store, _, result = stored
    os.unlink(store.path(Kind.BLOB, result.chunks[2].digest))
    error = _refused(store, result, result.digest, tmp_path / "out" / "m", MissingBlobError)
    assert error.chunk == 2


def test_a_bad_piece_stops_the_copy_before_the_last_piece(
    stored: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The header piece's blob holds other bytes of its size: the check fails on piece 1 and
    # the copy stops without copying the rest (it waits here until the check has failed).
    store, _, result = stored
    header = Path(store.path(Kind.BLOB, result.chunks[0].digest))
    header.chmod(0o644)
    header.write_bytes(b"\x01" * result.chunks[0].size)
    real, real_end = _atomic.append_copy, reassembly.ChunkedReader._end_piece
    copies: list[int] = []
    failed = threading.Event()

    def end_piece(self: Any) -> None:
        try:
            real_end(self)
        except CorruptBlobError:
            failed.set()
            raise

    def copy(source: BinaryIO, target: BinaryIO, buffer: bytearray, callback: Any) -> None:
        copies.append(1)
        if len(copies) == 2:  # the check of piece 1 ends meanwhile
            assert failed.wait(10)
        real(source, target, buffer, callback)

    monkeypatch.setattr(reassembly.ChunkedReader, "_end_piece", end_piece)
    monkeypatch.setattr(_atomic, "append_copy", copy)
    error = _refused(store, result, result.digest, tmp_path / "out" / "m", CorruptBlobError)
    assert error.chunk == 0
    assert len(copies) == 2, "no piece copied after the check failed"


@pytest.mark.parametrize("which", ["last", "middle"])
def test_a_blob_longer_than_its_piece_is_refused(
    stored: Any, tmp_path: Path, which: str
) -> None:
    # The check reads each piece's stretch of the copy only: bytes a blob holds beyond its
    # piece would have ended up in the file (the last blob's) unchecked.
    store, _, result = stored
    index = len(result.chunks) - 1 if which == "last" else 2
    blob = Path(store.path(Kind.BLOB, result.chunks[index].digest))
    blob.chmod(0o644)
    with open(blob, "ab") as f:
        f.write(b"GARBAGE")
    error = _refused(store, result, result.digest, tmp_path / "out" / "m", CorruptBlobError)
    assert type(error) is CorruptBlobError
    assert (error.chunk, error.count) == (index, len(result.chunks))
    assert error.actual == hash_bytes(blob.read_bytes()).hex


def test_a_copy_longer_than_the_file_is_refused(
    stored: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blob that grows after its size was looked at: every stretch checks, the file does not.
    store, data, result = stored
    _on_copy(monkeypatch, len(result.chunks), lambda _, target: target.write(b"GARBAGE"))
    error = _refused(store, result, result.digest, tmp_path / "out" / "m", ChunkListError)
    assert error.size == len(data) + len(b"GARBAGE")
    assert error.actual == hash_bytes(data + b"GARBAGE").hex


def test_the_check_starts_its_thread_when_entered(stored: Any, tmp_path: Path) -> None:
    _, _, result = stored
    with open(tmp_path / "copy", "w+b") as f:
        check = reassembly.CopyCheck(f.fileno(), result.chunks, result.digest, result.size, "x")
        assert _checkers() == 0
        with check:
            assert _checkers() == 1
        assert _checkers() == 0


def test_pieces_that_do_not_make_the_file_are_refused(stored: Any, tmp_path: Path) -> None:
    store, data, result = stored
    wrong = hash_bytes(data + b"!")
    _refused(store, result, wrong, tmp_path / "out" / "m", ChunkListError)


def test_where_the_kernel_cannot_copy_pieces_are_read_and_written(
    stored: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, data, result = stored

    def refused(*args: Any) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "copy_file_range", refused)
    dest = tmp_path / "out" / "model.safetensors"
    store.get_chunks(result.chunks, result.digest, result.size, dest)
    assert dest.read_bytes() == data


def test_a_repeated_piece_restores_each_time_it_appears(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "store"))
    block = os.urandom(3000)
    digest = store.put_bytes(Kind.BLOB, block).digest
    chunks = (Chunk(digest, len(block)),) * 3
    dest = tmp_path / "out" / "tied.bin"
    store.get_chunks(chunks, hash_bytes(block * 3), len(block) * 3, dest)
    assert dest.read_bytes() == block * 3
