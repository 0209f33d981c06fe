"""The frozen records the catalog returns: never live ORM rows above the lineage layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from artstore.errors import NotFoundError

__all__ = [
    "Actor",
    "AliasMove",
    "ArtifactInfo",
    "ImportedVersion",
    "LineageGraph",
    "LineageNode",
    "LogResult",
    "MetricRecord",
    "NewVersion",
    "Promotion",
    "RunAlert",
    "RunFile",
    "RunImport",
    "RunImportResult",
    "RunRecord",
    "UsedVersion",
    "VersionInfo",
]


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """An artifact and a summary of its versions.

    ``size`` is the size of the latest version, 0 when there is none.
    """

    name: str
    type: str
    description: str | None
    created_at: datetime
    version_count: int
    latest_number: int | None
    size: int


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of an artifact, with the aliases (sorted) that point at it now."""

    artifact: str
    type: str
    number: int
    digest: str
    size: int
    file_count: int
    metadata: dict[str, Any]
    created_by_run: str | None
    created_by_user: str
    created_at: datetime
    aliases: tuple[str, ...]
    #: The new bytes the put that created the version wrote: file data the store did not hold
    #: yet; None for versions logged before this was recorded.
    new_bytes: int | None = None

    @property
    def version(self) -> str:
        """The version as users write it, e.g. ``"v3"``."""
        return f"v{self.number}"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes, and on whose behalf: recorded on every alias history row a write makes.

    ``who`` is ``user@host``; ``run_id`` the run acting, if any; ``ci_job`` the CI job
    (e.g. ``github:123``), if any; ``reason`` the writer's free-text why. Build one from the
    environment with :func:`artstore.artifacts.identity.current_actor`.
    """

    who: str
    run_id: str | None = None
    ci_job: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AliasMove:
    """One move of an alias; ``from_number`` None: newly set, ``to_number`` None: removed."""

    artifact: str
    alias: str
    from_number: int | None
    to_number: int | None
    at: datetime
    who: str
    run_id: str | None
    ci_job: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A version to record: its manifest and blobs are already stored.

    ``name`` is validated by the caller; ``type`` must equal the type of the artifact's first
    version; a non-None ``description`` replaces the stored one; ``digest`` is the manifest
    digest (32 hex); ``size`` the total bytes and ``file_count`` the number of its files;
    ``metadata`` is JSON-serialisable; ``aliases`` are pointed at the version (``latest`` is
    always maintained, and may not be given; nor may a protected alias); ``new_bytes`` the
    new bytes its put wrote (file data the store did not hold yet), when known.
    """

    name: str
    type: str
    description: str | None
    digest: str
    size: int
    file_count: int
    metadata: dict[str, Any]
    aliases: Sequence[str] = ()
    new_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Promotion:
    """Marks an alias move as a promotion: the only move a protected alias accepts.

    Made by :func:`artstore.artifacts.promote.promote` once every requirement passed. It
    holds nothing: the requirements and their values are in the promotion's result (printed
    and ``--json``), and the alias history records who, the run, the CI job and the reason
    (decision 105).
    """


@dataclass(frozen=True, slots=True)
class LogResult:
    """The outcome of recording a version.

    ``created`` is False when the content equals the newest version, which is then returned;
    ``ignored_metadata_keys`` names the given metadata keys whose values were not stored.
    """

    version: VersionInfo
    created: bool
    ignored_metadata_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A tracked run as stored; ``status`` is ``crashed`` for a running one gone silent.

    ``entity`` is the W&B-style team or user the run was started for (``init(entity=)``), if
    any.
    """

    id: str
    project: str
    name: str | None
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: tuple[str, ...]
    notes: str | None
    user: str
    host: str | None
    python: str | None
    command: str | None
    git_commit: str | None
    git_dirty: bool | None
    exit_code: int | None
    created_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime
    heartbeat_timeout: float
    entity: str | None = None


@dataclass(frozen=True, slots=True)
class RunFile:
    """A file kept with a run (``run.save``).

    ``name`` is its relative POSIX path (checked as a manifest path is); ``digest`` and
    ``size`` those of its content, a blob in the store; ``policy`` how it was saved (``live``,
    ``now`` or ``end``); ``saved_at`` when this content was stored.
    """

    name: str
    digest: str
    size: int
    policy: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class RunAlert:
    """An alert a run raised: when, how serious (``INFO``, ``WARN``, ``ERROR``), its title and
    text, and the step the run had reached."""

    at: datetime
    level: str
    title: str
    text: str
    step: int


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A run, a version or a sweep in a lineage graph, at its minimal distance from the root.

    ``label`` is ``name:v3`` for a version and ``project/run-name (run id)`` for a run
    (``project/run id`` when the run has no name). ``attrs`` holds, for a version,
    ``version_id``, ``artifact``, ``number``, ``version`` and ``type``; for a run, ``run_id``,
    ``project``, ``name`` and ``status``. A sweep (``s:<sweep id>``, only in graphs asked
    for with their sweeps) is labelled ``project/sweep name (sweep id)`` and holds
    ``sweep_id``, ``project``, ``name`` and ``state``.
    """

    id: str
    kind: Literal["run", "version", "sweep"]
    label: str
    distance: int
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The ancestors (``up``), descendants (``down``) or both of ``root``, with the root.

    ``nodes`` are sorted by distance, then id; ``edges`` are the sorted ``(src, dst, kind)``
    edges among them in data-flow direction (``kind`` is ``used`` or ``produced``).
    """

    root: str
    direction: Literal["up", "down", "both"]
    nodes: tuple[LineageNode, ...]
    edges: tuple[tuple[str, str, str], ...]

    def node(self, node_id: str) -> LineageNode:
        """The node with id ``node_id`` (``v:<version id>`` or ``r:<run id>``).

        Raises:
            NotFoundError: it is not in the graph (a ``LookupError``).
        """
        for found in self.nodes:
            if found.id == node_id:
                return found
        raise NotFoundError(
            f"the lineage graph of {self.root} has no node {str(node_id)[:80]!r}; "
            "its nodes are in .nodes"
        )


@dataclass(frozen=True, slots=True)
class ImportedVersion:
    """A version a run logged elsewhere (offline), to record as produced by it.

    Its manifest and blobs must already be in the store.
    """

    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    digest: str
    size: int
    file_count: int
    aliases: tuple[str, ...]


class MetricRecord(NamedTuple):
    """One logged value of a run, as the tracker writes it and the catalog stores it.

    Exactly one of ``value`` (a number), ``text`` (a short string) and ``media`` (the JSON text
    of a media reference, see :mod:`artstore.artifacts.media`) is set; all three None is a
    NaN, since SQLite cannot store one. ``time`` is Unix seconds. A named tuple rather than a
    dataclass: immutable and typed, yet handed to the database driver as it is, so a batch of
    a hundred thousand rows costs no conversion. ``Run.log`` appends its scalar rows as exact
    tuples of these fields (the garbage collector skips those, not a named tuple); a live
    batch is read by position or through ``MetricRecord._make``.
    """

    run_id: str
    step: int
    key: str
    value: float | None
    text: str | None
    time: float
    media: str | None = None


@dataclass(frozen=True, slots=True)
class UsedVersion:
    """A version a run used elsewhere: recorded only if this catalog has it with ``digest``."""

    name: str
    number: int
    digest: str


@dataclass(frozen=True, slots=True)
class RunImport:
    """A whole run recorded elsewhere (an offline spool), to merge into the catalog at once.

    ``columns`` are the run's columns as the spool ends them (with ``project``, ``user``,
    ``created_at`` and ``heartbeat_at``); ``metrics`` and ``console`` rows are as in
    :meth:`artstore.lineage.catalog_runs.CatalogRuns.write_batch`; ``lineage`` lists what the
    run produced and used, in order. ``actor`` is who imports it, recorded as each produced
    version's creator and on the alias history rows the import writes; its ``run_id`` is the
    imported run. ``files`` are the files it kept (their blobs already in the store) and
    ``alerts`` the alerts it raised, in order.
    """

    run_id: str
    columns: dict[str, Any]
    metrics: Sequence[MetricRecord]
    console: Sequence[tuple[str, int, str, str, float]]
    lineage: Sequence[ImportedVersion | UsedVersion]
    actor: Actor
    files: Sequence[RunFile] = ()
    alerts: Sequence[RunAlert] = ()


@dataclass(frozen=True, slots=True)
class RunImportResult:
    """What merging a run changed.

    ``created`` is True for a run new to the catalog; ``columns_applied`` is False when the
    catalog's run was written after the import's last heartbeat (kept as it was).
    ``new_metrics`` and ``new_console`` count the rows added (rows already there are not
    written again). ``produced`` and ``used`` are ``name:v<n>`` in order; ``skipped_uses``
    are the used versions this catalog does not have with that digest. ``new_files`` and
    ``new_alerts`` count the file and alert rows added.
    """

    created: bool
    columns_applied: bool
    new_metrics: int
    new_console: int
    produced: tuple[str, ...]
    used: tuple[str, ...]
    skipped_uses: tuple[str, ...]
    new_files: int = 0
    new_alerts: int = 0
