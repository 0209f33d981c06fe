"""``Repository``: one store's blob store, settings, catalog and stat cache, opened on use.

The one place that opens a store. Each part opens on first use, in the order the store needs:
the blob store, then its ``artstore.yaml`` (read through the blob store), then the catalog (with
the settings' protected aliases). The verbs (``log.log_artifact``, ``diff.diff``, ``verify.verify``)
are free functions over a repository; ``Store`` is the public shell that holds one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from artstore.artifacts.download import KeepOut
from artstore.errors import (
    InvalidArgumentError,
    NotAStoreError,
    NotFoundError,
    ProtectedAliasError,
)
from artstore.redaction import redact_url
from artstore.settings import (
    StoreLocation,
    StoreSettings,
    cache_root,
    default_catalog_url,
    parse_settings,
    resolve_catalog_url,
    unreadable_settings,
)
from artstore.storage import BlobStore, SqliteStatCache, StatCache, init_store, open_store

if TYPE_CHECKING:
    from artstore.lineage import Catalog

__all__ = ["Repository", "open_repository"]

logger = logging.getLogger(__name__)


def open_repository(
    location: StoreLocation,
    *,
    db: str | None = None,
    storage_options: dict[str, Any] | None = None,
    create: bool = False,
    read_only: bool = False,
) -> Repository:
    """The repository at ``location``: nothing is opened until first use, unless ``create``.

    With ``create``, what can refuse is asked before anything is written: a catalog given by
    ``db`` (or ``$ARTSTORE_DB``) is opened, and created, first; then the blob store and the
    catalog are created (or the ones already there opened).

    Raises:
        InvalidArgumentError: ``location`` is not a :class:`~artstore.settings.StoreLocation`.
        ConfigError: (create) the catalog cannot be opened, or a bucket store has none.
        FileAccessError: (create) the location is a local file, or its folders cannot be made.
        UnsupportedFormatError: (create) a store or catalog of a newer format is there.
    """
    repo = Repository(
        location, db=db, storage_options=storage_options, creating=create, read_only=read_only
    )
    if create:
        try:
            repo._open(create=True)
            repo.catalog  # noqa: B018 - creating the catalog is the point
        except BaseException:
            repo.close()
            raise
    return repo


class Repository:
    """One store's parts, each opened on first use.

    Args:
        location: where the store lives, and whether it is the implicit ``./.artstore``.
        db: the catalog database URL given by the caller (``--db``), if any.
        storage_options: passed to the fsspec filesystem.
        creating: made by ``Store.init``: a SQLite catalog may be created anywhere, not only
            as the store's own ``catalog.db``.
        read_only: the catalog is opened read-only (``Catalog.open(read_only=True)``): nothing
            is created or migrated, and the database refuses writes.

    Raises:
        InvalidArgumentError: ``location`` is not a :class:`~artstore.settings.StoreLocation`.
    """

    def __init__(
        self,
        location: StoreLocation,
        *,
        db: str | None = None,
        storage_options: dict[str, Any] | None = None,
        creating: bool = False,
        read_only: bool = False,
    ) -> None:
        if not isinstance(location, StoreLocation):
            raise InvalidArgumentError(
                f"a repository opens a StoreLocation (artstore.settings.resolve_store), not a "
                f"{type(location).__name__}"
            )
        self.location = location
        self.creating = creating
        self.read_only = read_only
        self._db = db
        self._storage_options = storage_options
        self._blobs: BlobStore | None = None
        self._settings: StoreSettings | None = None
        self._catalog: Catalog | None = None
        self._stat_cache: StatCache | None = None
        self._keep_out: KeepOut | None = None

    @property
    def url(self) -> str:
        """The store's URL, without any password in it (``location.url`` is as given)."""
        return redact_url(self.location.url)

    # -- the parts -------------------------------------------------------------------------------

    @property
    def blobs(self) -> BlobStore:
        """The blob store (opened on first use; never created here)."""
        return self._open(create=False)

    def writable_blobs(self) -> BlobStore:
        """The blob store, created first if it is the implicit ``./.artstore`` and missing:
        the implicit store appears on the first write, never on a read."""
        return self._open(create=self.location.implicit)

    @property
    def settings(self) -> StoreSettings:
        """The store's ``artstore.yaml`` (empty settings when it has none), read on first use."""
        if self._settings is None:
            source = f"{self.url}/artstore.yaml"
            try:
                text = self.blobs.read_settings() or ""
            except (OSError, UnicodeDecodeError) as exc:
                raise unreadable_settings(source, exc) from None
            self._settings = parse_settings(text, source)
        return self._settings

    @property
    def catalog(self) -> Catalog:
        """The catalog database (opened, and migrated if older, on first use)."""
        if self._catalog is None:
            local = self.blobs.local_root
            url = resolve_catalog_url(self._db, self.settings, self.url, local)
            from artstore.lineage import Catalog

            # Only init, or the store's own catalog.db, makes a new SQLite file: a mistyped
            # --db path is refused instead of becoming an empty catalog.
            own = local is not None and url == default_catalog_url(local)
            self._catalog = Catalog.open(
                url,
                create=self.creating or own,
                protected=frozenset(self.settings.protected_aliases),
                read_only=self.read_only,
            )
        return self._catalog

    @property
    def stat_cache(self) -> StatCache:
        """The stat cache of files already hashed (shared by every store on this machine)."""
        if self._stat_cache is None:
            self._stat_cache = SqliteStatCache(cache_root() / "statcache.db")
        return self._stat_cache

    @property
    def keep_out(self) -> KeepOut:
        """The local places downloads must never write: this store's own folder and the files
        of its SQLite catalog, wherever that is."""
        if self._keep_out is None:
            root = self.blobs.local_root
            url = resolve_catalog_url(self._db, self.settings, self.url, root)
            self._keep_out = KeepOut.of(root, url)
        return self._keep_out

    def opening_catalog(self, pool: ThreadPoolExecutor) -> Future[Catalog]:
        """Open the catalog on ``pool`` (importing the database libraries, connecting and
        checking the schema take a third of a second), so a caller reads files meanwhile."""
        return pool.submit(lambda: self.catalog)

    # -- rules -----------------------------------------------------------------------------------

    def check_unprotected(self, name: str, aliases: Iterable[str]) -> None:
        """Refuse ``aliases`` the settings protect (only promote moves those); the catalog
        refuses them again inside its transaction.

        Raises:
            ProtectedAliasError: one of ``aliases`` is protected.
        """
        protected = self.settings.protected_aliases
        for alias in aliases:
            if alias in protected:
                raise ProtectedAliasError(name, alias)

    def known_run(self, run_id: str | None) -> str | None:
        """``run_id`` if the catalog has that run, else None (with a warning)."""
        if run_id is not None and self.catalog.runs.find(run_id) is None:
            self.unknown_run(run_id)
            return None
        return run_id

    def unknown_run(self, run_id: str) -> None:
        """Warn that lineage is not recorded for a run the catalog lacks."""
        logger.warning("run %s is not in %s; lineage is not recorded for it", run_id, self.url)

    # -- opening ---------------------------------------------------------------------------------

    def _open(self, create: bool) -> BlobStore:
        if self._blobs is None:
            url, options = self.location.url, self._storage_options
            if create:
                self._blobs = init_store(
                    url, storage_options=options, prepare=self._open_catalog_first
                )
            else:
                try:
                    self._blobs = open_store(url, storage_options=options)
                except NotAStoreError:
                    if self.location.implicit:
                        raise NotFoundError(
                            "no artstore store in this folder or above it; create one with "
                            "`art init`, or `art put` something to start ./.artstore"
                        ) from None
                    raise
        return self._blobs

    def _open_catalog_first(self, blobs: BlobStore) -> None:
        # Before a store is created: a new store has no artstore.yaml yet, so only --db or
        # $ARTSTORE_DB can name its catalog; the default catalog.db is made once the store's
        # folder exists. The catalog is only created and checked here, then closed: kept, it
        # would protect nothing, while the settings read later may protect aliases.
        url = resolve_catalog_url(self._db, StoreSettings(), self.url, blobs.local_root)
        local = blobs.local_root
        if local is None or url != default_catalog_url(local):
            from artstore.lineage import Catalog

            Catalog.open(url, create=self.creating, protected=frozenset()).close()

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the catalog connection and the stat cache (reopened on next use)."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if isinstance(self._stat_cache, SqliteStatCache):
            self._stat_cache.close()
        self._stat_cache = None

    def __repr__(self) -> str:
        return f"Repository({self.url!r})"
