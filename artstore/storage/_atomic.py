"""Atomic placement and one-shot durability for objects on the local disk."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from fsspec.callbacks import Callback

from artstore.storage.digest import CHUNK_SIZE, Digest, Hasher, hash_stream

__all__ = [
    "Copy",
    "StagedWriter",
    "StagingArea",
    "copy_and_hash",
    "copy_hashing",
    "copy_source",
    "held",
    "open_staged",
    "partial_path",
    "place",
    "sync_filesystem",
    "write_staged",
]

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_syncfs = getattr(_libc, "syncfs", None)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


def partial_path(folder: Path) -> Path:
    """A fresh staging file name in ``folder`` (same device as the destination)."""
    return folder / f".{uuid.uuid4().hex}.partial"


def open_staged(folder: Path) -> tuple[Path, BinaryIO]:
    """A new read-only staging file in ``folder``, open for unbuffered writing."""
    staged = partial_path(folder)
    fd = _create_read_only(staged)
    return staged, os.fdopen(fd, "wb", buffering=0)


def _create_read_only(staged: Path) -> int:
    # Created read-only: the open descriptor may still write, and no chmod is needed later.
    try:
        return os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileNotFoundError:
        # tmp/ is not part of the format: a store copied by git (no empty folders) lacks it
        staged.parent.mkdir(parents=True, exist_ok=True)
        return os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)


def write_staged(folder: Path, data: bytes | memoryview) -> Path:
    """Write ``data`` to a new read-only staging file in ``folder``."""
    staged = partial_path(folder)
    _write_new(staged, data)
    return staged


def _write_new(staged: Path, data: bytes | memoryview, writeback: bool = False) -> None:
    fd = _create_read_only(staged)
    try:
        _write_all(fd, memoryview(data))
        if writeback:
            _start_writeback(fd, 0, len(data))
    finally:
        os.close(fd)


class StagedWriter:
    """Writes staging files on two threads of its own while the caller reads on: the pieces
    of a large file are cut and hashed (without the GIL) while the previous ones are written
    and sent to disk (one file per piece costs more than the cutting, and two writers creating
    files measured a little faster than one). At most ``depth`` pieces wait, so memory stays
    bounded. Leaving the ``with`` block waits for every write and raises the first error."""

    def __init__(self, folder: Path, depth: int = 4) -> None:
        self._folder = folder
        self._depth = depth
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="artstore-write")
        self._pending: list[Future[None]] = []

    def write(self, data: bytes | memoryview) -> Path:
        """Write a copy of ``data`` to a new staging file; return its path at once."""
        while len(self._pending) >= self._depth:
            self._pending.pop(0).result()
        staged = partial_path(self._folder)
        self._pending.append(self._pool.submit(_write_new, staged, bytes(data), True))
        return staged

    def __enter__(self) -> StagedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pool.shutdown(wait=True)


def copy_hashing(
    source: BinaryIO, target: BinaryIO, buffer: bytearray, callback: Callback
) -> tuple[Digest, int]:
    """Copy ``source`` to ``target`` in one pass, hashing the bytes on the way."""
    view = memoryview(buffer)
    hasher = Hasher()
    while n := source.readinto(view):  # type: ignore[attr-defined]
        chunk = view[:n]
        hasher.update(chunk)
        target.write(chunk)
        callback.relative_update(n)
    return hasher.digest(), hasher.size


# Bytes per copy_file_range call: progress is reported, and the digest looked at, between calls.
_KERNEL_STEP = 64 * 1024 * 1024
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}

# Called between two kernel copy steps with (offset, length) of the step just copied; False
# stops the copy.
_Step = Callable[[int, int], bool]


def append_copy(source: BinaryIO, target: BinaryIO, buffer: bytearray, callback: Callback) -> None:
    """Append ``source`` to ``target`` where it stands: by the kernel between two local files,
    else through ``buffer``."""
    if _kernel_copy(source, target, callback) is None:
        view = memoryview(buffer)
        while n := source.readinto(view):  # type: ignore[attr-defined]
            target.write(view[:n])
            callback.relative_update(n)


def copy_and_hash(
    source: BinaryIO, target: BinaryIO, target_path: Path, buffer: bytearray, callback: Callback
) -> tuple[Digest, int]:
    """Copy ``source`` to ``target``; return the digest and size of what ``target`` holds.

    Between two local files the kernel copies (``copy_file_range``: no trip through user
    memory, measured 10x faster than read/write here) and the copy is hashed afterwards; other
    files are copied and hashed in one pass.
    """
    if _kernel_copy(source, target, callback) is not None:
        with open(target_path, "rb", buffering=0) as stored:
            return hash_stream(stored, buffer)
    return copy_hashing(source, target, buffer, callback)


class Copy(NamedTuple):
    """What :func:`copy_source` did."""

    digest: Digest  # of the bytes hashed
    size: int  # bytes hashed
    copied: int  # bytes the target holds
    stopped: bool  # the copy stopped early: ``needed`` said no
    apart: bool  # the copy and the hash read the source separately


def copy_source(
    source: BinaryIO,
    target: BinaryIO,
    buffer: bytearray,
    callback: Callback,
    unchanged: Callable[[int], bool],
    needed: Callable[[Digest, int], bool],
) -> Copy:
    """Copy a user's file that is being put to ``target``.

    Between two files of one filesystem the kernel copies while a second thread hashes the
    same open file (by offset, so both read the one file that was opened). The digest is often
    known before the copy ends (hashing from the page cache outruns copying); then, if the
    source is still ``unchanged(size)``, ``needed(digest, size)`` is asked once, and False (an
    intact blob exists already) stops the copy. Across filesystems the kernel cannot copy:
    the bytes are copied and hashed in one pass. Each copied step is sent to disk as it goes
    (see :func:`_start_writeback`).

    The digest names the bytes read only if the source did not change meanwhile, and the two
    reads agree only then: the caller checks that after the copy (its stat, and for a source
    read ``apart`` and modified within the racy window, the target's bytes).
    """
    if _same_filesystem(source, target):
        with ThreadPoolExecutor(1, thread_name_prefix="artstore-hash") as pool:
            hashing = pool.submit(_hash_fd, source.fileno())
            gate = _Gate(target.fileno(), hashing, unchanged, needed)
            copied = _kernel_copy(source, target, callback, gate.step)
            digest, size = hashing.result()
        if copied is not None:
            if gate.needed is False:
                callback.relative_update(size - copied)
                return Copy(digest, size, copied, stopped=True, apart=True)
            return Copy(digest, size, copied, stopped=False, apart=True)
    digest, size = copy_hashing(source, target, buffer, callback)
    return Copy(digest, size, size, stopped=False, apart=False)


class _Gate:
    """Between copy steps: starts the writeback of the step just copied, and once the source's
    digest is known (and still true of the source) asks once whether the copy is needed,
    stopping it if not."""

    def __init__(
        self,
        fd: int,
        hashing: Future[tuple[Digest, int]],
        unchanged: Callable[[int], bool],
        needed: Callable[[Digest, int], bool],
    ) -> None:
        self._fd = fd
        self._hashing = hashing
        self._unchanged = unchanged
        self._ask = needed
        self.needed: bool | None = None  # not asked yet

    def step(self, offset: int, length: int) -> bool:
        if self.needed is None and self._hashing.done():
            if self._hashing.exception() is not None:
                self.needed = True  # the error surfaces from the future after the copy
            else:
                digest, size = self._hashing.result()
                # A source changed since it was hashed proves nothing: keep copying.
                self.needed = not self._unchanged(size) or self._ask(digest, size)
        if self.needed is not False:
            _start_writeback(self._fd, offset, length)
        return self.needed is not False


def _same_filesystem(source: BinaryIO, target: BinaryIO) -> bool:
    # Across filesystems the kernel refuses to copy (EXDEV): such files are hashed in the one
    # read/write pass instead, not also on a side thread whose digest would be thrown away.
    try:
        return os.fstat(source.fileno()).st_dev == os.fstat(target.fileno()).st_dev
    except (AttributeError, OSError, ValueError):
        return False


def _hash_fd(fd: int) -> tuple[Digest, int]:
    hasher = Hasher()
    for data in _pread(fd, memoryview(bytearray(CHUNK_SIZE)), 0):
        hasher.update(data)
    return hasher.digest(), hasher.size


def _pread(
    fd: int, buffer: memoryview, offset: int, length: int | None = None
) -> Iterator[memoryview]:
    """The bytes of ``fd`` from ``offset`` on, ``length`` of them (all, if None; fewer if the
    file ends first), read into ``buffer`` a buffer at a time, each valid until the next.

    Plain reads by offset, not a mapping: a user's file truncated while it is read must give a
    short read (caught by the caller's stat check), never SIGBUS; and the descriptor's own
    offset, which a kernel copy may be advancing, is left alone.
    """
    done = 0
    while length is None or done < length:
        want = len(buffer) if length is None else min(len(buffer), length - done)
        n = os.preadv(fd, [buffer[:want]], offset + done)
        if not n:
            return
        yield buffer[:n]
        done += n


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _kernel_copy(
    source: BinaryIO, target: BinaryIO, callback: Callback, step: _Step | None = None
) -> int | None:
    """Copy by ``copy_file_range``; return the bytes copied (fewer if ``step`` stopped it), or
    None when the kernel cannot copy between these two files."""
    copy = getattr(os, "copy_file_range", None)
    try:
        src, dst = source.fileno(), target.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    if copy is None:
        return None
    copied = 0
    while True:
        try:
            n: int = copy(src, dst, _KERNEL_STEP)
        except OSError as exc:
            if copied == 0 and exc.errno in _NO_KERNEL_COPY:
                return None
            raise
        if n == 0:
            return copied
        go_on = step is None or step(copied, n)
        copied += n
        callback.relative_update(n)
        if not go_on:
            return copied


def _start_writeback(fd: int, offset: int, length: int) -> None:
    # Starts writing copied bytes to disk while the next step is copied, so the one syncfs at
    # the end of a put finds little left to write (a 1 GiB put measured 0.3 s faster). It does
    # not wait and promises nothing: durability still comes from that syncfs. Waiting for the
    # digest before starting it was measured: the copy of a new 1 GiB model then ends before
    # the digest is known, and the put lost the whole gain.
    if _sync_file_range is not None and length > 0:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def place(staged: Path, final: Path, size: int | None = None) -> bool:
    """Move a fully written (read-only) staging file of ``size`` bytes to its content-named
    place.

    Returns False (and removes the staging file) when an object of that size is there already:
    the same name means the same bytes, so the first copy stands. One of another size is
    damaged, and the staging file replaces it.
    """
    if size is None:
        size = os.stat(staged).st_size
    try:
        intact = os.stat(final).st_size == size
    except FileNotFoundError:
        intact = False
    if intact:
        staged.unlink()
        return False
    try:
        os.replace(staged, final)
    except FileNotFoundError:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
    return True


class StagingArea:
    """A folder of its own under ``tmp/`` for the staging files of one put, locked while the
    put runs, so that debris removal (see :func:`held`) never takes a live put's files however
    old they are. On exit, whatever it still holds is removed with it.
    """

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / f"{uuid.uuid4().hex}.put"
        self._fd = -1

    def __enter__(self) -> Path:
        try:
            self.path.mkdir()
        except FileNotFoundError:
            # tmp/ is not part of the format: a store copied by git (no empty folders) lacks it
            self.path.mkdir(parents=True)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self.path

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            os.close(self._fd)


def held(folder: Path) -> bool:
    """Whether a running put holds the staging folder ``folder`` (see :class:`StagingArea`)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def sync_filesystem(path: Path) -> None:
    """Flush everything written to the filesystem holding ``path`` to stable storage.

    One ``syncfs`` replaces an fsync per file: after many small writes it is far cheaper, and it
    also persists the renames that placed them. Only where the kernel has no ``syncfs`` does
    ``sync`` (every filesystem, no error reported) stand in for it.

    Raises:
        OSError: the filesystem reported that written data may not have reached the disk
            (``EIO``, ``ENOSPC``, ...); ``filename`` is ``path``.
    """
    if _syncfs is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _syncfs(fd) == 0:
                return
            err = ctypes.get_errno()
        finally:
            os.close(fd)
        if err != errno.ENOSYS:
            raise OSError(err, os.strerror(err), str(path))
    os.sync()
