"""Moving versions between blob stores: staging files anywhere, importing staged versions."""

from __future__ import annotations

from typing import Any

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.log import stage
from artstore.artifacts.manifest import Manifest
from artstore.errors import CorruptBlobError, InvalidArgumentError
from artstore.storage import BlobStore, Digest, Kind, StatCache

__all__ = ["StagedVersion", "copy_version", "stage_artifact"]


class StagedVersion:
    """An artifact's files and manifest in some blob store, not yet recorded in a catalog."""

    __slots__ = ("description", "digest", "metadata", "name", "type")

    def __init__(
        self, name: str, type: str, description: str | None, metadata: dict[str, Any], digest: str
    ) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.metadata = metadata
        self.digest = digest

    def to_json(self) -> dict[str, Any]:
        """The fields that describe the staged version (for spool files)."""
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "metadata": self.metadata,
            "digest": self.digest,
        }


def stage_artifact(blobs: BlobStore, artifact: Artifact, stat_cache: StatCache) -> StagedVersion:
    """Put an artifact's files and manifest into ``blobs`` without recording a version."""
    staged = stage(blobs, artifact, stat_cache)
    return StagedVersion(
        artifact.name,
        artifact.type,
        artifact.description,
        dict(artifact.metadata),
        staged.digest.hex,
    )


def copy_version(source: BlobStore, target: BlobStore, digest: str) -> Manifest:
    """Copy a manifest and the blobs it references from ``source``, a store on the local disk
    (an offline spool), to ``target`` (what is missing only), blobs first, verifying each;
    returns the manifest.

    Raises:
        CorruptBlobError: a source blob does not match its digest.
        InvalidArgumentError: ``source`` is not on the local disk.
    """
    if not source.backend.local:
        raise InvalidArgumentError(f"copy_version reads from a local store, not {source.url}")
    manifest_digest = Digest.parse(digest)
    raw = source.read_bytes(Kind.MANIFEST, manifest_digest)
    manifest = Manifest.decode(raw, f"manifest {digest}")
    needed = {e.digest for e in manifest}
    for blob in sorted(target.missing(Kind.BLOB, needed), key=str):
        # Streamed and re-hashed on the way: a corrupt source blob is caught, not copied.
        stored = target.put_file(source.path(Kind.BLOB, blob))
        if stored.digest != blob:
            raise CorruptBlobError(blob.hex, stored.digest.hex)
    target.sync()
    target.put_bytes(Kind.MANIFEST, raw)
    target.sync()
    return manifest
