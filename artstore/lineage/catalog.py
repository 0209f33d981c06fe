"""The catalog: one database of artifacts, versions and aliases, and its transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from artstore.errors import ConfigError
from artstore.lineage import ancestry, migrations, queries, run_import, runs, versions
from artstore.lineage._engine import (
    WRITE_OPTION,
    create_catalog_engine,
    display_url,
    is_locked,
    is_retryable,
    open_error,
    sqlite_file,
)
from artstore.lineage.locks import LockWait, attempt_seconds
from artstore.lineage.records import (
    Actor,
    AliasMove,
    ArtifactInfo,
    LineageGraph,
    LogResult,
    NewVersion,
    Promotion,
    RunImport,
    RunImportResult,
    RunRecord,
    VersionInfo,
)
from artstore.settings import lock_timeout

__all__ = ["Catalog"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_ATTEMPTS = 25
_PG_MIGRATION_LOCK = 0x61727473  # "arts": serialises concurrent schema set-up on PostgreSQL


def _exists(path: Path, url: str) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # a name too long for the filesystem, say
        raise open_error(url, exc) from None


class Catalog:
    """The catalog database: artifacts, versions, aliases and alias history.

    Open one with :meth:`open`; close it with :meth:`close` or a ``with`` block. Every method
    runs in its own transaction and returns frozen records, never live rows. Write methods are
    safe with many writer processes at once, and check the rules of aliases in the
    transaction that writes: ``latest`` is kept by the catalog alone, and the ``protected``
    aliases it was opened with move only by a :class:`Promotion`.
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
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._url = url
        self._schema_version = schema_version
        self._lock_limit = lock_limit
        self._protected = protected

    @classmethod
    def open(
        cls, url: str, *, create: bool = True, protected: Collection[str] = frozenset()
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
        if not create and path is not None and not _exists(path, url):
            raise ConfigError(
                f"catalog database {path.absolute()} does not exist; check the catalog URL (--db, "
                "$ARTSTORE_DB or catalog: in artstore.yaml), or create a store with that "
                "catalog: art --db URL init STORE"
            )
        engine = create_catalog_engine(url, attempt_seconds(limit))
        wait = LockWait(shown, limit)
        try:
            while True:
                try:
                    version = cls._schema(engine, shown)
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
    def _schema(engine: Engine, shown: str) -> int:
        # The write lock is taken only to create or migrate the schema, so opening a catalog
        # that another process is writing to does not queue behind that writer.
        with engine.begin() as connection:
            version = migrations.check_readable(migrations.stored_version(connection), shown)
        if migrations.up_to_date(version):
            return version
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

    def _read(self, work: Callable[[Session], _T]) -> _T:
        wait = LockWait(self._url, self._lock_limit)
        while True:
            try:
                with Session(self._engine) as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                if not is_locked(exc):
                    raise
                wait.locked()

    def _write(self, work: Callable[[Session], _T]) -> _T:
        # The whole unit of work reruns after a conflict, so nothing read before it is stale.
        wait = LockWait(self._url, self._lock_limit)
        conflicts = 0
        while True:
            try:
                with Session(self._writer, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                if is_locked(exc):
                    wait.locked()
                    continue
                conflicts += 1
                if conflicts == _MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                logger.debug("catalog write conflict, retrying (%d): %s", conflicts, exc.orig)

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, **fields: Any) -> RunRecord:
        """Insert a run, ``running`` from now; ``fields`` are :class:`RunRecord` columns."""
        return self._write(lambda s: runs.create_run(s, fields))

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        """Set columns of a run, and its heartbeat.

        Raises:
            NotFoundError: no such run.
        """
        return self._write(lambda s: runs.update_run(s, run_id, fields))

    def write_run_batch(
        self,
        run_id: str,
        metrics: Sequence[runs.MetricValue],
        console: Sequence[runs.ConsoleValue],
        fields: dict[str, Any],
    ) -> None:
        """One flush of a live run in one transaction: metric rows (run id, step, key, number,
        text, unix time), console rows (run id, seq, stream, text, unix time), changed columns
        and the heartbeat."""

        def work(session: Session) -> None:
            connection = session.connection()
            runs.append_rows(connection, "metrics", metrics)
            runs.append_rows(connection, "console_lines", console)
            runs.update_columns(connection, run_id, fields)

        self._write(work)

    def import_run(self, spec: RunImport) -> RunImportResult:
        """Merge a run recorded elsewhere (an offline spool) in one transaction: its row, the
        metric and console rows it does not have yet, the versions it produced and the edges
        to the versions it used. Nothing is deleted, and importing again adds nothing.

        A metric row is identified by (step, key, value, text, time), a console row by (seq,
        stream, time).
        A new run gets ``spec.columns``; an existing one gets them only if its heartbeat is not
        later than ``spec.columns["heartbeat_at"]`` (else it was written since, and is kept).
        A version is recorded (as :meth:`record_version` does) unless the run already produced
        one of that name with that digest; a used version is linked only if this catalog has
        it with the same digest.

        Raises:
            RunStateError: the catalog holds another run with this id (its project, user or
                creation time differ); nothing was written.
            ArtifactTypeError: a version's type is not its artifact's; nothing was written.
            ProtectedAliasError: a version would set a protected alias; nothing was written.
            InvalidNameError: a version would set ``latest``; nothing was written.
        """
        return self._write(lambda s: run_import.import_run(s, spec, self._protected))

    def check_import(self, spec: RunImport) -> None:
        """Raise what :meth:`import_run` would raise as the catalog is now; writes nothing.

        Lets a caller refuse before it copies files for the import; :meth:`import_run` checks
        again in its own transaction.

        Raises:
            RunStateError: the catalog holds another run with this id.
            ArtifactTypeError: a version's type is not its artifact's.
            ProtectedAliasError: a version would set a protected alias.
            InvalidNameError: a version would set ``latest``.
        """
        self._read(lambda s: run_import.check_import(s, spec, self._protected))

    def get_run(self, run_id: str) -> RunRecord:
        """One run.

        Raises:
            NotFoundError: no such run.
        """
        return self._read(lambda s: runs.get_run(s, run_id))

    def find_run(self, run_id: str) -> RunRecord | None:
        """One run, or None when there is no such run."""
        return self._read(lambda s: runs.find_run(s, run_id))

    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally of one project."""
        return self._read(lambda s: runs.list_runs(s, project))

    def history(self, run_id: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A run's metrics, one dict per step with ``_step``, ordered by step."""
        return self._read(lambda s: runs.history(s, run_id, keys))

    def console(self, run_id: str) -> list[tuple[str, str]]:
        """A run's console output as (stream, text) pieces in order."""
        return self._read(lambda s: runs.console(s, run_id))

    def max_step(self, run_id: str) -> int | None:
        """The highest step a run logged, None before its first."""
        return self._read(lambda s: runs.max_step(s, run_id))

    def add_edge(self, run_id: str, name: str, number: int, kind: runs.EdgeKind) -> bool:
        """Record that a run used or produced ``name:v<number>``; False if the run is unknown.

        Raises:
            NotFoundError: no such version.
        """

        def work(session: Session) -> bool:
            artifact = queries.require_artifact(session, name)
            version = queries.version_row(session, artifact, number)
            assert version.id is not None
            return runs.add_edge(session, run_id, version.id, kind)

        return self._write(work)

    def run_edges(self, run_id: str) -> list[tuple[runs.EdgeKind, str, int]]:
        """(kind, artifact name, version number) for each edge of a run, in order recorded."""
        return self._read(lambda s: runs.edges_of_run(s, run_id))

    # -- versions and aliases --------------------------------------------------------------------

    def record_version(self, new: NewVersion, actor: Actor) -> LogResult:
        """Record a version of an artifact, creating the artifact on its first version.

        In one transaction: the artifact is created if new (a non-None ``new.description``
        replaces the stored one). If the newest version has ``new.digest``, no version is made,
        the stored metadata stays, and ``ignored_metadata_keys`` names the given keys whose
        values differ from it. Otherwise a version numbered newest + 1 (0 for the first) is
        inserted. Then ``latest`` and every alias in ``new.aliases`` point at the returned
        version, with a history row for each alias that actually moved.

        Args:
            new: the version (its name validated by the caller).
            actor: ``actor.who`` and ``actor.run_id`` become ``created_by_user`` and
                ``created_by_run`` (with a ``produced`` edge from the run); the whole actor is
                recorded on each alias history row this call writes.

        Returns:
            The version, whether it was created, and the ignored metadata keys.

        Raises:
            ArtifactTypeError: the artifact exists with another type.
            ProtectedAliasError: an alias is protected; nothing was written.
            InvalidNameError: an alias is ``latest``; nothing was written.
        """
        return self._write(
            lambda session: versions.record_version(session, new, actor, protected=self._protected)
        )

    def move_alias(
        self,
        name: str,
        alias: str,
        number: int,
        actor: Actor,
        *,
        expect: int | Literal["any"] | None = "any",
        promotion: Promotion | None = None,
    ) -> AliasMove:
        """Point an alias of an artifact at version ``number``, recording the move by ``actor``.

        The alias leaves the version it pointed at. A move to where it already points writes
        no history row and returns a move with ``from_number == to_number``.

        Args:
            expect: compare-and-swap: unless ``"any"``, the alias must point at version
                ``expect`` (None: be unset) in the same transaction as the move.
            promotion: given only by a promotion whose requirements passed
                (:meth:`artstore.artifacts.Store.promote`); a protected alias moves only
                with one.

        Raises:
            InvalidNameError: the alias is ``latest``, which the catalog keeps itself.
            ProtectedAliasError: the alias is protected and this is not a promotion.
            NotFoundError: no such artifact, or no such version of it.
            AliasConflictError: the alias did not point at ``expect``; nothing was written.
        """
        return self._write(
            lambda session: versions.move_alias(
                session,
                name,
                alias,
                number,
                actor=actor,
                expect=expect,
                protected=self._protected,
                promotion=promotion,
            )
        )

    def remove_alias(self, name: str, alias: str, actor: Actor) -> AliasMove:
        """Remove an alias from an artifact, recording the move (``to_number`` None) by ``actor``.

        Raises:
            InvalidNameError: the alias is ``latest``, which the catalog keeps itself.
            ProtectedAliasError: the alias is protected (no write removes one).
            NotFoundError: no such artifact, or it has no such alias.
        """
        return self._write(
            lambda session: versions.remove_alias(
                session, name, alias, actor=actor, protected=self._protected
            )
        )

    def get_version(self, name: str, selector: str) -> VersionInfo:
        """Resolve ``"v3"`` or an alias (``latest`` included) to a version.

        Raises:
            NotFoundError: no such artifact, version or alias (one line naming what exists).
        """
        return self._read(lambda session: queries.get_version(session, name, selector))

    def get_artifact(self, name: str) -> ArtifactInfo:
        """The artifact named ``name``.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._read(lambda session: queries.get_artifact(session, name))

    def list_artifacts(self, type: str | None = None) -> list[ArtifactInfo]:
        """All artifacts, or those of one ``type``, sorted by name."""
        return self._read(lambda session: queries.list_artifacts(session, type))

    def list_versions(self, name: str) -> list[VersionInfo]:
        """The versions of an artifact in ascending number, each with its aliases.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._read(lambda session: queries.list_versions(session, name))

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """The alias moves of an artifact (or of one alias) in the order they happened.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._read(lambda session: queries.alias_history(session, name, alias))

    def version_by_digest(self, name: str, digest: str) -> VersionInfo | None:
        """The newest version of ``name`` with ``digest``; None if there is none."""
        return self._read(lambda session: queries.version_by_digest(session, name, digest))

    # -- lineage ---------------------------------------------------------------------------------

    def lineage(
        self, node: str, *, direction: ancestry.Direction = "both", depth: int | None = None
    ) -> LineageGraph:
        """The lineage around a run or version: its ancestors, descendants, or both.

        Walked in the database by one recursive query (nothing loads the whole graph), plus one
        query each to describe the runs and the versions found.

        Args:
            node: ``v:<version id>`` (see :meth:`version_node`) or ``r:<run id>``
                (see :meth:`run_node`).
            direction: ``up`` for what it came from (against data flow), ``down`` for what
                came from it, ``both`` for the two.
            depth: at most this many edges from ``node``; None for no limit.

        Returns:
            The root and every node found with its minimal distance, and the edges among them.

        Raises:
            NotFoundError: no such run or version.
            InvalidNameError: ``node`` is not a node id.
            InvalidArgumentError: ``direction`` is unknown or ``depth`` not a whole number
                >= 0 (a ``ValueError``).
        """
        return self._read(lambda session: ancestry.lineage(session, node, direction, depth))

    def ancestors(self, node: str, *, depth: int | None = None) -> dict[str, int | None]:
        """Ids of every node upstream of ``node`` (what it came from), within ``depth`` hops
        if given, with their distances then: one recursive query, no details.

        Raises:
            NotFoundError: no such node.
        """
        return self._read(lambda s: self._reach(s, node, "up", depth))

    def descendants(self, node: str, *, depth: int | None = None) -> dict[str, int | None]:
        """Ids of every node downstream of ``node`` (what came from it); see :meth:`ancestors`.

        Raises:
            NotFoundError: no such node.
        """
        return self._read(lambda s: self._reach(s, node, "down", depth))

    @staticmethod
    def _reach(
        session: Session, node: str, direction: Literal["up", "down"], depth: int | None
    ) -> dict[str, int | None]:
        ancestry.require_node(session, node)
        return ancestry.reach(session, node, direction, depth)

    def version_node(self, name: str, number: int) -> str:
        """The lineage node id (``v:<id>``) of version ``number`` of artifact ``name``.

        Raises:
            NotFoundError: no such artifact or version.
        """
        return self._read(lambda session: ancestry.version_node(session, name, number))

    def run_node(self, run_id: str) -> str:
        """The lineage node id (``r:<run id>``) of a run.

        Raises:
            NotFoundError: no such run.
        """
        return self._read(lambda session: ancestry.run_node(session, run_id))
