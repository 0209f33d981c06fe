"""The ``Artifact`` builder: name, type, metadata and the local files to log. No store I/O."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeAlias

from artstore.artifacts.manifest import safe_relpath
from artstore.artifacts.names import check_name
from artstore.errors import NotFoundError, UnsafePathError, UserError

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
        self.metadata: dict[str, Any] = dict(metadata or {})
        _check_json(self.metadata)
        self._files: dict[str, str] = {}
        self._staging: Path | None = None

    @property
    def files(self) -> dict[str, Path]:
        """Artifact path -> local source file, sorted by path."""
        return {path: Path(source) for path, source in self.sources()}

    def sources(self) -> list[tuple[str, str]]:
        """(artifact path, local source path) pairs, sorted by artifact path."""
        return sorted(self._files.items())

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> str:
        """Add one file, at ``name`` (default: its base name). Returns the artifact path.

        Raises:
            NotFoundError: ``local_path`` is not a file.
            UnsafePathError: ``name`` is unsafe or already used in this artifact.
        """
        source = Path(local_path)
        if not source.is_file():
            raise NotFoundError(f"cannot add {str(source)!r}: no such file")
        return self._add(name if name is not None else source.name, str(source.resolve()))

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        *,
        exclude: Sequence[str] = (),
    ) -> int:
        """Add every file under a folder, under ``name/`` (default: the artifact root).

        Symbolic links are followed when they point inside the folder and refused otherwise;
        empty folders are not recorded. ``exclude`` holds glob patterns matched against each
        relative path and each base name. Returns the number of files added.

        Raises:
            NotFoundError: ``local_path`` is not a folder.
            UnsafePathError: a link points outside the folder, or a path collides.
        """
        root = Path(local_path)
        if not root.is_dir():
            raise NotFoundError(f"cannot add {str(root)!r}: no such folder")
        root = root.resolve()
        prefix = "" if not name else safe_relpath(name.strip("/")) + "/"
        count = 0
        for rel, source in _walk(root, exclude):
            self._add(prefix + rel, source)
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
        self._add(path, str(target))

    def _add(self, name: str, source: str) -> str:
        path = safe_relpath(name)
        if self._files.setdefault(path, source) != source:
            raise UnsafePathError(path, f"{self.name} already has a file at this path")
        return path

    def __repr__(self) -> str:
        return f"Artifact({self.name!r}, type={self.type!r}, files={len(self._files)})"


def _walk(root: Path, exclude: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Yield (relative POSIX path, source file) for every file under ``root``.

    File types come from the directory listing itself, so walking costs no ``stat`` per file.
    """
    # Each folder carries the real paths of its ancestors: a link back up the tree would walk
    # forever, but a link to a sibling folder is just another copy of its files.
    stack: list[tuple[Path, str, frozenset[Path]]] = [(root, "", frozenset({root}))]
    while stack:
        folder, rel_folder, ancestors = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = rel_folder + entry.name
            if exclude and _excluded(rel, entry.name, exclude):
                continue
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if not target.is_relative_to(root):
                    raise UnsafePathError(
                        rel, f"it is a link to {target}, outside the folder being added"
                    )
                if target.is_dir():
                    if target not in ancestors:
                        stack.append((target, rel + "/", ancestors | {target}))
                elif target.is_file():
                    yield rel, str(target)
            elif entry.is_dir(follow_symlinks=False):
                real = Path(entry.path)
                stack.append((real, rel + "/", ancestors | {real}))
            elif entry.is_file(follow_symlinks=False):
                yield rel, entry.path


def _excluded(rel: str, base: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(base, p) for p in patterns)


def _check_json(metadata: dict[str, Any]) -> None:
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"artifact metadata must be JSON-serialisable: {exc}") from None
