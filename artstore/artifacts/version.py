"""``ArtifactVersion``: one immutable version, its files, and downloading them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from artstore.artifacts.download import KeepOut, materialize
from artstore.artifacts.manifest import FileEntry, Manifest
from artstore.errors import (
    CorruptBlobError,
    InvalidArgumentError,
    NotFoundError,
    UnsupportedFormatError,
)
from artstore.lineage import VersionInfo
from artstore.storage import DEFAULT_CALLBACK, BlobStore, Callback, Digest, Kind

__all__ = ["ArtifactVersion"]


class ArtifactVersion:
    """One logged version of an artifact, as W&B's ``Artifact`` returned by ``use_artifact``.

    ``keep_out`` names the local places its downloads must never write (the store's folder
    and catalog; see ``Repository.keep_out``), so only the store makes versions.
    """

    def __init__(
        self,
        info: VersionInfo,
        blobs: BlobStore,
        *,
        keep_out: KeepOut,
        created: bool = True,
        new_bytes: int | None = None,
    ) -> None:
        self._info = info
        self._blobs = blobs
        self._keep_out = keep_out
        self._manifest: Manifest | None = None
        #: False when logging found identical content and returned the existing version.
        self.created = created
        self._new_bytes = new_bytes

    @property
    def name(self) -> str:
        """The artifact's name."""
        return self._info.artifact

    @property
    def version(self) -> str:
        """The version label, ``v3``."""
        return f"v{self._info.number}"

    @property
    def number(self) -> int:
        """The version number, 3."""
        return self._info.number

    @property
    def digest(self) -> str:
        """The manifest digest: same content, same digest."""
        return self._info.digest

    @property
    def size(self) -> int:
        """Total bytes of the version's files."""
        return self._info.size

    @property
    def file_count(self) -> int:
        """How many files the version holds."""
        return self._info.file_count

    @property
    def new_bytes(self) -> int | None:
        """The new bytes a put wrote: file data the store did not hold yet. On the version a
        put returns, what that put wrote (0 for an unchanged re-put); on a version looked up,
        what the put that created it wrote (recorded in the catalog; None for versions logged
        before it was recorded)."""
        return self._info.new_bytes if self._new_bytes is None else self._new_bytes

    @property
    def type(self) -> str:
        """The artifact's type."""
        return self._info.type

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata logged with this version (a copy)."""
        return dict(self._info.metadata)

    @property
    def aliases(self) -> tuple[str, ...]:
        """The aliases on this version when it was read, sorted."""
        return self._info.aliases

    @property
    def created_by(self) -> str | None:
        """The id of the run that first created this version, if a run did."""
        return self._info.created_by_run

    @property
    def created_by_user(self) -> str:
        """``user@host`` that first created this version."""
        return self._info.created_by_user

    @property
    def created_at(self) -> datetime:
        """When the version was first created (UTC)."""
        return self._info.created_at

    @property
    def qualified_name(self) -> str:
        """``name:v3``."""
        return f"{self.name}:{self.version}"

    def manifest(self) -> Manifest:
        """The version's manifest, read from the store and verified once.

        Raises:
            NotFoundError: the manifest is missing (names the version).
            CorruptBlobError: its bytes do not match its digest (names the version).
            UnsupportedFormatError: it is not a manifest this artstore can read (or the
                catalog's digest for it is malformed).
            UnsafePathError: it holds an unsafe or colliding path.
        """
        if self._manifest is None:
            try:
                digest = Digest.parse(self.digest)
            except ValueError:
                raise UnsupportedFormatError(
                    f"the catalog names the manifest of {self.qualified_name} "
                    f"{self.digest[:40]!r}, which is not a digest"
                ) from None
            try:
                raw = self._blobs.read_bytes(Kind.MANIFEST, digest)
            except NotFoundError:
                raise NotFoundError(
                    f"the manifest of {self.qualified_name} ({self.digest}) is missing from "
                    f"{self._blobs.url}; run `art verify` to list every damaged version, then "
                    "put its files again"
                ) from None
            except CorruptBlobError as exc:
                raise CorruptBlobError(
                    exc.expected, exc.actual, artifact=self.qualified_name
                ) from None
            self._manifest = Manifest.decode(raw, f"manifest of {self.qualified_name}")
        return self._manifest

    def files(self) -> list[FileEntry]:
        """The version's files, sorted by path."""
        return list(self.manifest())

    def download(
        self, root: str | Path | None = None, *, callback: Callback = DEFAULT_CALLBACK
    ) -> Path:
        """Write every file under ``root`` (default ``./artifacts/<name>-v<N>``), verified.

        Every destination is checked before the first byte is written.

        Raises:
            CorruptBlobError: a stored file does not match its digest (names the file).
            NotFoundError: a stored file or the manifest is missing (names the file).
            UnsafePathError: a path would land outside ``root``.
            FileAccessError: a destination cannot be written (a file or folder in the way, a
                dangling link, no permission, too long), or lies in the store's own folder or
                is its catalog.
        """
        target = Path(root) if root is not None else self.default_root()
        return materialize(
            self._blobs,
            self.files(),
            target,
            label=self.qualified_name,
            keep_out=self._keep_out,
            callback=callback,
        )

    def file(self, path: str, root: str | Path | None = None) -> Path:
        """Download one file and return its local path.

        Raises:
            NotFoundError: the version has no file at ``path``.
            InvalidArgumentError: ``path`` is not a string.
            FileAccessError, CorruptBlobError: as for :meth:`download`.
        """
        if not isinstance(path, str):
            raise InvalidArgumentError(f"a file path is a string, not a {type(path).__name__}")
        entry = self.manifest().entries.get(path)
        if entry is None:
            raise NotFoundError(
                f"{self.qualified_name} has no file {path!r}; see: art ls {self.qualified_name}"
            )
        target = Path(root) if root is not None else self.default_root()
        materialize(
            self._blobs, [entry], target, label=self.qualified_name, keep_out=self._keep_out
        )
        return target / entry.path

    def default_root(self) -> Path:
        """``./artifacts/<name>-v<N>``, where downloads go by default."""
        return Path("artifacts") / f"{self.name}-{self.version}"

    def __repr__(self) -> str:
        return f"<ArtifactVersion {self.qualified_name} {self.type} {self.size} bytes>"
