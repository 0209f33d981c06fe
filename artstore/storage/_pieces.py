"""Staging a file's pieces on a local root: hashed ahead on a thread, copied by the kernel into
a staging file each, and handed to one writeback thread that sends them to disk (decisions 120
and 127)."""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, NamedTuple

from fsspec.callbacks import Callback

from artstore.storage import _atomic
from artstore.storage.chunker import Layout
from artstore.storage.chunks import Chunk
from artstore.storage.digest import CHUNK_SIZE, Digest, Hasher, hash_bytes

__all__ = ["StagedPieces", "Writeback", "stage_pieces"]


class StagedPieces(NamedTuple):
    """What :func:`stage_pieces` did."""

    digest: Digest  # of the bytes hashed, the whole file
    size: int  # bytes hashed
    chunks: tuple[Chunk, ...]  # the pieces hashed, in order
    copies: dict[Digest, Path]  # the staging file of each piece copied


# Pieces hashed ahead of the copy at most: the copy still finds them in the page cache.
_HASH_AHEAD = 8
# Threads copying pieces (each copy makes a file: two overlap creating one with copying into
# another), and pieces waiting for them at most.
_COPIERS = 2
_COPIES_WAITING = 4


def stage_pieces(
    source: BinaryIO,
    header: bytes,
    layout: Layout,
    folder: Path,
    needed: Callable[[Digest, int], bool],
    callback: Callback,
    writeback: Writeback,
) -> StagedPieces:
    """Stage the pieces of a file whose cuts are known before it is read: ``header`` (its
    first bytes, already read: the first piece) then ``layout`` ((offset, length, tensor) of
    each further piece, tiling the rest of the file).

    A second thread reads ahead by offset and hashes each piece and the whole file in one
    pass; each piece whose digest is ``needed`` (asked once per piece not copied already; True
    means it is copied now) is copied by the kernel from the source's offset into a staging
    file of its own in ``folder``, one memory copy as for a file stored whole (see
    :func:`._atomic.copy_source`), and handed to ``writeback`` to be sent to disk as the copy
    goes on. Pieces stored already are not copied.
    Where the kernel refuses to copy, a piece is read and written instead.

    The digests name the bytes read only if the source did not change meanwhile, and the
    copies hold those bytes only then: the caller checks its stat after this returns and, for
    a source modified within the racy window, the copies' bytes.
    """
    header_digest = hash_bytes(header)
    ahead = _HashAhead(source.fileno(), header, layout)
    copies: dict[Digest, Path] = {}
    chunks = [Chunk(header_digest, len(header))]
    # One random name per file, numbered per piece: a put's staging folder is its own, and a
    # random name per piece cost a read of the kernel's random source each (30 ms a GiB).
    stem = "." + uuid.uuid4().hex
    try:
        with ThreadPoolExecutor(1 + _COPIERS, thread_name_prefix="artstore-piece") as pool:
            hashing = pool.submit(ahead.run)
            pending: list[Future[None]] = []
            try:
                if needed(header_digest, len(header)):
                    copies[header_digest] = staged = folder / f"{stem}-0.partial"
                    _atomic._write_new(staged, header, writeback=True)
                callback.relative_update(len(header))
                copier = _RangeCopier(source.fileno(), writeback)
                for index, ((offset, length, tensor), digest) in enumerate(
                    zip(layout, ahead, strict=False), 1
                ):
                    chunks.append(Chunk(digest, length, tensor))
                    if digest not in copies and needed(digest, length):
                        copies[digest] = staged = folder / f"{stem}-{index}.partial"
                        while len(pending) >= _COPIES_WAITING:
                            pending.pop(0).result()
                        pending.append(pool.submit(copier.copy, staged, offset, length))
                    callback.relative_update(length)
                for future in pending:
                    future.result()
            finally:
                ahead.stop()
                for future in pending:
                    future.cancel()
            digest, size = hashing.result()
    except BaseException:
        for path in copies.values():
            path.unlink(missing_ok=True)
        raise
    return StagedPieces(digest, size, tuple(chunks), copies)


class _HashAhead:
    """Reads a file's pieces by offset on a thread of its own and hashes each and the whole
    file; iterating gives each piece's digest in order, until the pieces or the file end."""

    _END = None

    def __init__(self, fd: int, header: bytes, layout: Layout) -> None:
        self._fd = fd
        self._header = header
        self._layout = layout
        self._digests: queue.Queue[Digest | None] = queue.Queue(_HASH_AHEAD)
        self._stopped = threading.Event()

    def run(self) -> tuple[Digest, int]:
        whole = Hasher()
        whole.update(self._header)
        try:
            largest = max((length for _, length, _ in self._layout), default=0)
            buffer = memoryview(bytearray(min(largest, CHUNK_SIZE)))
            for offset, length, _ in self._layout:
                piece = Hasher()
                for data in _atomic._pread(self._fd, buffer, offset, length):
                    piece.update(data)
                    whole.update(data)
                if piece.size < length:
                    return whole.digest(), whole.size  # the file shrank: the stat check refuses it
                if not self._put(piece.digest()):
                    break
            return whole.digest(), whole.size
        finally:
            self._put(self._END)

    def _put(self, item: Digest | None) -> bool:
        while not self._stopped.is_set():
            try:
                self._digests.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> _HashAhead:
        return self

    def __next__(self) -> Digest:
        item = self._digests.get()
        if item is None:
            raise StopIteration
        return item

    def stop(self) -> None:
        """Let the reading thread end early (the copy stopped)."""
        self._stopped.set()


# Files waiting for their writeback at most: each holds a descriptor open, and a put of many
# large files copies faster than the disk takes them (a 1 GiB model left about 30 waiting).
_WRITEBACK_WAITING = 64


class Writeback:
    """Starts the writeback of finished staging files on a thread of its own, in the order
    they finished, then closes them; one for a whole put, left (``with``) once every file it
    was handed is done. The thread starts with the first file handed over: a put that copies
    no piece starts none.

    Starting writeback blocks while the disk's queue is full: done by the threads copying the
    pieces of a 1 GiB model, it kept them off the processor for 0.4 s (measured), and the
    pieces of two copiers reached the disk interleaved. Nothing here waits for the disk:
    durability still comes from the one sync at the end of a put.

    Raises (leaving the ``with`` block, when nothing else was raised): the first error of
    starting a writeback or closing a file (NFS, CIFS and FUSE report write errors on close);
    every file handed over is closed either way.
    """

    def __init__(self) -> None:
        self._files: queue.Queue[tuple[int, int] | None] = queue.Queue(_WRITEBACK_WAITING)
        self._thread = threading.Thread(target=self._run, name="artstore-writeback")
        self._starting = threading.Lock()
        self._error: Exception | None = None

    def add(self, fd: int, length: int) -> None:
        """Hand over ``fd`` (closed here) of a file of ``length`` bytes just written; waits
        while :data:`_WRITEBACK_WAITING` files wait already."""
        with self._starting:
            if self._thread.ident is None:
                self._thread.start()
        self._files.put((fd, length))

    def __enter__(self) -> Writeback:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        with self._starting:
            if self._thread.ident is None:
                return
        self._files.put(None)
        self._thread.join()
        if self._error is not None and exc_type is None:
            raise self._error

    def _run(self) -> None:
        # Ends at None only: a copier waiting in add() would otherwise wait forever, and
        # every descriptor handed over is closed.
        while (item := self._files.get()) is not None:
            fd, length = item
            try:
                _atomic._start_writeback(fd, 0, length)
            except Exception as exc:
                self._error = self._error or exc
            try:
                os.close(fd)
            except OSError as exc:
                self._error = self._error or exc


class _RangeCopier:
    """Copies ranges of one open file into new staging files, by the kernel while it can."""

    def __init__(self, fd: int, writeback: Writeback) -> None:
        self._fd = fd
        self._kernel = hasattr(os, "copy_file_range")
        self._writeback = writeback

    def copy(self, staged: Path, offset: int, length: int) -> None:
        """Copy ``length`` bytes from ``offset`` (fewer if the file ends first) to a new
        read-only staging file ``staged``, then hand it to the writeback."""
        fd = _atomic._create_read_only(staged)
        try:
            done = self._kernel_copy(fd, offset, length) if self._kernel else None
            if done is None:
                done = self._user_copy(fd, offset, length)
        except BaseException:
            os.close(fd)
            staged.unlink(missing_ok=True)
            raise
        self._writeback.add(fd, done)

    def _kernel_copy(self, fd: int, offset: int, length: int) -> int | None:
        done = 0
        while done < length:
            try:
                n = os.copy_file_range(self._fd, fd, length - done, offset + done, done)
            except OSError as exc:
                if done == 0 and exc.errno in _atomic._NO_KERNEL_COPY:
                    self._kernel = False  # and for the rest of this file
                    return None
                raise
            if n == 0:
                break  # the file shrank: the caller's stat check refuses it
            done += n
        return done

    def _user_copy(self, fd: int, offset: int, length: int) -> int:
        buffer = memoryview(bytearray(min(length, CHUNK_SIZE)))
        done = 0
        for data in _atomic._pread(self._fd, buffer, offset, length):
            _atomic._write_all(fd, data)
            done += len(data)
        return done
