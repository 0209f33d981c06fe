"""Where a run's records go: the store's catalog (online), a spool folder (offline), nowhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from artstore.artifacts import Artifact, ArtifactVersion, Store
from artstore.tracker.spool import SpoolWriter

__all__ = ["CatalogSink", "NullSink", "RunSink", "SpoolSink"]


class RunSink(Protocol):
    """The destination of one run's records."""

    def start(self, fields: dict[str, Any], *, resume: bool) -> None:
        """Create the run (or reopen it, when resuming)."""

    def write(
        self, metrics: list[tuple[Any, ...]], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        """Store one batch: metric rows, console rows, changed run columns (+ heartbeat)."""

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        """Log an artifact as produced by the run (None when it is only spooled)."""

    def use_artifact(self, ref: str) -> ArtifactVersion:
        """Resolve a version and record that the run used it."""

    def close(self) -> None:
        """Release what the sink holds."""


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
        self, metrics: list[tuple[Any, ...]], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        self.store.repository.catalog.runs.write_batch(self.run_id, metrics, console, fields)

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        return self.store.log_artifact(artifact, aliases, run_id=self.run_id)

    def use_artifact(self, ref: str) -> ArtifactVersion:
        # docstring inherited
        return self.store.use(ref, run_id=self.run_id)

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
        self.spool.record("start", fields=fields, resume=resume)

    def write(
        self, metrics: list[tuple[Any, ...]], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        # The batch's own time is the heartbeat `art sync` records, not the time of the sync:
        # a killed offline run then shows as crashed once synced, not as running.
        fields = {"heartbeat_at": datetime.now(UTC), **fields}
        self.spool.record("batch", metrics=metrics, console=console, fields=fields)

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        staged = self.store.stage(artifact, self.spool.blobs())
        # "type" names the record kind in the spool; the artifact's type travels beside it.
        self.spool.record(
            "artifact",
            name=staged.name,
            description=staged.description,
            metadata=staged.metadata,
            digest=staged.digest.hex,
            artifact_type=staged.type,
            aliases=aliases,
        )
        return None

    def use_artifact(self, ref: str) -> ArtifactVersion:
        # docstring inherited
        version = self.store.artifact(ref)
        self.spool.record("use", name=version.name, number=version.number, digest=version.digest)
        return version

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
        self, metrics: list[tuple[Any, ...]], console: list[tuple[Any, ...]], fields: dict[str, Any]
    ) -> None:
        # docstring inherited
        return None

    def log_artifact(self, artifact: Artifact, aliases: list[str]) -> ArtifactVersion | None:
        # docstring inherited
        return None

    def use_artifact(self, ref: str) -> ArtifactVersion:
        # docstring inherited
        return self.store.artifact(ref)

    def close(self) -> None:
        # docstring inherited
        self.store.close()
