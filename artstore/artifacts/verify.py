"""Checking stored versions: every manifest readable and safe, every blob present with the
size its manifest says (and, deeply, hashing to its name); for the whole store, the files kept
with runs and the media blobs their histories reference too; repairing what can heal.

Repair never deletes data: a corrupt object is moved aside to ``quarantine/``, so that the
next put of the good file stores it again, and staging files of interrupted writes older than
``DEBRIS_GRACE`` are removed from ``tmp/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from artstore.artifacts.lookup import every_version, get_version, list_versions
from artstore.artifacts.manifest import FileEntry
from artstore.artifacts.media import blobs_of, check_reference
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import (
    ChunkListError,
    CorruptBlobError,
    InvalidValueError,
    NotFoundError,
    UserError,
    chunk_label,
)
from artstore.lineage import MetricRecord, RunFile
from artstore.storage import BlobStore, Chunk, Digest, Kind

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository

__all__ = ["Problem", "ProblemKind", "VerifyReport", "verify", "verify_versions"]

_WHOLE_READ = 1 << 20  # bytes read at a time when a chunked file is read whole

ProblemKind = Literal[
    "missing", "corrupt", "wrong-size", "bad-manifest", "bad-reference", "bad-chunks"
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one version or run: a missing, corrupt or wrong-sized file or media
    blob, a manifest that is missing, corrupt, unreadable or unsafe, or a media reference in a
    run's history that is malformed (``bad-reference``).

    ``version`` names what holds the file (``run <id>`` for a file kept with a run or a media
    blob of its history, whose id is then ``run``); a media blob has the ``key`` and ``step``
    it was logged at (its ``path`` is the key); ``digest`` is the expected digest (the blob's,
    or the manifest's for ``bad-manifest``; None for a ``bad-reference``, which names no
    blob); ``actual`` what the bytes hash to when they were hashed; ``size``/``actual_size``
    the sizes of a ``wrong-size`` file; ``reason`` why a
    manifest or a media reference is bad; ``quarantined`` where repair moved the damaged
    object (relative to the store root). For a file stored in chunks, ``chunk`` is the index
    (from 0; the text counts from 1) of the damaged piece of ``chunks``, and ``digest``, sizes
    and ``actual`` are the piece's. ``bad-chunks`` (found by a deep check): every piece of a
    chunked file is good, but together they do not make the file, whose ``digest`` and
    ``size`` the manifest gives (``actual``/``actual_size``: what the pieces make).
    """

    version: str
    path: str | None
    kind: ProblemKind
    digest: str | None
    actual: str | None = None
    size: int | None = None
    actual_size: int | None = None
    reason: str | None = None
    quarantined: str | None = None
    run: str | None = None
    key: str | None = None
    step: int | None = None
    chunk: int | None = None
    chunks: int | None = None

    def __str__(self) -> str:
        if self.key is None:
            where = f"{self.version} {self.path!r}"
            if self.chunk is not None:
                where += f" {chunk_label(self.chunk, self.chunks)}"
        else:
            where = f"{self.version} {self.key!r} step {self.step}"
        if self.kind == "bad-manifest":
            text = f"{self.version} manifest {self.digest}: {self.reason}"
        elif self.kind == "bad-reference":
            text = f"{where}: {self.reason}"
        elif self.kind == "bad-chunks":
            text = (
                f"{where}: its {self.chunks} chunks are intact but together hash to "
                f"{self.actual}, not to the file's digest {self.digest}: the manifest's list of "
                "chunks does not make the file; put the files again"
            )
        elif self.kind == "missing":
            text = f"{where}: missing (blob {self.digest})"
        elif self.kind == "corrupt":
            text = f"{where}: corrupt (blob {self.digest} hashes to {self.actual})"
        else:
            text = (
                f"{where}: wrong size (blob {self.digest} holds {self.actual_size} bytes, "
                f"the manifest says {self.size}"
            )
            if self.actual == self.digest:
                text += "; its bytes are good, so the manifest is wrong: put the files again)"
            elif self.actual is not None:
                text += f"; it hashes to {self.actual})"
            else:
                text += ")"
        if self.quarantined is not None:
            text += f"; moved to {self.quarantined}: put the good file again to heal the store"
        return text


@dataclass(slots=True)
class VerifyReport:
    """What a verification read, what it found wrong, and what it repaired.

    ``files`` counts the files of versions, ``run_files`` the files kept with runs and
    ``media`` the media blobs their histories reference (each checked in the whole-store
    verification, a blob logged at two steps counting twice); ``debris`` and ``debris_bytes``
    count the staging files of interrupted writes found in ``tmp/`` (older than the grace
    period); ``debris_removed`` how many of them repair removed.
    """

    deep: bool = False
    versions: int = 0
    files: int = 0
    run_files: int = 0
    media: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    debris: int = 0
    debris_bytes: int = 0
    debris_removed: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (stale debris alone is not a problem)."""
        return not self.problems


@dataclass(slots=True)
class _Blob:
    """What was found about one blob: its stored size (None: missing), its actual digest when
    hashed, and where repair moved it."""

    size: int | None
    actual: Digest | None = None
    repaired: bool = False
    quarantined: str | None = None


def verify(
    repo: Repository, ref: str | None = None, *, deep: bool = False, repair: bool = False
) -> VerifyReport:
    """Check one version (``name:ref``), every version of an artifact (``name``), or the
    whole store (None, which also checks the files kept with runs and the media blobs their
    histories reference, each read in one catalog query, and counts the staging files of
    interrupted writes); see
    :meth:`artstore.artifacts.Store.verify` for the contract.

    Raises:
        NotFoundError: no such artifact or version.
    """
    if ref is None:
        versions = every_version(repo)
    elif ":" in ref:
        versions = [get_version(repo, ref)]
    else:
        versions = list_versions(repo, ref)
    whole = ref is None
    return verify_versions(
        repo.blobs,
        versions,
        deep=deep,
        repair=repair,
        debris=whole,
        run_files=repo.catalog.runs.every_file() if whole else (),
        run_media=repo.catalog.runs.every_media() if whole else (),
    )


def verify_versions(
    blobs: BlobStore,
    versions: Iterable[ArtifactVersion],
    *,
    deep: bool = False,
    repair: bool = False,
    debris: bool = False,
    run_files: Iterable[tuple[str, RunFile]] = (),
    run_media: Iterable[MetricRecord] = (),
) -> VerifyReport:
    """Check every version, each blob once, and report every problem of every version.

    Args:
        blobs: the store's blob store.
        versions: the versions to check.
        deep: also hash every blob (manifests are always hashed when read), and read each
            chunked file through its pieces once, to check that they make the file.
        repair: move corrupt and wrong-sized objects to ``quarantine/`` (each is hashed first:
            a blob whose bytes are good stays), and remove stale staging files.
        debris: count (and with ``repair`` remove) the staging files in ``tmp/``.
        run_files: files kept with runs, each with its run's id, to check as version files.
        run_media: media values of runs' histories, whose blobs to check as version files.
    """
    report = VerifyReport(deep=deep)
    seen: dict[Digest, _Blob] = {}
    wholes: dict[tuple[Digest, int, tuple[Chunk, ...]], ChunkListError | None] = {}
    bad_manifests: dict[str, Problem] = {}
    for version in versions:
        report.versions += 1
        known = bad_manifests.get(version.digest)
        if known is not None:  # another version of the same content: judged already
            report.problems.append(replace(known, version=version.qualified_name))
            continue
        try:
            entries = version.files()
        except (UserError, CorruptBlobError) as exc:
            bad = bad_manifests[version.digest] = _manifest_problem(
                blobs, version, exc, repair, report
            )
            report.problems.append(bad)
            continue
        for entry in entries:
            report.files += 1
            if not entry.chunks:
                _check(blobs, version.qualified_name, entry, seen, report, deep=deep, repair=repair)
                continue
            before = len(report.problems)
            for index, chunk in enumerate(entry.chunks):  # each piece checked as a blob
                piece = FileEntry(entry.path, chunk.digest, chunk.size)
                _check(
                    blobs,
                    version.qualified_name,
                    piece,
                    seen,
                    report,
                    deep=deep,
                    repair=repair,
                    chunk=index,
                    chunks=len(entry.chunks),
                )
            if deep and len(report.problems) == before:
                _check_whole(blobs, version.qualified_name, entry, wholes, report)
    for run_id, kept in run_files:
        report.run_files += 1
        entry = FileEntry(kept.name, Digest.parse(kept.digest), kept.size)
        _check(blobs, f"run {run_id}", entry, seen, report, deep=deep, repair=repair, run=run_id)
    for row in run_media:
        _check_media(blobs, row, seen, report, deep=deep, repair=repair)
    if debris:
        stale = blobs.debris()
        report.debris = len(stale)
        report.debris_bytes = sum(size for _, size in stale)
        if repair:
            report.debris_removed = blobs.remove_debris()[0]
    return report


def _check(
    blobs: BlobStore,
    label: str,
    entry: FileEntry,
    seen: dict[Digest, _Blob],
    report: VerifyReport,
    *,
    deep: bool,
    repair: bool,
    run: str | None = None,
    key: str | None = None,
    step: int | None = None,
    chunk: int | None = None,
    chunks: int | None = None,
) -> None:
    found = seen.get(entry.digest)
    if found is None:
        found = seen[entry.digest] = _inspect(blobs, entry.digest, deep)
        report.blobs += 1
        report.bytes += entry.size
    problem = _blob_problem(label, entry, found)
    if problem is not None and repair and problem.kind != "missing" and not found.repaired:
        _repair(blobs, entry.digest, found, report)
        problem = _blob_problem(label, entry, found)
    if problem is not None:
        if run is not None or chunk is not None:
            problem = replace(problem, run=run, key=key, step=step, chunk=chunk, chunks=chunks)
        report.problems.append(problem)


def _check_whole(
    blobs: BlobStore,
    label: str,
    entry: FileEntry,
    wholes: dict[tuple[Digest, int, tuple[Chunk, ...]], ChunkListError | None],
    report: VerifyReport,
) -> None:
    # Good pieces can still be the wrong pieces: read the file through them once (per list).
    key = (entry.digest, entry.size, entry.chunks)
    if key not in wholes:
        wholes[key] = None
        try:
            with blobs.open_chunks(entry.chunks, entry.digest, entry.size) as stream:
                while stream.read(_WHOLE_READ):
                    pass
        except ChunkListError as exc:
            wholes[key] = exc
        except (NotFoundError, CorruptBlobError):  # changed since its pieces were checked
            pass
    error = wholes[key]
    if error is not None:
        report.problems.append(
            Problem(
                label,
                entry.path,
                "bad-chunks",
                entry.digest.hex,
                error.actual,
                size=entry.size,
                actual_size=error.size,
                chunks=len(entry.chunks),
            )
        )


def _check_media(
    blobs: BlobStore,
    row: MetricRecord,
    seen: dict[Digest, _Blob],
    report: VerifyReport,
    *,
    deep: bool,
    repair: bool,
) -> None:
    label, run, key, step = f"run {row.run_id}", row.run_id, row.key, row.step
    try:
        ref = check_reference(json.loads(row.media or ""))
    except (ValueError, InvalidValueError) as exc:  # json.JSONDecodeError is a ValueError
        report.problems.append(
            Problem(label, key, "bad-reference", None, reason=str(exc), run=run, key=key, step=step)
        )
        return
    for digest, size in blobs_of(ref):
        report.media += 1
        entry = FileEntry(key, Digest.parse(digest), size)
        _check(
            blobs, label, entry, seen, report, deep=deep, repair=repair, run=run, key=key, step=step
        )


def _inspect(blobs: BlobStore, digest: Digest, deep: bool) -> _Blob:
    try:
        size = blobs.size(Kind.BLOB, digest)
    except NotFoundError:
        return _Blob(None)
    if not deep:
        return _Blob(size)
    try:
        return _Blob(size, blobs.verify(Kind.BLOB, digest))
    except NotFoundError:  # removed between the two looks
        return _Blob(None)


def _repair(blobs: BlobStore, digest: Digest, found: _Blob, report: VerifyReport) -> None:
    found.repaired = True
    if found.actual is None:  # judged by its size so far
        now = _inspect(blobs, digest, deep=True)
        found.size, found.actual = now.size, now.actual
    # Bytes that hash to their name are never moved, not even for a moment: a reader would
    # miss them meanwhile, and a kill in between would leave a good blob in quarantine/.
    if found.size is None or found.actual == digest:
        return
    found.quarantined = blobs.quarantine(Kind.BLOB, digest)
    if found.quarantined is not None:
        report.quarantined.append(found.quarantined)
    else:  # healed (or removed) since it was hashed: report what is there now
        now = _inspect(blobs, digest, deep=True)
        found.size, found.actual = now.size, now.actual


def _blob_problem(label: str, entry: FileEntry, found: _Blob) -> Problem | None:
    digest = entry.digest.hex
    actual = None if found.actual is None else found.actual.hex
    if found.size is None:
        return Problem(label, entry.path, "missing", digest, quarantined=found.quarantined)
    if found.size != entry.size:
        return Problem(
            label,
            entry.path,
            "wrong-size",
            digest,
            actual,
            size=entry.size,
            actual_size=found.size,
            quarantined=found.quarantined,
        )
    if found.actual is not None and found.actual != entry.digest:
        return Problem(label, entry.path, "corrupt", digest, actual, quarantined=found.quarantined)
    return None


def _manifest_problem(
    blobs: BlobStore,
    version: ArtifactVersion,
    error: UserError | CorruptBlobError,
    repair: bool,
    report: VerifyReport,
) -> Problem:
    label, digest = version.qualified_name, version.digest
    if isinstance(error, CorruptBlobError):
        moved = blobs.quarantine(Kind.MANIFEST, Digest.parse(digest)) if repair else None
        if moved is not None:
            report.quarantined.append(moved)
        reason = f"corrupt: its content hashes to {error.actual}"
        return Problem(
            label, None, "bad-manifest", digest, error.actual, reason=reason, quarantined=moved
        )
    if isinstance(error, NotFoundError):
        return Problem(label, None, "bad-manifest", digest, reason="missing")
    return Problem(label, None, "bad-manifest", digest, reason=str(error))
