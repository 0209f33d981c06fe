"""Atomic placement and one-shot durability for objects on the local disk."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from fsspec.callbacks import Callback

from artstore.storage.digest import CHUNK_SIZE, Digest, Hasher, hash_stream

__all__ = [
    "copy_and_hash",
    "copy_hashing",
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


def write_staged(folder: Path, data: bytes) -> Path:
    """Write ``data`` to a new read-only staging file in ``folder``."""
    staged = partial_path(folder)
    fd = _create_read_only(staged)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return staged


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


# Bytes per copy_file_range call: progress is reported between calls.
_KERNEL_STEP = 64 * 1024 * 1024
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


def copy_and_hash(
    source: BinaryIO,
    target: BinaryIO,
    target_path: Path,
    buffer: bytearray,
    callback: Callback,
    *,
    source_path: Path | str | None = None,
) -> tuple[Digest, int]:
    """Copy ``source`` to ``target`` and return the digest and size of what ``target`` holds.

    Between two local files the kernel copies (``copy_file_range``: no trip through user
    memory, measured 10x faster than read/write here). Given ``source_path``, the source is
    hashed on a second thread meanwhile, and that digest stands only if the
    source's size and mtime did not change during the copy; otherwise, or without a path, the
    stored copy is hashed afterwards. Other files are copied and hashed in one pass.
    """
    if source_path is not None and _has_fileno(source) and _has_fileno(target):
        before = os.fstat(source.fileno())
        with ThreadPoolExecutor(1, thread_name_prefix="artstore-hash") as pool:
            hashing = pool.submit(_hash_file, source_path)
            copied = _kernel_copy(source, target, callback)
            digest, size = hashing.result()
        if copied:
            after = os.stat(source_path)
            if size == after.st_size and (before.st_size, before.st_mtime_ns) == (
                after.st_size,
                after.st_mtime_ns,
            ):
                return digest, size
            with open(target_path, "rb", buffering=0) as stored:
                return hash_stream(stored, buffer)
    elif _kernel_copy(source, target, callback):
        with open(target_path, "rb", buffering=0) as stored:
            return hash_stream(stored, buffer)
    return copy_hashing(source, target, buffer, callback)


def _has_fileno(stream: BinaryIO) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _hash_file(path: Path | str) -> tuple[Digest, int]:
    # Plain reads, not a mapping: a user's file truncated while it is read must give a short
    # read (caught by the stat check), never SIGBUS.
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f, bytearray(CHUNK_SIZE))


def _kernel_copy(source: BinaryIO, target: BinaryIO, callback: Callback) -> bool:
    copy = getattr(os, "copy_file_range", None)
    try:
        src, dst = source.fileno(), target.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if copy is None:
        return False
    copied = 0
    while True:
        try:
            n = copy(src, dst, _KERNEL_STEP)
        except OSError as exc:
            if copied == 0 and exc.errno in _NO_KERNEL_COPY:
                return False
            raise
        if n == 0:
            return True
        _start_writeback(dst, copied, n)
        copied += n
        callback.relative_update(n)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    # Starts writing a copied step to disk while the next one is copied, so the one syncfs at
    # the end of a put finds little left to write (a 1 GiB put measured 0.3 s faster). It does
    # not wait and promises nothing: durability still comes from that syncfs.
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def place(staged: Path, final: Path) -> bool:
    """Move a fully written (read-only) staging file to its content-named place.

    Returns False (and removes the staging file) when the object already exists: the same name
    means the same bytes, so the first copy stands.
    """
    if final.exists():
        staged.unlink()
        return False
    try:
        os.replace(staged, final)
    except FileNotFoundError:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
    return True


def sync_filesystem(path: Path) -> None:
    """Flush everything written to the filesystem holding ``path`` to stable storage.

    One ``syncfs`` replaces an fsync per file: after many small writes it is far cheaper, and it
    also persists the renames that placed them.
    """
    if _syncfs is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    os.sync()
