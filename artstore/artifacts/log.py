"""Logging a version: blobs, then the manifest, then the catalog row. One place owns the order."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.manifest import encode_entries
from artstore.lineage import LogResult
from artstore.storage import (
    DEFAULT_CALLBACK,
    AnyStatKey,
    BlobStore,
    Callback,
    Digest,
    Kind,
    StatCache,
    file_set_key,
    hash_bytes,
)

if TYPE_CHECKING:
    from artstore.lineage import Catalog

__all__ = ["Staged", "commit", "stage"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Staged:
    """An artifact whose files are all in the blob store, with its manifest stored too."""

    digest: Digest
    size: int
    file_count: int


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
    sources = artifact.sources()
    stats = [os.stat(source) for _, source in sources]
    # (dev, ino, size, mtime_ns, exec bits): read once, as attribute reads add up per file.
    facts = [(s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_mode & 0o111) for s in stats]
    sizes = [f[2] for f in facts]
    callback.set_size(sum(sizes))
    # A folder whose every file is unchanged maps straight to its stored manifest.
    set_key = file_set_key([path for path, _ in sources], facts)
    if set_key is not None:
        digest = stat_cache.lookup_set(set_key)
        if digest is not None and blobs.has(Kind.MANIFEST, digest):
            callback.relative_update(sum(sizes))
            return Staged(digest=digest, size=sum(sizes), file_count=len(sources))

    keys: list[AnyStatKey] = [f[:4] for f in facts]
    known = stat_cache.lookup(keys)

    misses = [i for i, key in enumerate(keys) if key not in known]
    results = blobs.put_files([(sources[i][1], sizes[i]) for i in misses], callback=callback)
    digests: list[Digest | None] = [known.get(key) for key in keys]
    fresh: dict[AnyStatKey, Digest] = {}
    for i, result in zip(misses, results, strict=True):
        digests[i], sizes[i] = result.digest, result.size
        fresh[keys[i]] = result.digest
    hexes = [cast(Digest, d).hex for d in digests]  # every file is known or was just put
    raw = encode_entries(
        (path, hexes[i], sizes[i], bool(facts[i][4])) for i, (path, _) in enumerate(sources)
    )
    digest = hash_bytes(raw)
    cached = [i for i, key in enumerate(keys) if key in known]
    callback.relative_update(sum(sizes[i] for i in cached))
    if not blobs.has(Kind.MANIFEST, digest):
        # The stat cache outlives blobs (another store, or a collected one): re-put the lost.
        lost = blobs.missing(Kind.BLOB, (known[keys[i]] for i in cached))
        for i in cached:
            if known[keys[i]] in lost:
                blobs.put_file(sources[i][1])
                lost.discard(known[keys[i]])
        blobs.sync()
        blobs.put_bytes(Kind.MANIFEST, raw)
        blobs.sync()
    stat_cache.record(fresh)
    if set_key is not None:
        stat_cache.record_set(set_key, digest)
    return Staged(digest=digest, size=sum(sizes), file_count=len(sources))


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
        size=staged.size,
        file_count=staged.file_count,
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
