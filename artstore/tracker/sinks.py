"""Where a run's records go: the store's catalog (online), a spool folder (offline), nowhere."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from artstore.artifacts import Artifact, ArtifactVersion, Store
from artstore.artifacts.lookup import check_version_type
from artstore.lineage import MetricRecord, RunAlert, RunFile
from artstore.storage import BlobStore, Kind, LocalFile, hash_bytes
from artstore.tracker.files import SavedFile
from artstore.tracker.spool import SpoolWriter

__all__ = ["CatalogSink", "NullSink", "RunSink", "SpoolSink"]

# Positions in a MetricRecord, for the exact tuples a live batch may hold.
_TIME = MetricRecord._fields.index("time")
_MEDIA = MetricRecord._fields.index("media")


class RunSink(Protocol):
    """The destination of one run's records."""

    def start(self, fields: dict[str, Any], *, resume: bool) -> None:
        """Create the run (or reopen it, when resuming)."""

    def write(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        """Store one batch: metric rows, console rows, changed run columns (+ heartbeat)."""

    def put_media(self, data: bytes) -> tuple[str, int]:
        """Store the bytes of a logged media value as a blob, durably; its digest and size."""

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        """Log an artifact as produced by the run (None when it is only spooled)."""

    def use_artifact(self, ref: str, type: str | None) -> ArtifactVersion:
        """Resolve a version and record that the run used it; a ``type`` that is not the
        version's is refused (``InvalidArgumentError``) before anything is recorded."""

    def keep_file(self, file: SavedFile, policy: str, previous: str | None) -> RunFile | None:
        """Store a file's content as a blob, then record it with the run; None when its digest
        is ``previous`` (unchanged since it was last kept: nothing is recorded) or disabled.

        Raises:
            SourceChangedError: the file changed while it was read; nothing is kept.
            UnsafePathError: through a link, the file lies outside the folder it is named from.
            NotFoundError, FileAccessError: it cannot be read.
        """

    def alert(self, alert: RunAlert) -> None:
        """Record an alert the run raised."""

    def alert_webhook(self) -> str | None:
        """The ``alert_webhook`` of the store's ``artstore.yaml``, if any (None offline).

        Raises:
            ConfigError: the store's ``artstore.yaml`` cannot be read.
        """

    def close(self) -> None:
        """Release what the sink holds."""


def _put_file(
    blobs: BlobStore, file: SavedFile, policy: str, previous: str | None
) -> RunFile | None:
    # The same path as a put: every byte read once, refused if the file changes meanwhile or
    # leads outside its base through a link; durable before anything refers to it. Whole, as
    # one blob: a run file's record names one digest, not a list of pieces.
    source = LocalFile(str(file.path), within=str(file.base))
    [result] = blobs.put_files([source], chunked=False)
    if result.digest.hex == previous:
        return None
    blobs.sync()
    return RunFile(file.name, result.digest.hex, result.size, policy, datetime.now(UTC))


def _put_bytes(blobs: BlobStore, data: bytes) -> tuple[str, int]:
    # The same media logged at every step is one blob: stored once, found intact after.
    result = blobs.put_bytes(Kind.BLOB, data)
    if result.stored:
        blobs.sync()
    return result.digest.hex, result.size


class CatalogSink:
    """Writes straight into a store's catalog: the run's rows through its repository's
    ``catalog.runs``, artifacts through the store's verbs."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def start(self, fields: dict[str, Any], *, resume: bool) -> None:
        # docstring inherited
        runs = self.store.repository.catalog.runs
        if resume:
            runs.update(self.run_id, **fields)
        else:
            runs.create(id=self.run_id, **fields)

    def write(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        self.store.repository.catalog.runs.write_batch(self.run_id, metrics, console, fields)

    def put_media(self, data: bytes) -> tuple[str, int]:
        # docstring inherited
        return _put_bytes(self.store.repository.writable_blobs(), data)

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        return self.store.log_artifact(artifact, aliases, run_id=self.run_id)

    def use_artifact(self, ref: str, type: str | None) -> ArtifactVersion:
        # docstring inherited
        return self.store.use(ref, run_id=self.run_id, type=type)

    def keep_file(self, file: SavedFile, policy: str, previous: str | None) -> RunFile | None:
        # docstring inherited
        repo = self.store.repository
        kept = _put_file(repo.writable_blobs(), file, policy, previous)
        if kept is not None:
            repo.catalog.runs.add_file(self.run_id, kept)
        return kept

    def alert(self, alert: RunAlert) -> None:
        # docstring inherited
        self.store.repository.catalog.runs.add_alert(self.run_id, alert)

    def alert_webhook(self) -> str | None:
        # docstring inherited
        return self.store.repository.settings.alert_webhook

    def close(self) -> None:
        # docstring inherited
        self.store.close()


class SpoolSink:
    """Appends to an offline spool folder; ``art sync`` replays it into a store later.

    Versions a run uses are resolved in the local store when one is reachable.
    """

    def __init__(self, spool: SpoolWriter, store: Store) -> None:
        self.spool = spool
        self.store = store

    def start(self, fields: dict[str, Any], *, resume: bool) -> None:
        # docstring inherited
        # Only a run with an entity needs format 2; a run without one stays readable by
        # artstore releases that read format 1.
        if fields.get("entity") is None:
            fields = {k: v for k, v in fields.items() if k != "entity"}
            self.spool.append("start", fields=fields, resume=resume)
        else:
            self.spool.append("start", record_format=2, fields=fields, resume=resume)

    def write(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        # The batch's own time is the heartbeat `art sync` records, not the time of the sync:
        # a killed offline run then shows as crashed once synced, not as running.
        fields = {"heartbeat_at": datetime.now(UTC), **fields}
        # Live rows may be exact tuples of a MetricRecord's fields (see Run.log): read them by
        # position rather than make a named tuple of each on the writer thread.
        if all(row[_MEDIA] is None for row in metrics):
            rows = [row[:_MEDIA] for row in metrics]
            self.spool.append("batch", metrics=rows, console=console, fields=fields)
            return
        # Media rows need record format 3: a reader of formats 1-2 refuses the batch whole.
        rows = [row[:_MEDIA] for row in metrics if row[_MEDIA] is None]
        media = [
            [*row[:3], json.loads(cast(str, row[_MEDIA])), row[_TIME]]
            for row in metrics
            if row[_MEDIA] is not None
        ]
        self.spool.append(
            "batch", record_format=3, metrics=rows, console=console, fields=fields, media=media
        )

    def put_media(self, data: bytes) -> tuple[str, int]:
        # docstring inherited
        return _put_bytes(self.spool.blobs(), data)

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        staged = self.store.stage(artifact, self.spool.blobs())
        # "type" names the record kind in the spool; the artifact's type travels beside it.
        self.spool.append(
            "artifact",
            name=staged.name,
            description=staged.description,
            metadata=staged.metadata,
            digest=staged.digest.hex,
            artifact_type=staged.type,
            aliases=aliases,
        )
        return None

    def use_artifact(self, ref: str, type: str | None) -> ArtifactVersion:
        # docstring inherited
        version = self.store.artifact(ref)
        check_version_type(version, type)
        self.spool.append("use", name=version.name, number=version.number, digest=version.digest)
        return version

    def keep_file(self, file: SavedFile, policy: str, previous: str | None) -> RunFile | None:
        # docstring inherited
        kept = _put_file(self.spool.blobs(), file, policy, previous)
        if kept is None:
            return None
        self.spool.append("file", record_format=2, **asdict(kept))
        return kept

    def alert(self, alert: RunAlert) -> None:
        # docstring inherited
        self.spool.append("alert", record_format=2, **asdict(alert))

    def alert_webhook(self) -> str | None:
        # docstring inherited
        # Only $ARTSTORE_ALERT_WEBHOOK: an offline run never reads the store (it may be remote
        # and unreachable, and an alert must not wait for it on the training thread).
        return None

    def close(self) -> None:
        # docstring inherited
        self.spool.close()
        self.store.close()


class NullSink:
    """Disabled mode: nothing is written; used versions are still resolved if a store exists."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, fields: dict[str, Any], *, resume: bool) -> None:
        # docstring inherited
        return None

    def write(
        self, metrics: list[MetricRecord], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        return None

    def put_media(self, data: bytes) -> tuple[str, int]:
        # docstring inherited
        return hash_bytes(data).hex, len(data)

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        return None

    def use_artifact(self, ref: str, type: str | None) -> ArtifactVersion:
        # docstring inherited
        version = self.store.artifact(ref)
        check_version_type(version, type)
        return version

    def keep_file(self, file: SavedFile, policy: str, previous: str | None) -> RunFile | None:
        # docstring inherited
        return None

    def alert(self, alert: RunAlert) -> None:
        # docstring inherited
        return None

    def alert_webhook(self) -> str | None:
        # docstring inherited
        return None

    def close(self) -> None:
        # docstring inherited
        self.store.close()
