"""A user's local files, read for a put: each must be a regular file, still inside the folder
it was added from (links resolved when it is read, not only when it was listed), and the same
file with the same size and mtime from before its first byte is read to after its last."""

from __future__ import annotations

import errno
import io
import os
import stat
import time
from dataclasses import dataclass
from types import TracebackType

from artstore.errors import FileAccessError, NotFoundError, SourceChangedError, UnsafePathError
from artstore.storage.chunks import Chunk
from artstore.storage.digest import Digest
from artstore.storage.statcache import RACY_WINDOW_NS, AnyStatKey

__all__ = [
    "LocalFile",
    "Source",
    "access_error",
    "changes",
    "file_kind",
    "open_source",
    "stat_sources",
]


@dataclass(frozen=True, slots=True)
class LocalFile:
    """One local file to put.

    Attributes:
        path: where it is.
        seen: its stat key (dev, ino, size, mtime_ns) when it was listed, if known: the file
            opened must still have exactly that stat, before and after it is read.
        digest: its digest when known (from the stat cache): an intact blob spares the read.
        within: the folder it was added from, or None for a file added on its own: read
            through a link, it must still lead inside that folder.
        chunks: the pieces a large file with that digest is stored in, when known (from
            the stat cache): all intact, they spare the read too.
    """

    path: str
    seen: AnyStatKey | None = None
    digest: Digest | None = None
    within: str | None = None
    chunks: tuple[Chunk, ...] | None = None


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words (``a FIFO (named pipe)``)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(mode: int) -> str:
    return f"it is {file_kind(mode)}, not a regular file; leave it out"


def access_error(path: str, exc: OSError) -> NotFoundError | FileAccessError:
    """The error to raise when the operating system refuses ``path``."""
    if exc.errno == errno.ENOENT:
        return NotFoundError(f"{path} no longer exists (it was removed after it was added)")
    if exc.errno == errno.ELOOP:
        return FileAccessError(path, "it is a loop of symbolic links; remove or exclude it")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FileAccessError(path, "permission denied; make it readable or exclude it")
    return FileAccessError(path, exc.strerror or str(exc))


def _outside(path: str, within: str) -> UnsafePathError | None:
    """An error if ``path``, links resolved, no longer lies inside the folder ``within``."""
    target = os.path.realpath(path)
    if target == within or target.startswith(within.rstrip("/") + "/"):
        return None
    return UnsafePathError(path, f"it is now a link to {target}, outside {within}")


def stat_sources(files: list[tuple[str, str | None]]) -> list[os.stat_result]:
    """The stat of each (path, folder it was added from or None), checked for a put.

    A path from a folder must still lie inside it: each folder on the way is checked once
    (a link among them must lead inside), and a file that is now a link must lead inside too.

    Raises:
        NotFoundError: a file no longer exists.
        FileAccessError: a file cannot be read, is a loop of links, or is not a regular file.
        UnsafePathError: a file or a folder on its way is now a link leading outside.
    """
    # The folders first, each once: a folder that became a link outside is named as such.
    checked: set[str] = set()
    folders = {(path.rpartition("/")[0], within) for path, within in files if within is not None}
    for folder, within in folders:
        if folder not in checked:
            try:
                _check_folders(folder, within, checked)
            except OSError as exc:
                raise access_error(folder, exc) from None
    # Then one lstat per file in a tight loop (this is the whole cost of re-logging an
    # unchanged folder); the rare files that are not regular are looked at afterwards.
    lstat = os.lstat
    try:
        stats = [lstat(path) for path, _ in files]
    except OSError:
        stats = [_stat_one(path, within) for path, within in files]  # raises, naming it
    for i, st in enumerate(stats):
        if not stat.S_ISREG(st.st_mode):
            stats[i] = _stat_one(*files[i])
    return stats


def _stat_one(path: str, within: str | None) -> os.stat_result:
    # A file that is not regular: a link must lead inside ``within`` to a regular file.
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            if within is not None and (error := _outside(path, within)):
                raise error
            st = os.stat(path)
    except OSError as exc:
        raise access_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise FileAccessError(path, _not_regular(st.st_mode))
    return st


def _check_folders(folder: str, within: str, checked: set[str]) -> None:
    # From the file's folder up to ``within``: each must be a real folder or a link leading
    # inside ``within``, and ``within`` itself must not have become a link.
    while folder not in checked:
        checked.add(folder)
        if os.path.islink(folder):
            if folder == within:
                target = os.path.realpath(folder)
                raise UnsafePathError(folder, f"the folder added is now a link to {target}")
            if error := _outside(folder, within):
                raise error
        if len(folder) <= len(within):
            return
        folder = os.path.dirname(folder)


class Source:
    """A local file open for a put, with the stat it had when it was opened.

    Use it as a context manager; :meth:`check` after reading proves the bytes read were one
    state of the file.
    """

    def __init__(self, fd: int, path: str, key: AnyStatKey) -> None:
        self.path = path
        self.key = key
        self.file = io.FileIO(fd, "rb", closefd=True)

    @property
    def size(self) -> int:
        """The size the file had when it was opened."""
        return self.key[2]

    @property
    def recent(self) -> bool:
        """Whether the file was modified so recently when opened that a write within the same
        clock tick may leave its stat unchanged (the stat cache's racy window)."""
        return self.key[3] >= time.time_ns() - RACY_WINDOW_NS

    def unchanged(self, read: int | None = None) -> bool:
        """Whether the file still has the stat it had when opened (and ``read`` is its size)."""
        return self._now() == self.key and (read is None or read == self.key[2])

    def check(self, read: int) -> None:
        """Make sure the file did not change since it was opened and ``read`` bytes were all
        of it.

        Raises:
            SourceChangedError: it did.
        """
        now = self._now()
        if now != self.key or read != self.key[2]:
            raise SourceChangedError(self.path, changes(self.key, now, read))

    def _now(self) -> AnyStatKey:
        st = os.fstat(self.file.fileno())
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def close(self) -> None:
        """Close the file."""
        self.file.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def changes(before: AnyStatKey, after: AnyStatKey, read: int | None = None) -> str:
    """What changed between two stat keys of a file, in words."""
    if before[:2] != after[:2]:
        return "it was replaced by another file"
    if before[2] != after[2]:
        return f"its size went from {before[2]} to {after[2]} bytes"
    if before[3] != after[3]:
        return "it was modified"
    return f"{read} bytes were read of its {before[2]}"


def open_source(file: LocalFile) -> Source:
    """Open a local file for a put.

    Raises:
        NotFoundError: it no longer exists.
        FileAccessError: it cannot be read, or is not a regular file.
        UnsafePathError: it is now a link leading outside the folder it was added from.
        SourceChangedError: it is no longer the file that was listed (``file.seen``).
    """
    try:
        # Non-blocking: opening a FIFO that replaced the file must not wait for a writer.
        fd = os.open(file.path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise access_error(file.path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileAccessError(file.path, _not_regular(st.st_mode))
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if file.seen is not None and key != tuple(file.seen):
            # The file listed was checked to lie inside its folder; this one may not.
            if file.within is not None and (error := _outside(file.path, file.within)):
                raise error
            raise SourceChangedError(file.path, changes(file.seen, key))
        if file.seen is None and file.within is not None:
            _check_inside(file.path, file.within, st)
    except BaseException:
        os.close(fd)
        raise
    return Source(fd, file.path, key)


def _check_inside(path: str, within: str, st: os.stat_result) -> None:
    # Resolved after the open, the path must lead inside the folder to the very file opened:
    # a link swapped between the open and this check names another file, and is refused.
    if error := _outside(path, within):
        raise error
    target = os.stat(os.path.realpath(path))
    if (target.st_dev, target.st_ino) != (st.st_dev, st.st_ino):
        raise SourceChangedError(path, "it was replaced by another file")
