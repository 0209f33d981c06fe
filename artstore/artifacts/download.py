"""Materialising a version's files on the local disk, each verified against its digest.

Every destination is checked before the first byte is written: inside the download folder,
outside the store's own folder, never over the live catalog, and writable as a file of that
name (no folder or file in the way, no dangling link, not too long for the system).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from artstore.artifacts.manifest import FileEntry
from artstore.errors import (
    CorruptBlobError,
    FileAccessError,
    MissingBlobError,
    NotFoundError,
    UnsafePathError,
)
from artstore.storage import DEBRIS_GRACE, DEFAULT_CALLBACK, BlobStore, Callback, hash_file

__all__ = ["KeepOut", "fetch", "materialize", "sqlite_files"]

# The staging names BlobStore.get_file and get_chunks give files beside their destination.
_PARTIAL = re.compile(r"\.[0-9a-f]{32}\.partial")
_SQLITE_URL = re.compile(r"sqlite(?:\+\w+)?:///(?:file:)?([^?]*)(?:\?.*)?", re.DOTALL)


def sqlite_files(catalog_url: str) -> tuple[Path, ...]:
    """The files of the SQLite database a catalog URL names (the database, its write-ahead
    log, shared memory and rollback journal); none for other databases or ``:memory:``."""
    match = _SQLITE_URL.fullmatch(catalog_url)
    if match is None or match.group(1) in ("", ":memory:"):
        return ()
    database = Path(match.group(1)).resolve()
    return tuple(database.with_name(database.name + s) for s in ("", "-wal", "-shm", "-journal"))


@dataclass(frozen=True, slots=True)
class KeepOut:
    """Local places no download may write: the store's own folder and its catalog's files."""

    store: Path | None = None
    catalog: tuple[Path, ...] = ()

    @classmethod
    def of(cls, store_root: Path | None, catalog_url: str | None = None) -> KeepOut:
        """The places of a store whose root is ``store_root`` (None: not on the local disk)."""
        return cls(
            store=None if store_root is None else store_root.resolve(),
            catalog=sqlite_files(catalog_url) if catalog_url else (),
        )

    def check(self, target: Path, shown: Path) -> None:
        """Refuse ``target`` (a resolved path) if it is one of these places.

        Raises:
            FileAccessError: it is the store's folder, inside it, or a catalog file.
        """
        if target in self.catalog:
            raise FileAccessError(
                str(shown),
                f"it is the store's live catalog database {target}; download somewhere else",
            )
        if self.store is not None and target.is_relative_to(self.store):
            raise FileAccessError(
                str(shown),
                f"it is inside the store's own folder {self.store}; download somewhere else",
            )


def materialize(
    blobs: BlobStore,
    entries: Iterable[FileEntry],
    root: Path,
    *,
    label: str,
    keep_out: KeepOut = KeepOut(),
    callback: Callback = DEFAULT_CALLBACK,
) -> Path:
    """Write ``entries`` under ``root``; files already there with the right content are kept.

    Every destination is checked before anything is written. Each file is then written to a
    staging name beside its destination and renamed only once its digest matches, so no file
    under ``root`` ever holds unverified bytes. Staging files of interrupted downloads older
    than ``DEBRIS_GRACE`` in the folders written to are removed.

    Raises:
        UnsafePathError: a destination would fall outside ``root`` (through a link in ``root``).
        FileAccessError: ``root`` or a destination cannot be written (a file or folder in the
            way, a dangling link, no permission, a path too long), or it lies in ``keep_out``.
        MissingBlobError: a blob, or a chunk of a chunked file, is missing (names ``label``,
            the path and the chunk).
        CorruptBlobError: stored bytes do not match their digest (names ``label``, the path
            and the chunk).
    """
    entries = list(entries)
    folders = _Plan(root, label, keep_out).check(entries)
    callback.set_size(sum(e.size for e in entries))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _access_error(root, exc) from None
    for folder in folders:
        _remove_stale_partials(folder)
    for entry in entries:
        dest = root / entry.path
        if _already_there(dest, entry):
            callback.relative_update(entry.size)
            continue
        try:
            fetch(blobs, entry, dest, callback)
            if entry.executable:
                os.chmod(dest, os.stat(dest).st_mode | 0o111)
        except (CorruptBlobError, MissingBlobError) as exc:
            raise exc.located(label, entry.path) from None
        except OSError as exc:
            raise _access_error(dest, exc) from None
    return root


def fetch(
    blobs: BlobStore, entry: FileEntry, dest: Path, callback: Callback = DEFAULT_CALLBACK
) -> None:
    """Write one file of a version to ``dest`` from its blobs (:meth:`FileEntry.blob_refs`),
    verified; ``dest`` never holds unverified bytes. Errors name the blob, not yet the file.

    Raises:
        MissingBlobError: its blob, or one of its chunks, is missing.
        CorruptBlobError: stored bytes do not match their digest.
    """
    if not entry.chunks:
        try:
            blobs.get_file(entry.digest, dest, callback=callback)
        except NotFoundError:
            raise MissingBlobError(entry.digest.hex, blobs.url) from None
        return
    blobs.get_chunks(entry.chunks, entry.digest, entry.size, dest, callback=callback)


class _Plan:
    """The checks of one download, with what they learnt about each folder on the way."""

    def __init__(self, root: Path, label: str, keep_out: KeepOut) -> None:
        self.root = root
        self.label = label
        self.keep_out = keep_out
        self.top = root.resolve()
        self.folders: dict[Path, bool] = {}  # folder -> exists (as a folder, maybe via a link)
        self.resolved: dict[Path, Path] = {}
        self.writable: set[Path] = set()
        self.limits = _limits(root)

    def check(self, entries: list[FileEntry]) -> list[Path]:
        """Check ``root`` and every destination; return the existing folders written into."""
        self._check_root()
        written: list[Path] = []
        for entry in entries:
            dest = self.root / entry.path
            self._check_length(dest, entry)
            parent = self._check_folders(dest.parent, entry)
            real = self.resolved.get(dest.parent)
            if real is None:
                real = self.resolved[dest.parent] = dest.parent.resolve()
            if not real.is_relative_to(self.top):
                raise UnsafePathError(entry.path, f"it would be written outside {self.root}")
            self._check_file(dest, real / dest.name, entry)
            if parent is not None:
                written.append(parent)
        return list(dict.fromkeys(written))

    def _check_root(self) -> None:
        root = self.root
        try:
            st = root.lstat()
        except FileNotFoundError:
            self._check_creatable(root)
            self.keep_out.check(self.top, root)
            self.folders[root] = False
            return
        except OSError as exc:
            raise _access_error(root, exc) from None
        if stat.S_ISLNK(st.st_mode) and not root.exists():
            raise FileAccessError(
                str(root), f"it is a link to {os.readlink(root)}, which does not exist"
            )
        if not root.is_dir():
            raise FileAccessError(str(root), "it is a file; give a folder to download into")
        self.keep_out.check(self.top, root)
        self.folders[root] = True

    def _check_creatable(self, path: Path) -> None:
        # The nearest existing ancestor must be a folder we may write in.
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            if ancestor.is_symlink():
                raise FileAccessError(
                    str(ancestor), f"it is a link to {os.readlink(ancestor)}, which does not exist"
                )
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise FileAccessError(str(ancestor), "it is a file, where a folder must go")
        self._check_writable(ancestor)

    def _check_length(self, dest: Path, entry: FileEntry) -> None:
        name_max, path_max = self.limits
        longest = max(len(part.encode()) for part in entry.path.split("/"))
        if longest > name_max:
            raise FileAccessError(
                str(dest), f"a name in it is {longest} bytes long; this system allows {name_max}"
            )
        length = len(os.fsencode(self.top / entry.path))
        if length >= path_max:
            raise FileAccessError(
                f"{self.top}/{entry.path[:40]}...",
                f"the path is {length} bytes long; this system allows {path_max - 1}",
            )

    def _check_folders(self, folder: Path, entry: FileEntry) -> Path | None:
        """Check each folder between the root and ``folder``; return the deepest existing one
        if it is ``folder`` itself (then the download writes into an existing folder)."""
        chain = []
        step = folder
        while step not in self.folders:
            chain.append(step)
            step = step.parent
        exists = self.folders[step]
        for path in reversed(chain):
            if exists:
                exists = self._existing_folder(path, entry)
                if not exists:  # the first folder to create: its parent must be writable
                    self._check_writable(path.parent)
            self.folders[path] = exists
        return folder if self.folders[folder] else None

    def _existing_folder(self, path: Path, entry: FileEntry) -> bool:
        try:
            st = path.lstat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _access_error(path, exc) from None
        if stat.S_ISLNK(st.st_mode) and not path.exists():
            raise FileAccessError(
                str(path),
                f"it is a link to {os.readlink(path)}, which does not exist, where the folder "
                f"of {entry.path!r} of {self.label} must go",
            )
        if not path.is_dir():
            raise FileAccessError(
                str(path),
                f"it is a file, where the folder of {entry.path!r} of {self.label} "
                "must go; move it away or download somewhere else",
            )
        return True

    def _check_file(self, dest: Path, target: Path, entry: FileEntry) -> None:
        self.keep_out.check(target, dest)
        if dest.is_dir():
            raise FileAccessError(
                str(dest),
                f"it is a folder, where the file {entry.path!r} of {self.label} must go; "
                "move it away or download somewhere else",
            )
        if self.folders.get(dest.parent):
            self._check_writable(dest.parent)

    def _check_writable(self, folder: Path) -> None:
        if folder not in self.writable:
            if not os.access(folder, os.W_OK | os.X_OK):
                raise FileAccessError(str(folder), "no permission to write in this folder")
            self.writable.add(folder)


def _limits(root: Path) -> tuple[int, int]:
    """(longest name, longest path + 1) in bytes on the filesystem that will hold ``root``."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return os.pathconf(probe, "PC_NAME_MAX"), os.pathconf(probe, "PC_PATH_MAX")
    except (OSError, ValueError):
        return 255, 4096


def _access_error(path: Path, exc: OSError) -> FileAccessError:
    reasons = {
        errno.EACCES: "no permission to write there",
        errno.EPERM: "no permission to write there",
        errno.EROFS: "the filesystem is read-only",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.ENAMETOOLONG: "the name is too long for this filesystem",
        errno.ENOTDIR: "a file is in the way where a folder must go",
        errno.EISDIR: "a folder is in the way where a file must go",
    }
    return FileAccessError(str(path), reasons.get(exc.errno or 0, exc.strerror or str(exc)))


def _remove_stale_partials(folder: Path) -> None:
    # Staging files of an interrupted download: a live download writes to its own as it goes.
    cutoff = time.time() - DEBRIS_GRACE
    try:
        with os.scandir(folder) as it:
            stale = [
                e.path
                for e in it
                if _PARTIAL.fullmatch(e.name)
                and e.is_file(follow_symlinks=False)
                and e.stat(follow_symlinks=False).st_mtime < cutoff
            ]
    except OSError:
        return
    for path in stale:
        try:
            os.unlink(path)
        except OSError:
            continue


def _already_there(dest: Path, entry: FileEntry) -> bool:
    try:
        if not dest.is_file() or dest.stat().st_size != entry.size:
            return False
        return hash_file(dest)[0] == entry.digest
    except OSError:
        return False
