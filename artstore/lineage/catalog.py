"""The catalog: one database of runs, artifacts, versions and aliases, opened and closed.

What it holds is read and written through three concern objects: ``catalog.runs``,
``catalog.versions`` (artifacts, versions and aliases), ``catalog.lineage`` and
``catalog.sweeps`` (the sweep controller's state).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from artstore.errors import ConfigError
from artstore.lineage import migrations
from artstore.lineage._engine import (
    WRITE_OPTION,
    create_catalog_engine,
    display_url,
    is_locked,
    open_error,
    sqlite_file,
)
from artstore.lineage.catalog_lineage import CatalogLineage
from artstore.lineage.catalog_runs import CatalogRuns
from artstore.lineage.catalog_sweeps import CatalogSweeps
from artstore.lineage.catalog_versions import CatalogVersions
from artstore.lineage.locks import LockWait, attempt_seconds
from artstore.lineage.transactions import Transactions
from artstore.settings import lock_timeout

__all__ = ["Catalog"]

_PG_MIGRATION_LOCK = 0x61727473  # "arts": serialises concurrent schema set-up on PostgreSQL


def _exists(path: Path, url: str) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # a name too long for the filesystem, say
        raise open_error(url, exc) from None


class Catalog:
    """The catalog database: runs, artifacts, versions, aliases and their lineage.

    Open one with :meth:`open`; close it with :meth:`close` or a ``with`` block. Its data is
    reached through :attr:`runs`, :attr:`versions` and :attr:`lineage`, whose every method
    runs in its own transaction and returns frozen records, never live rows. Write methods are
    safe with many writer processes at once, and check the rules of aliases in the
    transaction that writes: ``latest`` is kept by the catalog alone, and the ``protected``
    aliases it was opened with move only by a :class:`~artstore.lineage.records.Promotion`.
    """

    def __init__(
        self,
        engine: Engine,
        url: str,
        schema_version: int,
        lock_limit: float,
        protected: frozenset[str] = frozenset(),
    ) -> None:
        self._engine = engine
        self._url = url
        self._schema_version = schema_version
        self._protected = protected
        transactions = Transactions(engine, url, lock_limit)
        self.runs = CatalogRuns(transactions, protected)
        self.versions = CatalogVersions(transactions, protected)
        self.lineage = CatalogLineage(transactions)
        self.sweeps = CatalogSweeps(transactions)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = True,
        protected: Collection[str] = frozenset(),
        read_only: bool = False,
    ) -> Catalog:
        """Open the catalog at a database URL, creating or upgrading its schema as needed.

        A catalog whose schema is current is opened without taking the write lock. While
        another process holds the catalog locked, opening and every later operation wait
        (saying so after a few seconds) up to ``$ARTSTORE_LOCK_TIMEOUT`` seconds.

        Args:
            url: an SQLAlchemy URL, e.g. ``sqlite:////path/catalog.db`` or
                ``postgresql+psycopg://user@host/db``.
            create: whether a SQLite file that does not exist may be created; when False,
                a missing file is refused instead (a mistyped path makes no database).
            protected: aliases that only a promotion moves (``protected_aliases`` of the
                store's ``artstore.yaml``); every write through this catalog enforces them.
            read_only: open for reading only (a dashboard): the database refuses every write
                on these connections, nothing is created or migrated (a catalog that is not
                current is refused), and writers are never blocked by it.

        Raises:
            ConfigError: the URL is malformed, its driver is missing, the database cannot
                be reached, or (``create`` False) its SQLite file does not exist; or it holds
                tables that are not an artstore catalog; or ``$ARTSTORE_LOCK_TIMEOUT`` is
                malformed.
            UnsupportedFormatError: the schema was written by a newer artstore.
            CatalogBusyError: another process held the catalog locked past the limit.
        """
        shown = display_url(url)
        limit = lock_timeout()
        path = sqlite_file(url)
        create = create and not read_only
        if not create and path is not None and not _exists(path, url):
            raise ConfigError(
                f"catalog database {path.absolute()} does not exist; check the catalog URL (--db, "
                "$ARTSTORE_DB or catalog: in artstore.yaml), or create a store with that "
                "catalog: art --db URL init STORE"
            )
        engine = create_catalog_engine(url, attempt_seconds(limit), read_only)
        wait = LockWait(shown, limit)
        try:
            while True:
                try:
                    version = cls._schema(engine, shown, read_only)
                    break
                except DBAPIError as exc:
                    if not is_locked(exc):
                        raise open_error(url, exc) from None
                    wait.locked()
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, shown, version, limit, frozenset(protected))

    @staticmethod
    def _schema(engine: Engine, shown: str, read_only: bool) -> int:
        # The write lock is taken only to create or migrate the schema, so opening a catalog
        # that another process is writing to does not queue behind that writer.
        with engine.begin() as connection:
            version = migrations.check_readable(migrations.stored_version(connection), shown)
        if migrations.up_to_date(version):
            return version
        if read_only:
            raise migrations.not_current(version, shown)
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            return migrations.migrate(connection, shown)

    @property
    def url(self) -> str:
        """The database URL, without its password."""
        return self._url

    @property
    def protected(self) -> frozenset[str]:
        """The aliases only a promotion moves: no write sets or removes them otherwise."""
        return self._protected

    @property
    def schema_version(self) -> int:
        """The schema version of the database (equal to ``SCHEMA_VERSION`` once open)."""
        return self._schema_version

    def close(self) -> None:
        """Release the database connections; the catalog cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({self._url!r})"
