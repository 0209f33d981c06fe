"""Moving a staged version between blob stores: from an offline spool into the store it syncs to.

Staging into any blob store is :func:`artstore.artifacts.log.stage`; this copies what was
staged, so that the catalog can record it.
"""

from __future__ import annotations

from collections.abc import Iterable

from artstore.artifacts.manifest import Manifest
from artstore.errors import CorruptBlobError, InvalidArgumentError
from artstore.storage import BlobStore, Digest, Kind, hash_file

__all__ = ["copy_blobs", "copy_version"]


def copy_version(source: BlobStore, target: BlobStore, digest: str) -> Manifest:
    """Copy a manifest and the blobs it references (each file's one blob, or its chunks) from
    ``source``, a store on the local disk (an offline spool), to ``target`` (what is missing
    only), blobs first, verifying each; returns the manifest.

    Raises:
        InvalidNameError: ``digest`` is not 32 lowercase hex characters.
        NotFoundError: ``source`` has no such manifest.
        CorruptBlobError: a source blob does not match its digest.
        InvalidArgumentError: ``source`` is not on the local disk.
    """
    if not source.backend.local:
        raise InvalidArgumentError(f"copy_version reads from a local store, not {source.url}")
    manifest_digest = Digest.parse(digest)
    raw = source.read_bytes(Kind.MANIFEST, manifest_digest)
    manifest = Manifest.decode(raw, f"manifest {digest}")
    copy_blobs(source, target, {blob.digest for e in manifest for blob in e.blob_refs()})
    target.put_bytes(Kind.MANIFEST, raw)
    target.sync()
    return manifest


def copy_blobs(source: BlobStore, target: BlobStore, digests: Iterable[Digest]) -> None:
    """Copy the blobs ``target`` lacks from ``source``, a store on the local disk, verifying
    each, and make them durable.

    Raises:
        CorruptBlobError: a source blob does not match its digest (it is not copied; the
            blobs copied before it are, unreferenced until a catalog row names them).
        InvalidArgumentError: ``source`` is not on the local disk.
    """
    if not source.backend.local:
        raise InvalidArgumentError(f"copy_blobs reads from a local store, not {source.url}")
    for blob in sorted(target.missing(Kind.BLOB, set(digests)), key=str):
        path = source.path(Kind.BLOB, blob)
        # Hashed before it is copied: a corrupt source blob leaves no blob in the target (a
        # second read of a local file, cheaper than an orphan upload to a bucket).
        actual, _ = hash_file(path)
        if actual != blob:
            raise CorruptBlobError(blob.hex, actual.hex)
        # A blob is copied as the one blob it is: a piece of 8 MiB or more cut up again would
        # leave the target without the blob its manifest names.
        stored = target.put_file(path, chunked=False)
        if stored.digest != blob:  # changed since it was hashed
            raise CorruptBlobError(blob.hex, stored.digest.hex)
    target.sync()
