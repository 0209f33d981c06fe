"""Logging a version: blobs, then the manifest, then the catalog row. One place owns the order."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.identity import current_actor
from artstore.artifacts.manifest import Chunk, FileEntry, Manifest, check_tree, encode_entries
from artstore.errors import ArtifactTypeError, CorruptBlobError, NotFoundError, UserError
from artstore.lineage import Actor, LogResult, NewVersion, VersionInfo
from artstore.storage import (
    DEFAULT_CALLBACK,
    AnyStatKey,
    BlobStore,
    Callback,
    Digest,
    Kind,
    LocalFile,
    StatCache,
    chunks_file,
    file_set_key,
    hash_bytes,
    stat_sources,
)

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import Catalog

__all__ = ["Logged", "StagedVersion", "check_type", "log_artifact", "record", "stage"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StagedVersion:
    """An artifact whose files and manifest are in a blob store, not yet recorded as a
    version: what :func:`record` writes to a catalog, or an offline spool keeps until sync."""

    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    digest: Digest
    size: int
    file_count: int
    #: The bytes of file data the put wrote to the blob store (pieces and blobs it did not
    #: hold yet); ``size`` less what was already stored.
    new_bytes: int = 0

    @classmethod
    def of(
        cls, artifact: Artifact, digest: Digest, size: int, file_count: int, new_bytes: int = 0
    ) -> StagedVersion:
        """``artifact``, staged under the manifest ``digest``."""
        return cls(
            artifact.name,
            artifact.type,
            artifact.description,
            dict(artifact.metadata),
            digest,
            size,
            file_count,
            new_bytes,
        )


@dataclass(frozen=True, slots=True)
class Logged:
    """What :func:`log_artifact` did: the catalog's :class:`~artstore.lineage.LogResult`
    (the version, whether it was created, the metadata keys ignored), and the bytes of file
    data the put stored (0 when the store held every blob already)."""

    version: VersionInfo
    created: bool
    ignored_metadata_keys: tuple[str, ...]
    new_bytes: int


def _nothing() -> None:
    return None


def stage(
    blobs: BlobStore,
    artifact: Artifact,
    stat_cache: StatCache,
    callback: Callback = DEFAULT_CALLBACK,
    *,
    catalog_files: Sequence[Path] = (),
    before_write: Callable[[], object] = _nothing,
) -> StagedVersion:
    """Stage ``artifact``: put every file and its manifest into ``blobs``, durably.

    The store's own folder, and the files of its SQLite catalog (``catalog_files``: the
    database and its journals), are left out with a warning: a store never contains itself.
    Files whose stat is unchanged since they were last hashed are not read again when their
    blob is intact (at least its size); a large file, stored in pieces, when its remembered
    pieces are all intact. A folder whose every file is unchanged maps straight
    to its stored manifest, whose blobs are checked the same way, so it costs one stat per
    file and per blob. Staging files that interrupted puts left behind are removed first.

    ``before_write`` runs once before the first object is written (it may raise, e.g. when the
    artifact exists with another type): a refused put writes nothing.

    Raises:
        SourceChangedError: a file changed while it was read; nothing of the put was kept.
        NotFoundError: a file no longer exists.
        FileAccessError: a file cannot be read or is not a regular file.
        UnsafePathError: a file is now a link leading outside the folder it was added from,
            or one path is a file and also the folder of another (``a`` and ``a/b``).
        UserError: every file is part of the store itself.
    """
    blobs.remove_debris()
    origins = _without_store(artifact, blobs, catalog_files)
    check_tree([path for path, _, _ in origins])  # before anything is written
    stats = stat_sources([(source, within) for _, source, within in origins])
    # (dev, ino, size, mtime_ns, exec bits): read once, as attribute reads add up per file.
    facts = [(s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_mode & 0o111) for s in stats]
    sizes = [f[2] for f in facts]
    total = sum(sizes)
    callback.set_size(total)
    # A folder whose every file is unchanged maps straight to its stored manifest.
    # Its manifest holds piece lists, or none when large files are stored whole: the mode
    # matters only when a file is large enough to be cut.
    chunked = bool(sizes) and chunks_file(max(sizes))
    set_key = file_set_key([path for path, _, _ in origins], facts, chunked=chunked)
    if set_key is not None:
        digest = stat_cache.lookup_set(set_key)
        if digest is not None and _intact(blobs, digest):
            callback.relative_update(total)
            return StagedVersion.of(artifact, digest, total, len(origins))

    keys: list[AnyStatKey] = [f[:4] for f in facts]
    known = stat_cache.lookup(keys)
    cached = {i: known[key] for i, key in enumerate(keys) if key in known}
    pieces = _known_pieces(stat_cache, cached, sizes)
    # The stat cache outlives blobs (another store, a collected or quarantined blob): a file
    # with a blob (or piece) that is missing or has another size is stored again from the file.
    refs = {i: _blob_refs(cached[i], sizes[i], pieces.get(i)) for i in cached}
    damaged = blobs.unusable(Kind.BLOB, {c.digest: c.size for r in refs.values() for c in r})
    todo = [
        i for i in range(len(keys)) if not refs.get(i) or any(c.digest in damaged for c in refs[i])
    ]
    files = [
        LocalFile(origins[i][1], keys[i], cached.get(i), origins[i][2], pieces.get(i)) for i in todo
    ]
    ready = _once(before_write)
    results = blobs.put_files(files, callback=callback, before_write=ready, chunked=True)
    digests: list[Digest | None] = [cached.get(i) for i in range(len(keys))]
    fresh: dict[AnyStatKey, Digest] = {}
    for i, result in zip(todo, results, strict=True):
        digests[i] = result.digest
        pieces[i] = result.chunks
        fresh[keys[i]] = result.digest  # the stat seen before and after the read
    hexes = [cast(Digest, d).hex for d in digests]  # every file is known or was just put
    if any(pieces.values()):
        raw = Manifest.build(
            FileEntry(
                path, Digest.trusted(hexes[i]), sizes[i], bool(facts[i][4]), pieces.get(i, ())
            )
            for i, (path, _, _) in enumerate(origins)
        ).encode()
    else:
        raw = encode_entries(
            (path, hexes[i], sizes[i], bool(facts[i][4])) for i, (path, _, _) in enumerate(origins)
        )
    digest = hash_bytes(raw)
    callback.relative_update(total - sum(r.size for r in results))
    blobs.sync()
    if blobs.unusable(Kind.MANIFEST, {digest: len(raw)}):
        ready()
        blobs.put_bytes(Kind.MANIFEST, raw)
        blobs.sync()
    stat_cache.record(fresh)
    stat_cache.record_chunks({r.digest: r.chunks for r in results if r.chunks})
    if set_key is not None:
        stat_cache.record_set(set_key, digest)
    new_bytes = sum(r.new_bytes for r in results)
    return StagedVersion.of(artifact, digest, total, len(origins), new_bytes)


def _known_pieces(
    stat_cache: StatCache, cached: dict[int, Digest], sizes: list[int]
) -> dict[int, tuple[Chunk, ...]]:
    """The remembered pieces of the unchanged files (by index) that are stored in pieces."""
    large = {i: d for i, d in cached.items() if chunks_file(sizes[i])}
    if not large:
        return {}
    lists = stat_cache.lookup_chunks({d: sizes[i] for i, d in large.items()})
    return {i: lists[d] for i, d in large.items() if d in lists}


def _blob_refs(digest: Digest, size: int, pieces: tuple[Chunk, ...] | None) -> tuple[Chunk, ...]:
    """The blobs an unchanged file is stored in: its one blob, or its remembered pieces (none
    when they are not remembered: the file must be read)."""
    if chunks_file(size):
        return pieces or ()
    return (Chunk(digest, size),)


def _once(call: Callable[[], object]) -> Callable[[], None]:
    done: list[bool] = []

    def once() -> None:
        if not done:
            call()
            done.append(True)

    return once


def _intact(blobs: BlobStore, manifest: Digest) -> bool:
    """Whether a stored manifest and every blob it names (a chunked file's pieces) are there,
    blobs with their sizes."""
    try:
        raw = blobs.read_bytes(Kind.MANIFEST, manifest)
    except (NotFoundError, CorruptBlobError):
        return False
    return blobs.all_intact(Kind.BLOB, _blob_sizes(raw))


def _blob_sizes(raw: bytes) -> list[tuple[str, int]]:
    """The (hex digest, size) of every blob a manifest written by artstore names: what
    ``FileEntry.blob_refs()`` of its decoded entries gives (a test holds them equal).

    Hand-written because it is the re-put fast path: ``Manifest.decode`` checks every path and
    builds objects, which measured 175 ms against 70 ms for the whole check of a 20,000-file
    manifest; the manifest was hashed when read, and its set key says artstore wrote it.
    """
    entries = json.loads(raw)["entries"].values()
    refs = [(e["digest"], e["size"]) for e in entries if "chunks" not in e]
    refs += [(c["digest"], c["size"]) for e in entries if "chunks" in e for c in e["chunks"]]
    return refs


def _without_store(
    artifact: Artifact, blobs: BlobStore, catalog_files: Sequence[Path]
) -> list[tuple[str, str, str | None]]:
    """The artifact's files, less the store's own: its folder, and the SQLite catalog's files
    when they lie in a folder being logged."""
    origins = artifact.origins()
    root = blobs.local_root
    folder = None if root is None else os.path.realpath(root)
    files = {os.path.realpath(f) for f in catalog_files}
    own = [*files] if folder is None else [folder, *files]
    # Only a folder that holds the store can bring its files in: check those alone.
    withins = {w for _, _, w in origins}
    holders = {w for w in withins if w is not None and any(_inside(p, w) for p in own)}
    if not holders and None not in withins:
        return origins
    kept: list[tuple[str, str, str | None]] = []
    left: dict[str, int] = {}
    for origin in origins:
        source, within = origin[1], origin[2]
        if within is None or within in holders:
            if folder is not None and _inside(source, folder):
                left[folder] = left.get(folder, 0) + 1
                continue
            if source in files:
                place = f"the catalog {min(files)}"
                left[place] = left.get(place, 0) + 1
                continue
        kept.append(origin)
    if not left:
        return origins
    what = f"{sum(left.values())} files of the store itself ({', '.join(left)})"
    if not kept:
        raise UserError(
            f"nothing to log in {artifact.name}: all its files are {what}; "
            "a store never contains itself"
        )
    logger.warning("left %s out of %s; a store never contains itself", what, artifact.name)
    return kept


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def check_type(catalog: Catalog, artifact: Artifact) -> None:
    """Refuse an artifact whose name exists in the catalog with another type.

    Raises:
        ArtifactTypeError: it does.
    """
    try:
        existing = catalog.versions.artifact(artifact.name).type
    except NotFoundError:
        return
    if existing != artifact.type:
        raise ArtifactTypeError(artifact.name, existing, artifact.type)


def record(
    catalog: Catalog, staged: StagedVersion, *, aliases: list[str], actor: Actor
) -> LogResult:
    """Record a staged version in the catalog (one transaction), by ``actor``."""
    new = NewVersion(
        name=staged.name,
        type=staged.type,
        description=staged.description,
        digest=staged.digest.hex,
        size=staged.size,
        file_count=staged.file_count,
        metadata=staged.metadata,
        aliases=aliases,
        new_bytes=staged.new_bytes,
    )
    result = catalog.versions.record(new, actor)
    if result.ignored_metadata_keys:
        logger.warning(
            "%s is unchanged, so it stays %s and keeps its metadata; ignored new values for: %s",
            staged.name,
            result.version.version,
            ", ".join(result.ignored_metadata_keys),
        )
    return result


def log_artifact(
    repo: Repository,
    artifact: Artifact,
    aliases: list[str],
    *,
    run_id: str | None,
    callback: Callback = DEFAULT_CALLBACK,
) -> Logged:
    """Store an artifact's files in ``repo`` and record them as its next version (``aliases``
    already checked as settable). The implicit ``./.artstore`` is created here, on the first
    write; protected aliases are refused before any file is copied (the catalog refuses them
    again in its transaction); the catalog opens while the files are read, and the artifact's
    type is checked before the first write (the transaction checks again).
    """
    blobs = repo.writable_blobs()
    repo.check_unprotected(artifact.name, aliases)
    with ThreadPoolExecutor(1, thread_name_prefix="artstore-catalog") as pool:
        opening = repo.opening_catalog(pool)
        staged = stage(
            blobs,
            artifact,
            repo.stat_cache,
            callback,
            catalog_files=repo.keep_out.catalog,
            before_write=lambda: check_type(opening.result(), artifact),
        )
        catalog = opening.result()
    run_id = repo.known_run(run_id)
    # The alias history rows of a log carry the same actor fields as any other move.
    actor = current_actor(run_id=run_id)
    result = record(catalog, staged, aliases=aliases, actor=actor)
    return Logged(result.version, result.created, result.ignored_metadata_keys, staged.new_bytes)
