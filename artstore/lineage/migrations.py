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

from sqlalchemy import Connection, insert, inspect, select, update
from sqlmodel import SQLModel

from artstore.errors import ConfigError, UnsupportedFormatError
from artstore.lineage import tables as _tables  # noqa: F401  (registers the tables)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "check_readable",
    "migrate",
    "stored_version",
    "up_to_date",
]

logger = logging.getLogger(__name__)

_SCHEMA_TABLE = SQLModel.metadata.tables["schema_version"]
_INITIAL_TABLES = ("schema_version", "artifacts", "versions", "aliases", "alias_history")


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


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "initial tables: artifacts, versions, aliases, alias history",
        _create_tables(*_INITIAL_TABLES),
    ),
    Migration(
        2,
        "runs, metrics, console lines and lineage edges",
        _create_tables("runs", "metrics", "console_lines", "lineage_edges"),
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
