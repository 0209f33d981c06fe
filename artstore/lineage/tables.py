"""Every catalog table, as SQLModel ``table=True`` models.

Rows never leave the lineage layer: the catalog turns them into the frozen records of
:mod:`artstore.lineage.records` before returning. Datetimes are stored as UTC and read back
tz-aware (:class:`UTCDateTime`), so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "AlertRow",
    "AliasHistoryRow",
    "AliasRow",
    "ArtifactRow",
    "ConsoleRow",
    "EdgeRow",
    "MetricRow",
    "RunFileRow",
    "RunRow",
    "SchemaVersionRow",
    "SweepRow",
    "TrialRow",
    "UTCDateTime",
    "VersionRow",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, tz-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always read back tz-aware in UTC.

    SQLite keeps no offset, so values are normalised to UTC before they are written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the catalog stores tz-aware UTC times")
        value = value.astimezone(UTC)
        # SQLite's DATETIME has no offset; storing naive UTC keeps string order = time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SchemaVersionRow(SQLModel, table=True):
    """The single row naming the catalog's schema version."""

    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int


class ArtifactRow(SQLModel, table=True):
    """An artifact: a name, unique in the store, and the type fixed by its first version."""

    __tablename__ = "artifacts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    type: str
    description: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VersionRow(SQLModel, table=True):
    """One immutable version of an artifact, named by its manifest digest."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("artifact_id", "number", name="uq_versions_artifact_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    artifact_id: int = Field(foreign_key="artifacts.id")
    number: int
    digest: str = Field(index=True)
    size: int = Field(sa_type=BigInteger)
    file_count: int
    # `metadata` is taken by SQLModel/SQLAlchemy; the column keeps the natural name.
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    created_by_run: str | None = None
    created_by_user: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The new bytes the version's put wrote (file data the store lacked); NULL for versions
    # logged before it was recorded (migration 5) or imported from a spool.
    new_bytes: int | None = Field(default=None, sa_type=BigInteger)


class AliasRow(SQLModel, table=True):
    """Where an alias of an artifact points now; an alias is unique per artifact."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("artifact_id", "alias", name="uq_aliases_artifact_alias"),)

    id: int | None = Field(default=None, primary_key=True)
    artifact_id: int = Field(foreign_key="artifacts.id")
    alias: str
    version_id: int = Field(foreign_key="versions.id")


class AliasHistoryRow(SQLModel, table=True):
    """One alias move; ``to_version`` None means the alias was removed. Numbers, not ids."""

    __tablename__ = "alias_history"

    id: int | None = Field(default=None, primary_key=True)
    artifact_id: int = Field(foreign_key="artifacts.id", index=True)
    alias: str
    from_version: int | None = None
    to_version: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    who: str
    run_id: str | None = None
    ci_job: str | None = None
    reason: str | None = None


class RunRow(SQLModel, table=True):
    """A tracked run: what it was given, what it reported, and whether it is still alive.

    A run whose status is ``running`` but whose heartbeat is older than its
    ``heartbeat_timeout`` (seconds) is reported as crashed.
    """

    __tablename__ = "runs"

    id: str = Field(primary_key=True)
    project: str = Field(index=True)
    name: str | None = None
    status: str
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = None
    user: str
    host: str | None = None
    python: str | None = None
    command: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    exit_code: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_timeout: float = 60.0
    # Added by migration 3: the W&B entity (team or user) the run was started for.
    entity: str | None = None


class MetricRow(SQLModel, table=True):
    """One logged value: a number in ``value``, a short string in ``text`` or a media
    reference in ``media``.

    ``time`` is Unix seconds: metrics arrive by the hundred thousand, and a float is the
    cheapest faithful timestamp to write.
    """

    __tablename__ = "metrics"
    # The value rides in the index so a chart's min/max buckets read no table row
    # (artstore.lineage.series); every (run, key, step) lookup uses it as before. Media rows,
    # few among the numbers, have their own partial index.
    __table_args__ = (
        Index("ix_metrics_run_key_step_value", "run_id", "key", "step", "value"),
        Index(
            "ix_metrics_run_key_media",
            "run_id",
            "key",
            sqlite_where=text("media IS NOT NULL"),
            postgresql_where=text("media IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    step: int = Field(sa_type=BigInteger)
    key: str
    value: float | None = None
    text: str | None = None
    time: float
    # Added by migration 4: the JSON text of a media reference (artstore.artifacts.media).
    media: str | None = Field(default=None, sa_type=Text)


class ConsoleRow(SQLModel, table=True):
    """One line (or partial write) of a run's stdout or stderr, in order of ``seq``."""

    __tablename__ = "console_lines"
    __table_args__ = (Index("ix_console_run_seq", "run_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    seq: int = Field(sa_type=BigInteger)
    stream: str
    text: str
    time: float


class EdgeRow(SQLModel, table=True):
    """A lineage edge: a run used a version, or produced it.

    ``src`` and ``dst`` repeat the edge in data-flow direction as node ids (``v:<version id>``
    and ``r:<run id>``) so one recursive query walks the graph both ways on any database,
    through the covering indexes.
    """

    __tablename__ = "lineage_edges"
    __table_args__ = (
        UniqueConstraint("run_id", "version_id", "kind", name="uq_edges_run_version_kind"),
        Index("ix_edges_dst_src", "dst", "src"),
        Index("ix_edges_src_dst", "src", "dst"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    version_id: int = Field(foreign_key="versions.id", index=True)
    kind: str
    src: str
    dst: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RunFileRow(SQLModel, table=True):
    """A file kept with a run (``run.save``): its relative name and the blob of its content.

    A file saved again with other content gets another row; the newest row of a name is the
    file as the run left it.
    """

    __tablename__ = "run_files"
    __table_args__ = (Index("ix_run_files_run_name", "run_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    name: str
    digest: str
    size: int = Field(sa_type=BigInteger)
    policy: str
    saved_at: datetime = Field(sa_type=UTCDateTime)


class AlertRow(SQLModel, table=True):
    """An alert a run raised (``run.alert``), at the step it had reached."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_run_at", "run_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id")
    at: datetime = Field(sa_type=UTCDateTime)
    level: str
    title: str
    text: str
    step: int = Field(sa_type=BigInteger)


class SweepRow(SQLModel, table=True):
    """A sweep (migration 7): its config as checked (W&B's schema) and whether agents may
    lease new trials (``running``) or not (``stopped``, ``cancelled``, ``finished``)."""

    __tablename__ = "sweeps"

    id: str = Field(primary_key=True)
    project: str = Field(index=True)
    name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str
    user: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TrialRow(SQLModel, table=True):
    """One trial of a sweep (migration 7): its parameters, its run, and the agent's lease on
    it; ``number`` is unique in its sweep, so two agents never insert the same trial."""

    __tablename__ = "sweep_trials"
    __table_args__ = (
        UniqueConstraint("sweep_id", "number", name="uq_sweep_trials_sweep_number"),
        Index("ix_sweep_trials_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sweep_id: str = Field(foreign_key="sweeps.id")
    number: int
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str
    run_id: str | None = None
    agent: str | None = None
    lease_expires: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    metric: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
