"""The ``Artifact`` builder: name, type, metadata and the local files to log. No store I/O."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeAlias

from artstore.artifacts.manifest import safe_relpath
from artstore.artifacts.names import check_name
from artstore.errors import (
    FileAccessError,
    InvalidArgumentError,
    NotFoundError,
    UnsafePathError,
    UserError,
)
from artstore.storage import access_error, file_kind

__all__ = ["Artifact", "JSONValue"]

JSONValue: TypeAlias = (
    "bool | int | float | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
)


class Artifact:
    """A set of files to log as the next version of the artifact ``name``.

    Files are only noted here; nothing is read or copied until the artifact is logged, so
    adding a large folder is cheap. Paths inside the artifact are relative POSIX paths.

    Args:
        name: the artifact's name in the store.
        type: what it holds (``model``, ``dataset``, ...); fixed by the first version.
        description: free text shown in listings.
        metadata: JSON-serialisable facts about this version (metrics, parameters).
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: Mapping[str, JSONValue] | None = None,
    ) -> None:
        self.name = check_name(name)
        self.type = check_name(type, "artifact type")
        self.description = description
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidArgumentError(
                f"artifact metadata must be a mapping, not a {metadata.__class__.__name__}"
            )
        self.metadata: dict[str, Any] = dict(metadata or {})
        _check_json(self.metadata)
        # artifact path -> (local source, the folder it was added from or None)
        self._files: dict[str, tuple[str, str | None]] = {}
        self._staging: Path | None = None

    @property
    def files(self) -> dict[str, Path]:
        """Artifact path -> local source file, sorted by path."""
        return {path: Path(source) for path, source in self.sources()}

    def sources(self) -> list[tuple[str, str]]:
        """(artifact path, local source path) pairs, sorted by artifact path."""
        return [(path, source) for path, (source, _) in sorted(self._files.items())]

    def origins(self) -> list[tuple[str, str, str | None]]:
        """(artifact path, local source path, the folder it was added from or None), sorted by
        artifact path. When the file is read, it must still lie inside that folder."""
        return [(path, source, within) for path, (source, within) in sorted(self._files.items())]

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> str:
        """Add one file, at ``name`` (default: its base name). Returns the artifact path.

        Raises:
            NotFoundError: ``local_path`` does not exist.
            FileAccessError: it is not a regular file (a folder, a FIFO, ...) or cannot be read.
            UnsafePathError: ``name`` is unsafe or already used in this artifact.
            InvalidArgumentError: ``local_path`` is not a string or path.
        """
        source = _local_path(local_path)
        try:
            mode = source.stat().st_mode
        except FileNotFoundError:
            raise NotFoundError(f"cannot add {str(source)!r}: no such file") from None
        except OSError as exc:
            raise access_error(str(source), exc) from None
        if not stat.S_ISREG(mode):
            hint = "add it with add_dir" if stat.S_ISDIR(mode) else "only regular files are logged"
            raise FileAccessError(str(source), f"it is {file_kind(mode)}, not a file; {hint}")
        return self._add(name if name is not None else source.name, str(source.resolve()), None)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        *,
        exclude: Sequence[str] = (),
    ) -> int:
        """Add every file under a folder, under ``name/`` (default: the artifact root).

        Symbolic links are followed when they point inside the folder and refused otherwise,
        both now and when the files are read; empty folders are not recorded. Anything else
        that is not a regular file (a FIFO, socket or device) is refused: leave it out with
        ``exclude``, glob patterns matched against each relative path and each base name.
        Returns the number of files added.

        Raises:
            NotFoundError: ``local_path`` is not a folder.
            UnsafePathError: a link points outside the folder, or a path collides.
            FileAccessError: a folder cannot be read, a link is broken or loops, or an entry
                is not a regular file.
            InvalidArgumentError: ``local_path`` is not a string or path.
        """
        root = _local_path(local_path)
        if not root.is_dir():
            raise NotFoundError(f"cannot add {str(root)!r}: no such folder")
        root = root.resolve()
        prefix = "" if not name else safe_relpath(name.strip("/")) + "/"
        within = str(root)
        count = 0
        for rel, source in _walk(root, exclude):
            self._add(prefix + rel, source, within)
            count += 1
        return count

    @contextmanager
    def new_file(
        self, name: str, mode: str = "w", encoding: str | None = None
    ) -> Iterator[IO[Any]]:
        """Write a new file straight into the artifact: ``with a.new_file("x.txt") as f: ...``.

        The file lives in a private staging folder until the artifact is garbage-collected.
        """
        path = safe_relpath(name)
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="artstore-new-"))
            weakref.finalize(self, shutil.rmtree, self._staging, True)
        target = self._staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        text_encoding = None if "b" in mode else (encoding or "utf-8")
        with open(target, mode, encoding=text_encoding) as f:
            yield f
        self._add(path, str(target), None)

    def _add(self, name: str, source: str, within: str | None) -> str:
        path = safe_relpath(name)
        if self._files.setdefault(path, (source, within))[0] != source:
            raise UnsafePathError(path, f"{self.name} already has a file at this path")
        return path

    def __repr__(self) -> str:
        return f"Artifact({self.name!r}, type={self.type!r}, files={len(self._files)})"


def _walk(root: Path, exclude: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Yield (relative POSIX path, source file) for every file under ``root``.

    File types come from the directory listing itself, so walking costs no ``stat`` per file.

    Raises:
        UnsafePathError: a link leads outside ``root``.
        FileAccessError: a folder cannot be read, a link is broken or loops, or an entry is
            not a regular file, a folder or a link to one.
    """
    # Each folder carries the real paths of its ancestors: a link back up the tree would walk
    # forever, but a link to a sibling folder is just another copy of its files.
    stack: list[tuple[Path, str, frozenset[Path]]] = [(root, "", frozenset({root}))]
    while stack:
        folder, rel_folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise access_error(str(folder), exc) from None
        for entry in entries:
            rel = rel_folder + entry.name
            if exclude and _excluded(rel, entry.name, exclude):
                continue
            if entry.is_symlink():
                target = _link_target(entry.path, rel, root)
                if target.is_dir():
                    if target not in ancestors:
                        stack.append((target, rel + "/", ancestors | {target}))
                elif target.is_file():
                    yield rel, str(target)
                else:
                    raise _special(entry.path, rel, target)
            elif entry.is_dir(follow_symlinks=False):
                real = Path(entry.path)
                stack.append((real, rel + "/", ancestors | {real}))
            elif entry.is_file(follow_symlinks=False):
                yield rel, entry.path
            else:
                raise _special(entry.path, rel, Path(entry.path))


def _link_target(path: str, rel: str, root: Path) -> Path:
    try:
        target = Path(path).resolve(strict=True)
    except FileNotFoundError:
        raise FileAccessError(
            path, f"it is a broken link; fix it or leave it out with --exclude {rel!r}"
        ) from None
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        raise FileAccessError(
            path, f"it is a loop of symbolic links; leave it out with --exclude {rel!r}"
        ) from None
    if not target.is_relative_to(root):
        raise UnsafePathError(rel, f"it is a link to {target}, outside the folder being added")
    return target


def _special(path: str, rel: str, target: Path) -> NotFoundError | FileAccessError:
    """The refusal of an entry that is neither a regular file nor a folder (a FIFO, ...)."""
    try:
        kind = file_kind(target.stat().st_mode)
    except OSError as exc:
        return access_error(path, exc)
    return FileAccessError(
        path, f"it is {kind}, not a regular file; leave it out with --exclude {rel!r}"
    )


def _excluded(rel: str, base: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(base, p) for p in patterns)


def _local_path(value: str | os.PathLike[str]) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise InvalidArgumentError(
            f"a local path is a string or a path, not a {type(value).__name__}"
        )
    return Path(value)


def _check_json(metadata: dict[str, Any]) -> None:
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"artifact metadata must be JSON-serialisable: {exc}") from None
