"""Manifests: the canonical JSON list of an artifact version's files, and path safety."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, TypeGuard

from artstore.errors import UnsafePathError, UnsupportedFormatError
from artstore.storage import (
    MAX_TENSOR_NAME,
    Chunk,
    Digest,
    canonical_json,
    parse_manifest_format,
)

__all__ = [
    "MAX_SEGMENT_BYTES",
    "MAX_TENSOR_NAME",
    "Chunk",
    "FileEntry",
    "Manifest",
    "check_tree",
    "encode_entries",
    "safe_relpath",
]

_DRIVE = re.compile(r"[A-Za-z]:")
#: The longest file or folder name, in UTF-8 bytes, that a path may hold: what ext4, XFS,
#: btrfs and APFS allow, so every stored path can be written back on those systems.
MAX_SEGMENT_BYTES = 255


def safe_relpath(path: str) -> str:
    """Normalise an artifact path to NFC relative POSIX form, or refuse it.

    Raises:
        UnsafePathError: absolute, a drive letter, ``..``/``.``/empty segments, backslashes,
            NUL, a lone surrogate (not encodable as UTF-8), or a file or folder name longer
            than :data:`MAX_SEGMENT_BYTES`.
    """
    if not isinstance(path, str) or not path:
        raise UnsafePathError(str(path), "an artifact path must be a non-empty string")
    norm = unicodedata.normalize("NFC", path)
    if "\x00" in norm:
        raise UnsafePathError(path, "it contains a NUL character")
    if "\\" in norm:
        raise UnsafePathError(path, "use '/' to separate folders; backslashes are not portable")
    if norm.startswith("/"):
        raise UnsafePathError(path, "artifact paths are relative; remove the leading '/'")
    if _DRIVE.match(norm):
        raise UnsafePathError(path, "artifact paths are relative; remove the drive letter")
    # Segment checks as substring tests on the path framed by slashes: one C-level scan each.
    framed = f"/{norm}/"
    if "//" in framed or "/./" in framed or "/../" in framed:
        raise UnsafePathError(path, "empty, '.' and '..' segments are not allowed")
    try:
        encoded = norm.encode()
    except UnicodeEncodeError:
        raise UnsafePathError(path, "it is not valid Unicode text (a lone surrogate)") from None
    if len(encoded) > MAX_SEGMENT_BYTES:  # only then can one name be too long
        for segment in norm.split("/"):
            if len(segment.encode()) > MAX_SEGMENT_BYTES:
                raise UnsafePathError(
                    path,
                    f"the name {segment[:24]!r}... is {len(segment.encode())} bytes long; "
                    f"file systems allow {MAX_SEGMENT_BYTES}",
                )
    return norm


def check_tree(paths: Iterable[str]) -> None:
    """Refuse paths of which one is a file and also a folder of another (``a`` and ``a/b``):
    no folder can hold both, so such a version could never be downloaded.

    Raises:
        UnsafePathError: names the path that would have to be a file and a folder.
    """
    files = paths if isinstance(paths, (set, dict)) else set(paths)
    folders: set[str] = set()
    for path in files:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    clash = folders.intersection(files)
    if clash:
        path = min(clash)
        inside = min(p for p in files if p.startswith(path + "/"))
        raise UnsafePathError(
            path, f"it is a file and also the folder of {inside!r}; rename one of them"
        )


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a version: its path, content digest and size."""

    path: str
    digest: Digest
    size: int
    executable: bool = False
    chunks: tuple[Chunk, ...] = ()

    def blob_refs(self) -> tuple[Chunk, ...]:
        """The blobs the file is made of, in order: its chunks, or the one blob of its bytes."""
        return self.chunks or (Chunk(self.digest, self.size),)

    def manifest_object(self) -> dict[str, Any]:
        """The entry's object in the manifest document (docs/format.md), without its path,
        which is the object's key."""
        obj: dict[str, Any] = {"digest": self.digest.hex, "size": self.size}
        if self.executable:
            obj["exec"] = True
        if self.chunks:
            obj["chunks"] = [_chunk_object(c) for c in self.chunks]
        return obj


def _chunk_object(chunk: Chunk) -> dict[str, Any]:
    obj: dict[str, Any] = {"digest": chunk.digest.hex, "size": chunk.size}
    if chunk.tensor is not None:
        obj["tensor"] = chunk.tensor
    return obj


@dataclass(frozen=True, slots=True)
class Manifest:
    """The files of one version, keyed and ordered by path."""

    entries: dict[str, FileEntry]

    @classmethod
    def build(cls, entries: Iterable[FileEntry]) -> Manifest:
        """A manifest from entries whose paths are already safe.

        Raises:
            UnsafePathError: two entries share a path, or one's path is the other's folder.
        """
        by_path: dict[str, FileEntry] = {}
        for entry in entries:
            if entry.path in by_path:
                raise UnsafePathError(entry.path, "two files would be stored at this path")
            by_path[entry.path] = entry
        check_tree(by_path)
        return cls(dict(sorted(by_path.items())))

    @property
    def size(self) -> int:
        """Total bytes of all files."""
        return sum(e.size for e in self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self.entries.values())

    def encode(self) -> bytes:
        """The canonical bytes: what is hashed to name the manifest."""
        if any(e.chunks for e in self.entries.values()):
            # Format 2: a format-1 reader refuses it by name (docs/format.md).
            return canonical_json(
                {"entries": {p: e.manifest_object() for p, e in self.entries.items()}, "format": 2}
            )
        return encode_entries(
            (e.path, e.digest.hex, e.size, e.executable) for e in self.entries.values()
        )

    @classmethod
    def decode(cls, raw: bytes, where: str = "manifest") -> Manifest:
        """Parse manifest bytes, validating every path as on write.

        Raises:
            UnsupportedFormatError: not a manifest of format 1 or 2, a chunked entry in a
                format-1 manifest, or chunks whose sizes do not add up to the file's.
            UnsafePathError: a path is unsafe, two paths collide after normalisation, or one
                path is a file inside another.
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # also bad UTF-8, and numbers too long to read
            raise UnsupportedFormatError(f"{where} is not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            raise UnsupportedFormatError(f"{where} has no entries object")
        chunked = parse_manifest_format(data.get("format"), where) == 2
        return cls.build(
            _decode_entry(path, obj, where, chunked) for path, obj in data["entries"].items()
        )


def encode_entries(rows: Iterable[tuple[str, str, int, bool]]) -> bytes:
    """Canonical manifest bytes for plain files given as (path, digest hex, size, executable),
    sorted by path: byte for byte what ``canonical_json`` makes of the same manifest.

    Written out by hand because logging an unchanged folder of many files spends most of its
    time here; ``tests/artifacts/test_manifest.py`` holds it to ``canonical_json``.

    Raises:
        UnsafePathError: one path is a file inside another (see :func:`check_tree`).
    """
    paths: list[str] = []
    parts: list[str] = []
    for path, digest, size, executable in rows:
        paths.append(path)
        parts.append(
            f'{encode_basestring(path)}:{{"digest":"{digest}",{_EXEC if executable else ""}'
            f'"size":{size}}}'
        )
    check_tree(paths)
    return ('{"entries":{' + ",".join(parts) + '},"format":1}').encode()


_EXEC = '"exec":true,'


def _decode_entry(path: str, obj: object, where: str, chunked: bool) -> FileEntry:
    safe = safe_relpath(path)
    if not isinstance(obj, dict):
        raise UnsupportedFormatError(f"{where}: entry {path!r} is not an object")
    if "ref" in obj:
        raise UnsupportedFormatError(
            f"{where}: entry {path!r} is a reference to {obj['ref']!r}; "
            "this artstore cannot read references yet: upgrade artstore"
        )
    size = obj.get("size")
    if not _is_size(size):
        raise UnsupportedFormatError(f"{where}: entry {path!r} has no valid size")
    if "chunks" in obj and not chunked:
        raise UnsupportedFormatError(
            f"{where}: entry {path!r} is chunked, which only format 2 manifests may hold"
        )
    try:
        chunks = tuple(_decode_chunk(c, path, where) for c in obj.get("chunks", ()))
        if "chunks" in obj and (not chunks or sum(c.size for c in chunks) != size):
            raise UnsupportedFormatError(
                f"{where}: entry {path!r} has chunks that do not add up to its size"
            )
        return FileEntry(
            path=safe,
            digest=Digest.parse(obj["digest"]),
            size=size,
            executable=obj.get("exec", False) is True,
            chunks=chunks,
        )
    except (KeyError, TypeError, ValueError):
        raise UnsupportedFormatError(f"{where}: entry {path!r} is malformed") from None


def _is_size(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode_chunk(obj: Any, path: str, where: str) -> Chunk:
    size, tensor = obj["size"], obj.get("tensor")
    if not _is_size(size) or size == 0:
        raise UnsupportedFormatError(f"{where}: entry {path!r} has a chunk with no valid size")
    if tensor is not None and not _is_tensor_name(tensor):
        raise UnsupportedFormatError(f"{where}: entry {path!r} has a chunk with a bad tensor name")
    return Chunk(Digest.parse(obj["digest"]), size, tensor)


def _is_tensor_name(value: object) -> bool:
    # A name is printed by `art diff` and compared as bytes: one that UTF-8 cannot encode (a
    # lone surrogate from a "\ud800" escape) or that is longer than any real tensor's is refused.
    if not isinstance(value, str) or not value:
        return False
    try:
        return len(value.encode("utf-8")) <= MAX_TENSOR_NAME
    except UnicodeEncodeError:
        return False
