"""Materialising a version's files on the local disk, each verified against its digest."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from artstore.artifacts.manifest import FileEntry
from artstore.errors import CorruptBlobError, UnsafePathError, UnsupportedFormatError
from artstore.storage import DEFAULT_CALLBACK, BlobStore, Callback, hash_file

__all__ = ["materialize"]


def materialize(
    blobs: BlobStore,
    entries: Iterable[FileEntry],
    root: Path,
    *,
    label: str,
    callback: Callback = DEFAULT_CALLBACK,
) -> Path:
    """Write ``entries`` under ``root``; files already there with the right content are kept.

    Each file is written to a staging name beside its destination and renamed only once its
    digest matches, so no file under ``root`` ever holds unverified bytes.

    Raises:
        UnsafePathError: a destination would fall outside ``root`` (through a link in ``root``).
        CorruptBlobError: stored bytes do not match their digest (names ``label`` and the path).
    """
    entries = list(entries)
    callback.set_size(sum(e.size for e in entries))
    root.mkdir(parents=True, exist_ok=True)
    top = root.resolve()
    for entry in entries:
        dest = root / entry.path
        if not dest.parent.resolve().is_relative_to(top):
            raise UnsafePathError(entry.path, f"it would be written outside {root}")
        if entry.chunks:
            raise UnsupportedFormatError(
                f"{label}: {entry.path!r} is stored in chunks, which this artstore cannot read; "
                "upgrade artstore"
            )
        if _already_there(dest, entry):
            callback.relative_update(entry.size)
            continue
        try:
            blobs.get_file(entry.digest, dest, callback=callback)
        except CorruptBlobError as exc:
            raise exc.located(label, entry.path) from None
        if entry.executable:
            os.chmod(dest, os.stat(dest).st_mode | 0o111)
    return root


def _already_there(dest: Path, entry: FileEntry) -> bool:
    try:
        if not dest.is_file() or dest.stat().st_size != entry.size:
            return False
    except OSError:
        return False
    return hash_file(dest)[0] == entry.digest
