"""Which files ``run.save(glob, base_path, policy)`` keeps, and under which names.

As ``wandb.save``: a relative glob is read from the working folder; without ``base_path``
the base is the working folder for a relative glob and the glob's grandparent folder for an
absolute one; the glob must lie inside the base, and each file is named by its path relative
to the base (a relative POSIX path, checked as an artifact's paths are).
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal

from artstore.artifacts import safe_relpath
from artstore.errors import ArtstoreError, InvalidArgumentError, UnsafePathError
from artstore.lineage import RunFile

__all__ = ["POLICIES", "KeptFiles", "Policy", "SaveGlob", "SavedFile", "save_glob"]

logger = logging.getLogger(__name__)

Policy = Literal["live", "now", "end"]
POLICIES: tuple[Policy, ...] = ("live", "now", "end")


@dataclass(frozen=True, slots=True)
class SavedFile:
    """A local file to keep: its name in the run, where it is, and the base it is named from
    (read through a link, it must still lie inside that base)."""

    name: str
    path: Path
    base: Path


@dataclass(frozen=True, slots=True)
class SaveGlob:
    """A checked ``save`` request: the base folder, the glob relative to it, the policy."""

    base: Path
    pattern: str
    policy: Policy

    def matches(self) -> tuple[list[SavedFile], list[UnsafePathError]]:
        """The regular files the glob matches now, by name, and the matches refused because
        their name is not a safe relative path (one error each)."""
        found: dict[str, SavedFile] = {}
        refused: list[UnsafePathError] = []
        # Matched relative to the base: a '[', '*' or '?' in the base's own path is not a glob.
        for relative in glob.glob(self.pattern, root_dir=self.base):
            path = self.base / relative
            if path.is_dir():
                continue
            try:
                name = safe_relpath(PurePath(relative).as_posix())
            except UnsafePathError as exc:
                refused.append(exc)
                continue
            found[name] = SavedFile(name, path, self.base)
        return [found[name] for name in sorted(found)], refused


def save_glob(glob_str: Any, base_path: Any = None, policy: Any = "live") -> SaveGlob:
    """Check a ``save`` request as ``wandb.save`` does.

    Raises:
        InvalidArgumentError: a glob or base that is not a local path (a URL, not text, a NUL
            character), a glob equal to its base, or an unknown policy.
        UnsafePathError: the glob reaches outside ``base_path``.
    """
    if glob_str is None:
        raise InvalidArgumentError("save takes a file path or glob, e.g. save('model.pt')")
    if policy not in POLICIES:
        raise InvalidArgumentError(
            f"policy must be one of {', '.join(POLICIES)}, not {str(policy)[:40]!r}"
        )
    if isinstance(glob_str, bytes):
        glob_str = glob_str.decode("utf-8", "surrogateescape")
    text = _local(glob_str, "save")
    if base_path is not None:
        base_text = _local(base_path, "base_path")
    elif not os.path.isabs(text):
        base_text = "."
    else:
        # wandb.save keeps one folder above the file when no base is given; so does artstore.
        base_text = str(PurePath(os.path.abspath(text)).parent.parent)
        logger.warning(
            "saving %s named from %s; pass base_path= to choose the folder names start from",
            text,
            base_text,
        )
    base = Path(os.path.abspath(base_text))
    pattern = PurePath(os.path.abspath(text))
    if pattern == base:
        raise InvalidArgumentError(f"save({text!r}): the glob names the base folder itself")
    if not pattern.is_relative_to(base):
        raise UnsafePathError(text, f"it is outside base_path {str(base)!r}")
    relative = pattern.relative_to(base)
    return SaveGlob(base, relative.as_posix(), policy)


def _local(value: Any, what: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidArgumentError(
            f"{what} takes a local path or glob, not a {type(value).__name__}"
        )
    text = os.fspath(value)
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{what} takes a path as text, not bytes")
    if "\x00" in text:
        raise InvalidArgumentError(f"{what}: {text[:40]!r} contains a NUL character")
    if "://" in text:
        raise InvalidArgumentError(
            f"{what} keeps local files, not {text[:60]!r}; copy it to a local file first"
        )
    if not text:
        raise InvalidArgumentError(f"{what} takes a path or glob, not an empty string")
    return text


class KeptFiles:
    """A run's ``save`` requests: files kept at once, and the globs to look at again at the end.

    ``keep(file, policy, previous)`` stores a file and records it with the run, unless its
    content digest equals ``previous`` (the digest last kept under its name); it returns what
    it recorded, or None when nothing was.
    """

    def __init__(self, keep: Callable[[SavedFile, str, str | None], RunFile | None]) -> None:
        self._keep = keep
        self._digests: dict[str, str] = {}
        self._at_end: list[SaveGlob] = []

    def save(self, request: SaveGlob) -> list[str]:
        """Keep what ``request`` matches now (``live``, ``now``), remember it for the end
        (``live``, ``end``); return the names it matches now. A match whose name is refused is
        one warning line; the others are kept.

        Raises:
            SourceChangedError, UnsafePathError, NotFoundError, FileAccessError: a matched
                file cannot be kept as it is (nothing of that file is kept; a ``live`` glob is
                still matched again at the end).
        """
        matched, refused = request.matches()
        _warn_refused(request, refused, "")
        if request.policy != "now":
            self._at_end.append(request)
        if request.policy != "end":
            if not matched:
                logger.warning(
                    "save(%r, policy=%r) matched no file", request.pattern, request.policy
                )
            for file in matched:
                self._store(file, request.policy)
        return [file.name for file in matched]

    def finish(self) -> None:
        """Keep the files the ``live`` and ``end`` globs match now that changed since kept.

        A file that cannot be kept is one warning line: the other files are kept and the run
        still finishes.
        """
        for request in self._at_end:
            matched, refused = request.matches()
            _warn_refused(request, refused, " at the end of the run")
            for file in matched:
                try:
                    self._store(file, request.policy)
                except ArtstoreError as exc:
                    logger.warning("%s was not kept at the end of the run: %s", file.name, exc)
        self._at_end = []

    def _store(self, file: SavedFile, policy: Policy) -> None:
        kept = self._keep(file, policy, self._digests.get(file.name))
        if kept is not None:
            self._digests[file.name] = kept.digest


def _warn_refused(request: SaveGlob, refused: list[UnsafePathError], when: str) -> None:
    for exc in refused:
        logger.warning("save(%r)%s: a match was not kept: %s", request.pattern, when, exc)
