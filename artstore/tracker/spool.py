"""The offline spool: a run's records as JSON lines in a folder, replayed by ``art sync``.

Layout of ``artstore-runs/offline-run-<time>-<id>/``: ``run.jsonl`` (one record per line, each
with a ``"format"`` (1, 2 for what format-1 readers lack, 3 for a batch with media rows) and a
``"type"``: start, batch, artifact, use, finish, file, alert) and ``store/``, a blob store
holding the files of artifacts the run logged, the files it kept and its media. Each batch is
flushed and fsynced as it is written, so a killed process loses at most its unwritten batch;
a torn last line is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from artstore.artifacts import Store
from artstore.artifacts.identity import current_actor
from artstore.artifacts.transfer import copy_blobs, copy_version
from artstore.errors import CorruptBlobError, InvalidSpoolError, RunStateError
from artstore.lineage import ImportedVersion, RunImport, UsedVersion
from artstore.storage import BlobStore, Digest, init_store
from artstore.tracker._spool_read import (
    SPOOL_FILE,
    Spool,
    SpooledArtifact,
    SpooledUse,
    read_spool,
)

__all__ = [
    "SPOOL_FILE",
    "Spool",
    "SpoolWriter",
    "SyncResult",
    "read_spool",
    "spool_folder",
    "sync_spool",
]

logger = logging.getLogger(__name__)

SPOOL_ROOT = "artstore-runs"


def spool_folder(base: Path, run_id: str, now: datetime) -> Path:
    """``<base>/artstore-runs/offline-run-<YYYYmmdd_HHMMSS>-<id>``."""
    return base / SPOOL_ROOT / f"offline-run-{now.strftime('%Y%m%d_%H%M%S')}-{run_id}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot spool a {type(value).__name__}")


class SpoolWriter:
    """Appends records to a spool folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(folder / SPOOL_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self._blobs: BlobStore | None = None
        self._lock = threading.Lock()

    def append(self, kind: str, *, record_format: int = 1, **fields: Any) -> None:
        """Append one record and make it durable.

        ``record_format`` is 2 for what format-1 readers do not know (``file`` and ``alert``
        records, a start record with an ``entity``), 3 for a batch with media rows, so older
        readers refuse it instead of misreading.
        """
        line = json.dumps({"format": record_format, "type": kind, **fields}, default=_encode)
        # The writer thread spools batches while the training thread spools artifacts, files
        # and alerts: one line at a time.
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def blobs(self) -> BlobStore:
        """The spool's own blob store, for the files of logged artifacts."""
        if self._blobs is None:
            self._blobs = init_store(str(self.folder / "store"))
        return self._blobs

    def close(self) -> None:
        """Close the spool file."""
        self._file.close()


@dataclass(slots=True)
class SyncResult:
    """What one ``sync_spool`` did.

    ``metrics`` and ``console`` count the spool's rows (each now in the run once);
    ``new_metrics`` and ``new_console`` the rows this sync added (0 when repeated).
    """

    run_id: str
    metrics: int = 0
    console: int = 0
    new_metrics: int = 0
    new_console: int = 0
    produced: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    finished: bool = False
    new_files: int = 0
    new_alerts: int = 0


def sync_spool(spool: Path | Spool, store: Store) -> SyncResult:
    """Merge an offline run into ``store``, all of it or nothing; running it again adds nothing.

    The spool is read and checked whole first (or taken as :func:`read_spool` returned it).
    Then the files of the artifacts it logged are copied into the store, and one catalog
    transaction writes the run, the metric and console rows it does not have yet, the versions
    it produced and the versions it used (see
    :meth:`artstore.lineage.catalog_runs.CatalogRuns.import_run`).

    Raises:
        NotFoundError: no spool in the folder.
        InvalidSpoolError: a record or field is malformed, a row names another run, a file of
            a logged artifact is missing, a spooled blob does not match its digest, or the
            catalog's run of that id is another run.
        UnsupportedFormatError: a record of a newer format or type.
        ArtifactTypeError: a logged artifact exists here with another type.
    """
    if not isinstance(spool, Spool):
        spool = read_spool(spool)
    repo = store.repository
    blobs = repo.writable_blobs()
    catalog = repo.catalog
    # The protected set the catalog enforces, so the warning names exactly what it would refuse.
    lineage = _lineage(spool, catalog.protected)
    spec = RunImport(
        run_id=spool.run_id,
        columns=spool.columns,
        metrics=spool.metrics,
        console=spool.console,
        lineage=lineage,
        actor=current_actor(run_id=spool.run_id),
        files=spool.files,
        alerts=spool.alerts,
    )
    try:
        # Refused before any file is copied; the import checks again in its transaction.
        catalog.runs.check_import(spec)
        artifacts = [item for item in spool.lineage if isinstance(item, SpooledArtifact)]
        if artifacts:
            source = spool.blobs
            for item in artifacts:
                copy_version(source, blobs, item.digest)
        kept = {Digest.parse(f.digest) for f in spool.files}
        kept |= {Digest.parse(digest) for digest in spool.media_blobs}
        if kept:
            copy_blobs(spool.blobs, blobs, kept)
        done = catalog.runs.import_run(spec)
    except RunStateError as exc:
        raise InvalidSpoolError(f"{spool.path}:1: {exc}") from None
    except CorruptBlobError as exc:
        # The damage is in the spool's copy, not in the store: `art verify` cannot mend it.
        raise InvalidSpoolError(
            f"{spool.path}:{_line_naming(spool, exc.expected)}: blob {exc.expected} in "
            f"{spool.folder / 'store'} is corrupt (its content hashes to {exc.actual}); "
            "nothing was synced"
        ) from None
    for ref in done.skipped_uses:
        # Another store, or another history: the same name and number hold other content.
        logger.warning(
            "%s in %s is not the version run %s used offline; its use is not recorded",
            ref,
            store.url,
            spool.run_id,
        )
    if not done.columns_applied:
        logger.info(
            "run %s was written after this spool ended; its status, config and summary are kept",
            spool.run_id,
        )
    return SyncResult(
        spool.run_id,
        metrics=len(spool.metrics),
        console=len(spool.console),
        new_metrics=done.new_metrics,
        new_console=done.new_console,
        produced=list(done.produced),
        used=list(done.used),
        finished=spool.finished,
        new_files=done.new_files,
        new_alerts=done.new_alerts,
    )


def _line_naming(spool: Spool, digest: str) -> int:
    # The first record naming the blob (a file or media row); 1 for an artifact's file, whose
    # digest only its manifest names.
    with open(spool.path, encoding="utf-8") as lines:
        return next((n for n, line in enumerate(lines, 1) if digest in line), 1)


def _lineage(spool: Spool, protected: Collection[str]) -> list[ImportedVersion | UsedVersion]:
    lineage: list[ImportedVersion | UsedVersion] = []
    for item in spool.lineage:
        if isinstance(item, SpooledUse):
            lineage.append(UsedVersion(item.name, item.number, item.digest))
            continue
        aliases = tuple(a for a in item.aliases if a not in protected)
        if aliases != item.aliases:
            logger.warning(
                "%s:%d: protected aliases of %s are not set by a sync: %s; use art promote",
                spool.path,
                item.line,
                item.name,
                ", ".join(sorted(set(item.aliases) - set(aliases))),
            )
        lineage.append(
            ImportedVersion(
                name=item.name,
                type=item.type,
                description=item.description,
                metadata=item.metadata,
                digest=item.digest,
                size=item.size,
                file_count=item.file_count,
                aliases=aliases,
            )
        )
    return lineage
