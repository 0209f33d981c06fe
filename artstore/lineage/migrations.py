"""The catalog's schema versions and the explicit steps between them.

An empty database runs every migration in order; an older one runs the pending ones; a newer
one is refused. Migrations are never edited once released: when a table of an earlier
migration changes, that migration must stop using the live models (freeze its DDL) and the
change becomes a new migration appended to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from artstore.errors import ConfigError, UnsupportedFormatError
from artstore.lineage import tables as _tables  # noqa: F401  (registers the tables)
from artstore.lineage.tables import UTCDateTime

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "check_readable",
    "migrate",
    "not_current",
    "stored_version",
    "up_to_date",
]

logger = logging.getLogger(__name__)

_SCHEMA_TABLE = SQLModel.metadata.tables["schema_version"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step from schema ``version - 1`` to ``version``, run inside the open transaction."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_tables(*names: str) -> Callable[[Connection], None]:
    def apply(connection: Connection) -> None:
        tables = [SQLModel.metadata.tables[name] for name in names]
        SQLModel.metadata.create_all(connection, tables=tables)

    return apply


def _runs_v2(metadata: MetaData) -> Table:
    # Frozen: the runs table as migration 2 created it. Columns added later (``entity``, by
    # migration 3) must not exist before the step that adds them.
    return Table(
        "runs",
        metadata,
        Column("id", AutoString(), primary_key=True),
        Column("project", AutoString(), nullable=False),
        Column("name", AutoString()),
        Column("status", AutoString(), nullable=False),
        Column("config", JSON, nullable=False),
        Column("summary", JSON, nullable=False),
        Column("tags", JSON, nullable=False),
        Column("notes", AutoString()),
        Column("user", AutoString(), nullable=False),
        Column("host", AutoString()),
        Column("python", AutoString()),
        Column("command", AutoString()),
        Column("git_commit", AutoString()),
        Column("git_dirty", Boolean()),
        Column("exit_code", Integer()),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("finished_at", UTCDateTime()),
        Column("heartbeat_at", UTCDateTime(), nullable=False),
        Column("heartbeat_timeout", Float(), nullable=False),
        Index("ix_runs_project", "project"),
    )


def _metrics_v2(metadata: MetaData) -> Table:
    # Frozen: the metrics table as migration 2 created it (``media`` came with migration 4).
    return Table(
        "metrics",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("run_id", AutoString(), ForeignKey("runs.id"), nullable=False),
        Column("step", BigInteger(), nullable=False),
        Column("key", AutoString(), nullable=False),
        Column("value", Float()),
        Column("text", AutoString()),
        Column("time", Float(), nullable=False),
        Index("ix_metrics_run_key_step", "run_id", "key", "step"),
    )


def _versions_v1(metadata: MetaData) -> Table:
    # Frozen: the versions table as migration 1 created it (``new_bytes`` came with
    # migration 5).
    return Table(
        "versions",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("artifact_id", Integer(), ForeignKey("artifacts.id"), nullable=False),
        Column("number", Integer(), nullable=False),
        Column("digest", AutoString(), nullable=False),
        Column("size", BigInteger(), nullable=False),
        Column("file_count", Integer(), nullable=False),
        Column("metadata", JSON, nullable=False),
        Column("created_by_run", AutoString()),
        Column("created_by_user", AutoString(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        UniqueConstraint("artifact_id", "number", name="uq_versions_artifact_number"),
        Index("ix_versions_digest", "digest"),
    )


def _initial_tables(connection: Connection) -> None:
    _create_tables("schema_version", "artifacts")(connection)
    frozen = MetaData()
    SQLModel.metadata.tables["artifacts"].to_metadata(frozen)  # what its foreign key names
    _versions_v1(frozen).create(connection)
    _create_tables("aliases", "alias_history")(connection)


def _runs_metrics_console_edges(connection: Connection) -> None:
    frozen = MetaData()
    _runs_v2(frozen).create(connection)
    _metrics_v2(frozen).create(connection)
    _create_tables("console_lines", "lineage_edges")(connection)


def _run_entity_files_alerts(connection: Connection) -> None:
    column = String().compile(dialect=connection.dialect)
    connection.execute(text(f"ALTER TABLE runs ADD COLUMN entity {column}"))
    _create_tables("run_files", "alerts")(connection)


def _metric_media(connection: Connection) -> None:
    column = Text().compile(dialect=connection.dialect)
    connection.execute(text(f"ALTER TABLE metrics ADD COLUMN media {column}"))


def _version_new_bytes(connection: Connection) -> None:
    column = BigInteger().compile(dialect=connection.dialect)
    connection.execute(text(f"ALTER TABLE versions ADD COLUMN new_bytes {column}"))


def _metric_value_index(connection: Connection) -> None:
    # Replaced, not added to: one index keeps a training run's writes as fast as before.
    connection.execute(text("DROP INDEX IF EXISTS ix_metrics_run_key_step"))
    connection.execute(
        text("CREATE INDEX ix_metrics_run_key_step_value ON metrics (run_id, key, step, value)")
    )
    # Media rows are few: a partial index counts a run's media without reading its numbers.
    connection.execute(
        text(
            "CREATE INDEX ix_metrics_run_key_media ON metrics (run_id, key) WHERE media IS NOT NULL"
        )
    )


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "initial tables: artifacts, versions, aliases, alias history",
        _initial_tables,
    ),
    Migration(
        2,
        "runs, metrics, console lines and lineage edges",
        _runs_metrics_console_edges,
    ),
    Migration(
        3,
        "a run's entity, files kept with runs, alerts",
        _run_entity_files_alerts,
    ),
    Migration(
        4,
        "media references in metric rows",
        _metric_media,
    ),
    Migration(
        5,
        "the new bytes each version's put wrote (NULL for versions logged before)",
        _version_new_bytes,
    ),
    Migration(
        6,
        "the metric index holds each value (charts' min/max buckets); media rows indexed",
        _metric_value_index,
    ),
    Migration(
        7,
        "sweeps and their trials (the sweep controller's state)",
        _create_tables("sweeps", "sweep_trials"),
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1].version


def stored_version(connection: Connection) -> int:
    """The schema version recorded in the database, 0 for an empty database."""
    if not inspect(connection).has_table(_SCHEMA_TABLE.name):
        return 0
    version = connection.execute(select(_SCHEMA_TABLE.c.version)).scalar()
    return 0 if version is None else int(version)


def check_readable(version: int, where: str) -> int:
    """Return ``version`` if this artstore can read or migrate a catalog of that schema.

    Raises:
        UnsupportedFormatError: the database was written by a newer artstore.
    """
    newest = MIGRATIONS[-1].version
    if version > newest:
        raise UnsupportedFormatError(
            f"catalog {where} has schema version {version}, but this artstore reads schema "
            f"versions up to {newest}: upgrade artstore"
        )
    return version


def not_current(version: int, where: str) -> ConfigError:
    """The error for a catalog that a read-only opening finds older than this artstore."""
    if version == 0:
        return ConfigError(f"database {where} is not an artstore catalog (it has no schema)")
    return ConfigError(
        f"catalog {where} has schema version {version}, older than this artstore's "
        f"{SCHEMA_VERSION}; upgrade it first by running any art command on the store, "
        "e.g. art ls"
    )


def up_to_date(version: int) -> bool:
    """Whether a catalog of schema ``version`` needs no migration."""
    return version == MIGRATIONS[-1].version


def migrate(connection: Connection, where: str) -> int:
    """Bring the schema up to date inside the caller's (write) transaction.

    Args:
        connection: a connection inside a transaction that serialises writers.
        where: the catalog URL, without password, for messages.

    Returns:
        The schema version the database has now.

    Raises:
        UnsupportedFormatError: the database was written by a newer artstore.
        ConfigError: the database holds catalog tables but no schema version.
    """
    current = check_readable(stored_version(connection), where)
    if current == 0:
        existing = set(inspect(connection).get_table_names())
        clashing = sorted(existing & {"artifacts", "versions"})
        if clashing:
            raise ConfigError(
                f"database {where} has tables {', '.join(clashing)} but no artstore schema "
                "version; point the catalog URL at an empty database"
            )
    pending = [m for m in MIGRATIONS if m.version > current]
    log = logger.info if current > 0 else logger.debug
    for migration in pending:
        log(
            "catalog %s: migrating schema %d -> %d: %s",
            where,
            current,
            migration.version,
            migration.name,
        )
        migration.apply(connection)
        _set_version(connection, migration.version)
        current = migration.version
    if pending and pending[0].version == 1:
        logger.info("catalog %s: created with schema version %d", where, current)
    return current


def _set_version(connection: Connection, version: int) -> None:
    result = connection.execute(update(_SCHEMA_TABLE).values(version=version))
    if result.rowcount == 0:
        connection.execute(insert(_SCHEMA_TABLE).values(id=1, version=version))
