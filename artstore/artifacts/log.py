"""Logging a version: blobs, then the manifest, then the catalog row. One place owns the order."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.manifest import FileEntry, Manifest
from artstore.lineage import Catalog, LogResult
from artstore.storage import (
    DEFAULT_CALLBACK,
    BlobStore,
    Callback,
    Digest,
    Kind,
    StatCache,
    StatKey,
    hash_bytes,
)

__all__ = ["Staged", "commit", "stage"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Staged:
    """An artifact whose files are all in the blob store, with its manifest stored too."""

    manifest: Manifest
    digest: Digest
    new_bytes: int


def stage(
    blobs: BlobStore,
    artifact: Artifact,
    stat_cache: StatCache,
    callback: Callback = DEFAULT_CALLBACK,
) -> Staged:
    """Put every file of ``artifact`` and its manifest into the blob store, durably.

    Files whose stat is unchanged since they were last hashed are not read again. If the
    manifest is already stored, so are all its blobs (manifests are written only after their
    blobs), so an unchanged folder costs one stat per file and one existence check.
    """
    sources = artifact.files
    stats = {path: StatKey.of(os.stat(src)) for path, src in sources.items()}
    known = stat_cache.lookup(stats.values())
    callback.set_size(sum(k.size for k in stats.values()))

    digests = {path: known[key] for path, key in stats.items() if key in known}
    sizes = {path: key.size for path, key in stats.items() if key in known}
    misses = [path for path in stats if path not in digests]
    results = blobs.put_files([(sources[p], stats[p].size) for p in misses], callback=callback)
    fresh: dict[StatKey, Digest] = {}
    new_bytes = 0
    for path, result in zip(misses, results, strict=True):
        digests[path], sizes[path] = result.digest, result.size
        new_bytes += result.size if result.stored else 0
        fresh[stats[path]] = result.digest

    manifest = Manifest.build(
        FileEntry(path, digests[path], sizes[path], artifact.is_executable(path)) for path in stats
    )
    raw = manifest.encode()
    digest = hash_bytes(raw)
    cached = [p for p, k in stats.items() if k in known]
    callback.relative_update(sum(stats[p].size for p in cached))
    if not blobs.has(Kind.MANIFEST, digest):
        # The stat cache outlives blobs (another store, or a collected one): re-put the lost.
        lost = blobs.missing(Kind.BLOB, (digests[p] for p in cached))
        for path in cached:
            if digests[path] in lost:
                result = blobs.put_file(sources[path])
                new_bytes += result.size if result.stored else 0
                lost.discard(digests[path])
        blobs.sync()
        blobs.put_bytes(Kind.MANIFEST, raw)
        blobs.sync()
    stat_cache.record(fresh)
    return Staged(manifest=manifest, digest=digest, new_bytes=new_bytes)


def commit(
    catalog: Catalog,
    artifact: Artifact,
    staged: Staged,
    *,
    aliases: list[str],
    who: str,
    run_id: str | None,
) -> LogResult:
    """Record a staged artifact as a version in the catalog (one transaction)."""
    result = catalog.record_version(
        name=artifact.name,
        type=artifact.type,
        description=artifact.description,
        digest=staged.digest.hex,
        size=staged.manifest.size,
        file_count=len(staged.manifest),
        metadata=artifact.metadata,
        who=who,
        run_id=run_id,
        aliases=aliases,
    )
    if result.ignored_metadata_keys:
        logger.warning(
            "%s is unchanged, so it stays %s and keeps its metadata; ignored new values for: %s",
            artifact.name,
            result.version.version,
            ", ".join(result.ignored_metadata_keys),
        )
    return result
