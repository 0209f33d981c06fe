"""Comparing two versions or folders: files by digest, changed safetensors files tensor by tensor.

Files are compared by their digests (from the manifest for a version, hashed for a folder), so
equal files cost nothing. A ``.safetensors`` file whose digest changed is opened on both sides:
its header (8-byte little-endian length, then JSON of ``dtype``, ``shape``, ``data_offsets``)
names the tensors, and the bytes of each tensor present on both sides with the same dtype and
shape are hashed in fixed-size chunks. Nothing ever holds a whole model in memory; the optional
statistics load one tensor pair at a time (see :mod:`artstore.artifacts.tensordiff`).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.download import fetch
from artstore.artifacts.lookup import get_version
from artstore.artifacts.manifest import FileEntry
from artstore.artifacts.names import Ref
from artstore.artifacts.tensordiff import TensorChange, TensorDiff, diff_tensors
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import (
    CorruptBlobError,
    InvalidArgumentError,
    InvalidNameError,
    MissingBlobError,
    NotFoundError,
)
from artstore.storage import (
    CHUNK_SIZE,
    AnyStatKey,
    BlobStore,
    Digest,
    Kind,
    StatCache,
    hash_file,
    stat_key,
)

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository

__all__ = [
    "Diff",
    "FileChange",
    "FileSize",
    "Side",
    "TensorChange",
    "TensorDiff",
    "compare",
    "diff",
    "folder_side",
    "locate",
    "version_side",
]


@dataclass(frozen=True, slots=True)
class FileSize:
    """A file present on one side only."""

    path: str
    size: int


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file present on both sides with different content."""

    path: str
    size_a: int
    size_b: int


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed from side ``a`` to side ``b``; each list is sorted by path."""

    a: str
    b: str
    added: tuple[FileSize, ...]
    removed: tuple[FileSize, ...]
    changed: tuple[FileChange, ...]
    unchanged: int
    tensors: tuple[TensorDiff, ...]

    @property
    def identical(self) -> bool:
        """Whether both sides hold the same files with the same content."""
        return not (self.added or self.removed or self.changed)

    @property
    def bytes_added(self) -> int:
        """Total size of the added files."""
        return sum(f.size for f in self.added)

    @property
    def bytes_removed(self) -> int:
        """Total size of the removed files."""
        return sum(f.size for f in self.removed)

    @property
    def bytes_changed(self) -> int:
        """Total size, on side ``b``, of the files whose content changed."""
        return sum(f.size_b for f in self.changed)


# -- sides -----------------------------------------------------------------------------------


class Side:
    """One side of a comparison: a label, files by path, and a way to read each file.

    Files of a side read from a blob store are verified against their digests as they are
    read (``verifies``); a folder's digests were computed from its files.
    """

    def __init__(
        self,
        label: str,
        entries: dict[str, FileEntry],
        local: Callable[[FileEntry], str | None],
        blobs: BlobStore | None = None,
    ) -> None:
        self.label = label
        self.entries = entries
        self._local = local
        self._blobs = blobs
        self.verifies = blobs is not None

    def open(self, entry: FileEntry) -> BinaryIO:
        """Open a file of this side for reading (unbuffered when it is on the local disk).

        Raises:
            NotFoundError: the file is missing; MissingBlobError: the blob holding it is (names
                the file).
        """
        if entry.chunks:
            assert self._blobs is not None  # only stored files are chunked
            raw = self._blobs.open_chunks(entry.chunks, entry.digest, entry.size)
            return _Located(raw, self.label, entry.path)  # type: ignore[return-value]
        path = self._local(entry)
        if path is not None:
            try:
                # Unbuffered (mappable) only for immutable blobs: a user's file truncated while
                # mapped would raise SIGBUS, so folder files are read through a buffer.
                return open(path, "rb", buffering=0 if self._blobs is not None else -1)
            except FileNotFoundError:
                if self._blobs is None:
                    raise NotFoundError(f"{path} vanished while it was compared") from None
        assert self._blobs is not None
        try:
            return self._blobs.open(Kind.BLOB, entry.digest)
        except NotFoundError:
            raise MissingBlobError(
                entry.digest.hex, self._blobs.url, artifact=self.label, path=entry.path
            ) from None

    def read_chunk(self, entry: FileEntry, index: int) -> bytes:
        """The verified bytes of piece ``index`` of a file stored in chunks.

        Raises:
            MissingBlobError, CorruptBlobError: the piece is missing or damaged (names the
                file and the piece).
        """
        assert self._blobs is not None  # only stored files are chunked
        try:
            return self._blobs.read_chunk(entry.chunks, index)
        except (CorruptBlobError, MissingBlobError) as exc:
            raise exc.located(self.label, entry.path) from None

    def local_path(self, entry: FileEntry) -> AbstractContextManager[str]:
        """A local path holding the file: itself, or a verified temporary download."""
        path = self._local(entry)
        return nullcontext(path) if path is not None else self._download(entry)

    @contextmanager
    def _download(self, entry: FileEntry) -> Iterator[str]:
        assert self._blobs is not None
        with tempfile.TemporaryDirectory(prefix="artstore-diff-") as tmp:
            dest = Path(tmp) / "file.safetensors"
            try:
                fetch(self._blobs, entry, dest)
            except (CorruptBlobError, MissingBlobError) as exc:
                raise exc.located(self.label, entry.path) from None
            yield str(dest)


class _Located(io.RawIOBase):
    """A stream over a file's chunks whose errors name the version and the file."""

    def __init__(self, raw: io.RawIOBase, label: str, path: str) -> None:
        super().__init__()
        self._raw, self._label, self._path = raw, label, path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        try:
            return self._raw.readinto(buffer) or 0
        except (CorruptBlobError, MissingBlobError) as exc:
            raise exc.located(self._label, self._path) from None

    def close(self) -> None:
        self._raw.close()
        super().close()


def locate(spec: str) -> Path | str:
    """A side given on the command line: a folder when one exists there, else a reference.

    Raises:
        NotFoundError: ``spec`` is neither a folder nor a well-formed ``NAME[:REF]``.
        InvalidArgumentError: ``spec`` is not a string.
    """
    if not isinstance(spec, str):
        raise InvalidArgumentError(
            f"a diff side is a folder or NAME[:REF], not a {type(spec).__name__}"
        )
    if os.path.isdir(spec):
        return Path(spec)
    try:
        Ref.parse(spec)
    except InvalidNameError:
        raise NotFoundError(
            f"{spec!r} is neither a folder nor a version reference NAME[:REF]; see: art ls"
        ) from None
    return spec


def version_side(version: ArtifactVersion, blobs: BlobStore) -> Side:
    """A stored version: its manifest's digests; files read from the blob store (a file stored
    in chunks through them, or, for its tensors, piece by piece)."""
    root = blobs.local_root

    def local(entry: FileEntry) -> str | None:
        if root is None or entry.chunks:
            return None
        return blobs.path(Kind.BLOB, entry.digest)

    return Side(version.qualified_name, dict(version.manifest().entries), local, blobs)


def folder_side(folder: Path, stat_cache: StatCache) -> Side:
    """A local folder, walked as ``art put`` would; files unchanged since they were last hashed
    take their digest from the stat cache."""
    artifact = Artifact("folder", "folder")
    artifact.add_dir(folder)
    sources = dict(artifact.sources())
    keys = {path: stat_key(os.stat(source)) for path, source in sources.items()}
    known = stat_cache.lookup(keys.values())
    fresh: dict[AnyStatKey, Digest] = {}
    buffer = bytearray(CHUNK_SIZE)
    entries: dict[str, FileEntry] = {}
    for path, source in sources.items():
        digest = known.get(keys[path])
        size = keys[path][2]
        if digest is None:
            digest, size = hash_file(source, buffer)
            if size == keys[path][2]:
                fresh[keys[path]] = digest
        entries[path] = FileEntry(path, digest, size)
    stat_cache.record(fresh)
    return Side(str(folder), entries, lambda entry: sources[entry.path])


# -- comparing -------------------------------------------------------------------------------


def compare(a: Side, b: Side, *, stats: bool = False) -> Diff:
    """Compare two sides: files by digest, then each changed ``.safetensors`` file by tensor.
    Files read from a store are verified as they are read; unchanged files are not read.

    Raises:
        UnsupportedFormatError: a changed ``.safetensors`` file is not valid safetensors.
        CorruptBlobError: a stored file that was read does not match its digest.
        NotFoundError: a stored file that must be read is missing.
        UserError: ``stats`` without numpy installed.
    """
    changed: list[FileChange] = []
    tensors: list[TensorDiff] = []
    unchanged = 0
    for path in sorted(a.entries.keys() & b.entries.keys()):
        ea, eb = a.entries[path], b.entries[path]
        if ea.digest == eb.digest:
            unchanged += 1
            continue
        changed.append(FileChange(path, ea.size, eb.size))
        if path.lower().endswith(".safetensors"):
            tensors.append(diff_tensors(a, ea, b, eb, stats=stats))
    return Diff(
        a=a.label,
        b=b.label,
        added=tuple(FileSize(p, b.entries[p].size) for p in sorted(b.entries.keys() - a.entries)),
        removed=tuple(FileSize(p, a.entries[p].size) for p in sorted(a.entries.keys() - b.entries)),
        changed=tuple(changed),
        unchanged=unchanged,
        tensors=tuple(tensors),
    )


def diff(repo: Repository, a: str, b: str, *, stats: bool = False) -> Diff:
    """Compare two sides, each a version in ``repo`` (``name:ref``; a bare name means latest)
    or a local folder (when one exists at that path); see
    :meth:`artstore.artifacts.Store.diff` for the contract.

    Raises:
        NotFoundError: a side is neither a folder nor an existing version.
        UnsupportedFormatError: a changed ``.safetensors`` file is malformed.
    """

    def side(spec: str) -> Side:
        where = locate(spec)
        if isinstance(where, str):
            return version_side(get_version(repo, where), repo.blobs)
        return folder_side(where, repo.stat_cache)

    return compare(side(a), side(b), stats=stats)
