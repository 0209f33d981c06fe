"""``Store``: the artifact API over one blob store and its catalog."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from artstore.artifacts import aliases as _aliases
from artstore.artifacts import diff as _diff
from artstore.artifacts import lineage as _lineage
from artstore.artifacts import log, lookup
from artstore.artifacts import promote as _promote
from artstore.artifacts import runs as _runs
from artstore.artifacts import usage as _usage
from artstore.artifacts import verify as _verify
from artstore.artifacts.artifact import Artifact
from artstore.artifacts.diff import Diff
from artstore.artifacts.identity import current_actor
from artstore.artifacts.names import check_name, check_run_id
from artstore.artifacts.promote import PromotionResult
from artstore.artifacts.repository import Repository, open_repository
from artstore.artifacts.runs import RunInfo
from artstore.artifacts.usage import StoreUsage
from artstore.artifacts.verify import VerifyReport
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import InvalidArgumentError
from artstore.lineage import Actor, AliasMove, ArtifactInfo, LineageGraph
from artstore.settings import StoreLocation, StoreSettings, resolve_store
from artstore.storage import DEFAULT_CALLBACK, BlobStore, Callback

if TYPE_CHECKING:
    from artstore.lineage import Catalog
    from artstore.lineage.dashboard import MetricStats

__all__ = ["Store"]


class Store:
    """An artifact store: versions, aliases and files, with their catalog.

    Args:
        url: where the store lives (a folder, ``s3://bucket/prefix``, ``memory://x``, ...).
            Default: ``$ARTSTORE_URL``, else the nearest ``.artstore/`` above the working
            folder, else ``./.artstore/``, which is created on the first write.
        db: the catalog database URL. Default: ``$ARTSTORE_DB``, ``catalog:`` in the store's
            ``artstore.yaml``, or ``catalog.db`` inside a local store.
        storage_options: passed to the fsspec filesystem (credentials, endpoints).
        read_only: open the catalog read-only (``art ui``): the database refuses every write,
            and a catalog that is missing or not current is refused instead of created or
            upgraded.

    Nothing is opened until first use, so constructing a ``Store`` is free.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        db: str | None = None,
        storage_options: dict[str, Any] | None = None,
        read_only: bool = False,
    ) -> None:
        self.repository: Repository = open_repository(
            resolve_store(url), db=db, storage_options=storage_options, read_only=read_only
        )

    @classmethod
    def init(cls, url: str | None = None, *, db: str | None = None, **options: Any) -> Store:
        """Create a store (and its catalog) at ``url``, or open the one already there.

        What can refuse is asked before anything is written at ``url``: a catalog given by
        ``db`` (or ``$ARTSTORE_DB``) is opened, and created, first; a store outside the local
        disk without a catalog is refused.

        Raises:
            ConfigError: the catalog cannot be opened, or a bucket store has none.
            FileAccessError: ``url`` is a local file, or its folders cannot be made.
            UnsupportedFormatError: a store or catalog of a newer format is there.
        """
        location = resolve_store(url)
        return cls.over(
            open_repository(location, db=db, storage_options=options or None, create=True)
        )

    @classmethod
    def over(cls, repository: Repository) -> Store:
        """The store whose parts ``repository`` holds (closing the store closes it)."""
        store = cls.__new__(cls)
        store.repository = repository
        return store

    @property
    def location(self) -> StoreLocation:
        """Where the store lives, and whether it is the implicit ``./.artstore``."""
        return self.repository.location

    @property
    def url(self) -> str:
        """The store's URL, without any password in it (``location.url`` is as given)."""
        return self.repository.url

    @property
    def blobs(self) -> BlobStore:
        """The blob store (opened on first use)."""
        return self.repository.blobs

    @property
    def catalog(self) -> Catalog:
        """The catalog database (opened, and migrated if older, on first use)."""
        return self.repository.catalog

    @property
    def settings(self) -> StoreSettings:
        """The store's ``artstore.yaml`` (empty settings when it has none), read on first use."""
        return self.repository.settings

    def writable(self) -> Store:
        """This store, created first if it is the implicit ``./.artstore`` and missing."""
        self.repository.writable_blobs()
        return self

    # -- artifacts -------------------------------------------------------------------------------

    def log_artifact(
        self,
        artifact: Artifact,
        aliases: Iterable[str] | str = (),
        *,
        run_id: str | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> ArtifactVersion:
        """Store an artifact's files and record them as its next version.

        Content identical to the newest version creates no version: that version is returned
        (with ``created`` False) and ``aliases`` are applied to it. A string is one alias, as
        in W&B.

        The store's own files are left out (with a warning), and a put that is refused
        (below) keeps nothing of its files.

        Raises:
            InvalidNameError: an alias is malformed, version-shaped or ``latest``.
            ProtectedAliasError: an alias is protected (only :meth:`promote` moves it); no
                file was stored.
            ArtifactTypeError: the artifact exists with another type.
            SourceChangedError: a file changed while it was read.
            NotFoundError: a file no longer exists.
            FileAccessError: a file cannot be read or is not a regular file.
            UnsafePathError: a file is now a link leading outside the folder it was added from.
            InvalidArgumentError: ``artifact`` is not an :class:`Artifact`, or ``aliases`` is
                neither a list nor a string.
        """
        _check_artifact("log_artifact", artifact)
        wanted = _aliases.alias_list(aliases)
        logged = log.log_artifact(
            self.repository, artifact, wanted, run_id=run_id, callback=callback
        )
        return lookup.make_version(
            self.repository, logged.version, created=logged.created, new_bytes=logged.new_bytes
        )

    def stage(self, artifact: Artifact, blobs: BlobStore) -> log.StagedVersion:
        """Stage an artifact's files and manifest in another blob store (an offline spool);
        nothing is recorded.

        Raises:
            InvalidArgumentError: ``artifact`` is not an :class:`Artifact`, or ``blobs`` not a
                :class:`~artstore.storage.BlobStore`.
        """
        _check_artifact("stage", artifact)
        if not isinstance(blobs, BlobStore):
            raise InvalidArgumentError(f"stage puts into a BlobStore, not a {type(blobs).__name__}")
        return log.stage(blobs, artifact, self.repository.stat_cache)

    def use(self, ref: str, *, run_id: str | None, type: str | None = None) -> ArtifactVersion:
        """The version ``ref`` names, recording that the run ``run_id`` used it (a run the
        catalog lacks is warned about, and nothing is recorded).

        Raises:
            InvalidNameError: the reference or ``run_id`` is malformed.
            NotFoundError: no such artifact, version or alias.
            InvalidArgumentError: ``type`` is given and is not the version's (nothing recorded).
        """
        if run_id is not None:
            check_run_id(run_id)
        return lookup.use_version(self.repository, ref, run_id=run_id, type=type)

    # -- runs and lineage -------------------------------------------------------------------------

    def lineage(
        self,
        ref: str | None = None,
        *,
        run_id: str | None = None,
        direction: Literal["up", "down", "both"] = "both",
        depth: int | None = None,
    ) -> LineageGraph:
        """The lineage around a version (``name:ref``) or a run: what it came from (``up``),
        what came from it (``down``), or both, optionally within ``depth`` hops.

        Raises:
            NotFoundError: no such version or run.
            InvalidNameError: ``ref`` or ``run_id`` is malformed.
            InvalidArgumentError: both ``ref`` and ``run_id`` are given, ``direction`` is not up,
                down or both, or ``depth`` is not a whole number >= 0.
            UserError: neither ``ref`` nor ``run_id`` is given.
        """
        return _lineage.walk(self.repository, ref, run_id=run_id, direction=direction, depth=depth)

    def runs(
        self, project: str | None = None, filters: dict[str, Any] | None = None
    ) -> list[RunInfo]:
        """Runs, newest first: of one project, matching ``filters`` (see
        :func:`artstore.artifacts.runs.matches`),
        e.g. ``{"state": "finished", "config.lr": 0.001, "summary.acc": {"$gt": 0.9}}``."""
        return _runs.list_runs(self.repository, project, filters)

    def run(self, run_id: str) -> RunInfo:
        """One run.

        Raises:
            InvalidNameError: ``run_id`` is not shaped like a run id.
            NotFoundError: no such run.
        """
        return _runs.get_run(self.repository, run_id)

    def projects(self) -> list[tuple[str, int]]:
        """(project, number of runs) for every project with runs, by name."""
        return self.repository.catalog.runs.projects()

    def metric_keys(self, run_ids: Iterable[str]) -> list[str]:
        """The keys under which any of the runs logged a number, sorted."""
        return self.repository.catalog.runs.numeric_keys(list(run_ids))

    def metric_stats(
        self, run_ids: Iterable[str], keys: Iterable[str]
    ) -> dict[str, dict[str, MetricStats]]:
        """Each run's lowest, highest and last number under each key, by run id then key (a
        run or key without numbers is left out), in one query."""
        return self.repository.catalog.runs.metric_stats(list(run_ids), list(keys))

    def artifact(self, ref: str) -> ArtifactVersion:
        """The version ``name:v3``, ``name:alias`` or ``name`` (latest).

        Raises:
            InvalidNameError: the reference is malformed.
            NotFoundError: no such artifact, version or alias.
        """
        return lookup.get_version(self.repository, ref)

    def artifacts(self, type: str | None = None) -> list[ArtifactInfo]:
        """Every artifact in the store (optionally of one type), sorted by name.

        Raises:
            InvalidNameError: ``type`` is not a type's name.
        """
        if type is not None:
            check_name(type, "artifact type")
        return lookup.list_artifacts(self.repository, type)

    def versions(self, name: str) -> list[ArtifactVersion]:
        """Every version of an artifact, oldest first.

        Raises:
            NotFoundError: no artifact named ``name``.
        """
        return lookup.list_versions(self.repository, name)

    def verify(
        self, ref: str | None = None, *, deep: bool = False, repair: bool = False
    ) -> VerifyReport:
        """Check stored data: one version (``name:ref``), every version of an artifact
        (``name``), or the whole store (None). Every version is checked, whatever the others
        hold: each manifest is read (and so hashed) and its paths checked, each blob must exist
        with the size its manifest entry gives; ``deep`` also hashes every blob. The whole-store
        check also counts the staging files of interrupted writes left in ``tmp/``.

        Args:
            ref: what to check; None for the whole store.
            deep: re-hash every blob against its name.
            repair: move corrupt and wrong-sized objects to ``quarantine/`` (never deleting
                them), so that the next put of the good files heals the store, and remove
                stale staging files. What was moved stays a problem until then.

        Raises:
            InvalidNameError: ``ref`` is malformed.
            InvalidArgumentError: ``ref`` is not a string.
            NotFoundError: no such artifact or version.
        """
        if ref is not None and not isinstance(ref, str):
            raise InvalidArgumentError(
                f"verify takes a name:ref string, not a {type(ref).__name__}"
            )
        return _verify.verify(self.repository, ref, deep=deep, repair=repair)

    def diff(self, a: str, b: str, *, stats: bool = False) -> Diff:
        """Compare two sides, each a version (``name:ref``; a bare name means latest) or a local
        folder (when one exists at that path): files by digest, and each changed
        ``.safetensors`` file tensor by tensor; ``stats`` adds max |b - a| and
        ``||b - a|| / ||a||`` per changed tensor (needs numpy).

        Raises:
            NotFoundError: a side is neither a folder nor an existing version.
            UnsupportedFormatError: a changed ``.safetensors`` file is malformed.
        """
        return _diff.diff(self.repository, a, b, stats=stats)

    def usage(self, name: str | None = None) -> StoreUsage:
        """The bytes the store holds for its versions, each blob (a whole file, or a chunk of
        one) counted once, and per artifact (every one, or only ``name``) its logical size and
        the bytes only it references (unique) or shares with other artifacts. Reads every
        manifest, no blob.

        Raises:
            InvalidNameError: ``name`` is malformed.
            InvalidArgumentError: ``name`` is not a string.
            NotFoundError: no artifact named ``name``.
        """
        if name is not None and not isinstance(name, str):
            raise InvalidArgumentError(f"usage takes an artifact name, not a {type(name).__name__}")
        return _usage.usage(self.repository, name)

    # -- aliases ---------------------------------------------------------------------------------

    def set_alias(
        self,
        ref: str,
        alias: str,
        *,
        expect: str | int | None = None,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> AliasMove:
        """Point ``alias`` at the version ``ref`` names, moving it off any other version;
        with ``expect`` (``"v3"``, or ``"none"`` for unset) only if it points there now.

        Raises:
            InvalidNameError: the alias is malformed, version-shaped or ``latest``.
            InvalidRequirementError: ``expect`` is malformed.
            NotFoundError: no such version.
            ProtectedAliasError: the alias is protected; use :meth:`promote`.
            AliasConflictError: the alias did not point at ``expect``; nothing was moved.
            InvalidArgumentError: ``reason`` is not a string.
        """
        actor = _actor(run_id, reason)
        return _aliases.set_alias(self.repository, ref, alias, actor, expect=expect)

    def remove_alias(
        self,
        name: str,
        alias: str,
        *,
        expect: str | int | None = None,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> AliasMove:
        """Take ``alias`` off the artifact ``name``; with ``expect`` (``"v3"``) only if it
        points there now.

        Raises:
            InvalidNameError: the alias is malformed or ``latest``.
            InvalidRequirementError: ``expect`` is malformed or ``"none"``.
            NotFoundError: the artifact has no such alias.
            ProtectedAliasError: the alias is protected; only :meth:`promote` moves it.
            AliasConflictError: the alias did not point at ``expect``; nothing was removed.
            InvalidArgumentError: ``reason`` is not a string.
        """
        actor = _actor(run_id, reason)
        return _aliases.remove_alias(self.repository, name, alias, actor, expect=expect)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of the artifact's aliases (or of one alias), oldest first.

        Raises:
            InvalidNameError: ``name`` or ``alias`` is malformed.
            NotFoundError: no artifact named ``name``.
        """
        return _aliases.alias_history(self.repository, name, alias)

    def promote(
        self,
        ref: str,
        to: str,
        *,
        require: Iterable[str] = (),
        expect: str | int | None = None,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> PromotionResult:
        """Point ``to`` at the version ``ref`` names if it meets every requirement.

        A requirement is ``FIELD OP VALUE``: FIELD is ``metadata.KEY`` (the version's
        metadata), ``summary.KEY`` or ``config.KEY`` (of the run that created the version;
        dotted keys reach into mappings); OP is one of ``>= > <= < == !=``; VALUE is a number,
        or ``current``: the same field of the version ``to`` points at now (passes when it
        points nowhere). The store's default requirements for a protected alias
        (``artstore.yaml``) apply first. Protected aliases move only through this method.

        Args:
            ref: the candidate, ``name:v3``, ``name:alias`` or ``name``.
            to: the alias to move, e.g. ``production``.
            require: requirements, all of which must pass.
            expect: the version ``to`` must point at now (``"v3"`` or 3), or ``"none"`` when it
                must not be set; checked again atomically with the move.
            reason: why, for the alias history.
            run_id: the run doing the promotion, for the alias history.

        Returns:
            Every check with its values, and the move recorded.

        Raises:
            InvalidRequirementError: a requirement or ``expect`` is malformed, or compares a
                field that is not a number.
            MissingMetricError: a field is absent on the candidate, or on the current holder
                when compared with ``current``.
            NotFoundError: no such version.
            GateFailed: a requirement did not pass; nothing moved (``.result`` has the checks).
            AliasConflictError: ``to`` was not at ``expect``, or it moved while the
                requirements were checked against its holder; nothing moved.
            InvalidArgumentError: ``reason`` is not a string.
        """
        _actor(run_id, reason)  # checked here; the promotion records its own
        return _promote.promote(
            self.repository,
            ref,
            to,
            require=list(require),
            expect=expect,
            run_id=run_id,
            reason=reason,
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the catalog connection and caches."""
        self.repository.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def _check_artifact(verb: str, artifact: object) -> None:
    if not isinstance(artifact, Artifact):
        raise InvalidArgumentError(
            f"{verb} takes an artstore.Artifact, not a {type(artifact).__name__}"
        )


def _actor(run_id: str | None, reason: str | None) -> Actor:
    """The actor of a move asked for through the API, its ``run_id`` and ``reason`` checked.

    Raises:
        InvalidNameError: ``run_id`` is malformed.
        InvalidArgumentError: ``reason`` is not a string.
    """
    if run_id is not None:
        check_run_id(run_id)
    if reason is not None and not isinstance(reason, str):
        raise InvalidArgumentError(f"reason is a string, not a {type(reason).__name__}")
    return current_actor(run_id=run_id, reason=reason)
