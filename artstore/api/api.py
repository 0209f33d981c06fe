"""``Api``: W&B's ``wandb.Api()`` over a store: runs by path and filter, artifacts by name."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from artstore.api.paths import ProjectPath, parse_project_path, parse_run_path
from artstore.api.runs import ApiRun, Runs
from artstore.artifacts import RunInfo, Store
from artstore.artifacts.runs import LOGICAL_OPERATORS, matches, run_value
from artstore.errors import InvalidArgumentError, InvalidNameError, NotFoundError

if TYPE_CHECKING:
    from artstore.artifacts import ArtifactVersion, Repository
    from artstore.lineage import RunRecord

__all__ = ["Api"]

logger = logging.getLogger(__name__)

# W&B's filter names for what artstore's filters name otherwise. W&B's ``name`` is the run id.
_FILTER_KEYS = {
    "name": "id",
    "display_name": "name",
    "displayName": "name",
    "username": "user",
    "createdAt": "created_at",
}
_ORDER_COLUMNS = {
    "created_at": "created_at",
    "createdAt": "created_at",
    "heartbeat_at": "heartbeat_at",
    "heartbeatAt": "heartbeat_at",
    "name": "id",
    "display_name": "name",
    "displayName": "name",
    "state": "status",
    "project": "project",
}
_COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
_OVERRIDES = ("entity", "project")


class Api:
    """W&B's public API over an artstore store: ``Api().runs("entity/project")``,
    ``Api().run("entity/project/run_id")``, ``Api().artifact("name:alias")``.

    Args:
        overrides: ``entity`` and ``project`` are the defaults for paths that leave them out;
            other keys (``base_url``, ...) name a W&B server and are ignored with a warning.
        timeout, api_key: W&B's; there is no server to reach, so they are ignored.
        url, db, storage_options: the store, as ``Store`` takes them (default: the store
            ``artstore.init`` and ``art`` would use).

    Runs are found in one store, where run ids are unique: a run id alone is a full path.
    A run kept without an entity matches every entity a path names.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        url: str | None = None,
        db: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self._defaults = _defaults(overrides)
        ignored = [name for name, value in (("timeout", timeout), ("api_key", api_key)) if value]
        if ignored:
            logger.warning(
                "artstore.Api: %s name a W&B server's settings and are ignored",
                ", ".join(ignored),
            )
        self._store = Store(url, db=db, storage_options=storage_options)

    @classmethod
    def over(cls, store: Store, overrides: Mapping[str, Any] | None = None) -> Api:
        """The API over an open store (closing the API closes it)."""
        api = cls.__new__(cls)
        api._defaults = _defaults(overrides)
        api._store = store
        return api

    @property
    def store(self) -> Store:
        """The store the runs and artifacts are read from."""
        return self._store

    @property
    def default_entity(self) -> str | None:
        """The entity paths default to (``overrides["entity"]``), None for any."""
        return self._defaults.get("entity")

    @property
    def _repo(self) -> Repository:
        return self._store.repository

    # -- runs ------------------------------------------------------------------------------------

    def run(self, path: str = "") -> ApiRun:
        """One run, by ``entity/project/run_id``, ``project/run_id`` or ``run_id`` (and W&B's
        ``entity/project:run_id``, ``project:run_id`` and ``entity/project/runs/run_id``).

        Raises:
            InvalidNameError: the path is malformed.
            NotFoundError: no such run, or it is in another project or of another entity.
        """
        where = parse_run_path(path, self.default_entity, self._defaults.get("project"))
        info = self._store.run(where.run_id)
        if not _within(info.record, ProjectPath(where.entity, where.project)):
            raise NotFoundError(
                f"run {where.run_id!r} is in {_place(info.record)}, not "
                f"{_place_of(where.entity, where.project)}; see: art runs show {where.run_id}"
            )
        return ApiRun(info, self._repo)

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = False,
        lazy: bool = True,
    ) -> Runs:
        """The runs of ``entity/project`` or ``project`` (every project when neither the path
        nor ``overrides`` names one), matching ``filters``, sorted by ``order``.

        ``filters`` are MongoDB-style, as W&B's: ``state``, ``display_name``, ``name`` (the
        run id), ``tags``, ``username``, ``host``, ``createdAt`` (ISO text), ``config.KEY``,
        ``summary_metrics.KEY``, with ``$and``, ``$or``, ``$nor`` and the operators of
        :func:`artstore.artifacts.runs.matches` (``$regex`` and ``$exists`` among them).
        ``order`` is ``created_at`` (default, oldest first), ``heartbeat_at``, ``state``,
        ``display_name``, ``config.KEY`` or ``summary_metrics.KEY``, with ``+`` (ascending)
        or ``-`` (descending); runs without the key come last. ``per_page``,
        ``include_sweeps`` and ``lazy`` are W&B's paging hints: the runs are read once, on
        first use, whatever they say.

        Raises:
            InvalidNameError: the path is malformed.
            InvalidArgumentError: an unknown order key, or a malformed ``$and``/``$or``/``$nor``.
            UserError: an unknown filter key or operator (on first use of the result).
        """
        where = parse_project_path(path, self.default_entity, self._defaults.get("project"))
        wanted = _translate(dict(filters or {}))
        sort = _sorter(order)

        def load() -> Iterator[ApiRun]:
            records = self._repo.catalog.runs.newest_first(where.project)
            found = [r for r in records if _within(r, where)]
            _hint_dicts(found, wanted)
            found = [r for r in found if matches(r, wanted)]
            return (ApiRun(RunInfo(r, self._repo), self._repo) for r in sort(found))

        return Runs(load, _place_of(where.entity, where.project))

    # -- artifacts -------------------------------------------------------------------------------

    def artifact(self, name: str, type: str | None = None) -> ArtifactVersion:
        """The version ``name:alias``, ``name:v3`` or ``name`` (latest); W&B's
        ``project/name:alias`` and ``entity/project/name:alias`` name the same version, since
        artifact names are unique in a store.

        Raises:
            InvalidNameError: the name is malformed.
            NotFoundError: no such version, or it is not of ``type``.
        """
        version = self._store.artifact(_artifact_name(name))
        _check_type(version.name, version.type, type)
        return version

    def artifacts(
        self,
        type_name: str,
        name: str,
        order: str | None = None,
        per_page: int = 50,
        tags: list[str] | None = None,
    ) -> list[ArtifactVersion]:
        """Every version of the artifact ``name`` (of type ``type_name``), oldest first, or
        newest first with ``order="-created_at"``.

        Raises:
            InvalidNameError: the name is malformed.
            NotFoundError: no such artifact, or it is not of ``type_name``.
            InvalidArgumentError: ``tags`` (versions have aliases here, not tags) or an
                order other than ``created_at``.
        """
        if tags:
            raise InvalidArgumentError(
                "artifact versions have no tags here; select versions by alias: "
                "Api().artifact('name:alias')"
            )
        if order not in (None, "created_at", "+created_at", "-created_at", "createdAt"):
            raise InvalidArgumentError(
                f"cannot order versions by {order!r}; use '+created_at' or '-created_at'"
            )
        versions = self._store.versions(_artifact_name(name))
        for version in versions[:1]:
            _check_type(version.name, version.type, type_name)
        return versions[::-1] if order == "-created_at" else versions

    def flush(self) -> None:
        """W&B's: forget cached results. Nothing is cached here (each ``runs()`` reads anew),
        so there is nothing to forget."""

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store."""
        self._store.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Api({self._store.url!r})"


def _defaults(overrides: Mapping[str, Any] | None) -> dict[str, str]:
    given = dict(overrides or {})
    ignored = sorted(k for k in given if k not in _OVERRIDES)
    if ignored:
        logger.warning(
            "artstore.Api: overrides %s name a W&B server and are ignored", ", ".join(ignored)
        )
    return {k: v for k, v in given.items() if k in _OVERRIDES and v is not None}


def _within(record: RunRecord, where: ProjectPath) -> bool:
    """Whether a run is in the path's project and of its entity (or kept without one)."""
    if where.project is not None and record.project != where.project:
        return False
    return where.entity is None or record.entity in (None, where.entity)


def _place(record: RunRecord) -> str:
    return _place_of(record.entity, record.project)


def _place_of(entity: str | None, project: str | None) -> str:
    if project is None:
        return "every project" if entity is None else f"entity {entity!r}"
    return f"project {project!r}" if entity is None else f"{entity}/{project}"


def _translate(filters: dict[str, Any]) -> dict[str, Any]:
    """W&B's filter names as :func:`matches` names them, through ``$and``/``$or``/``$nor``."""
    out: dict[str, Any] = {}
    for key, condition in filters.items():
        if key in LOGICAL_OPERATORS:
            if not isinstance(condition, list) or not all(isinstance(c, dict) for c in condition):
                raise InvalidArgumentError(f"{key} takes a list of filters, not {condition!r}")
            out[key] = [_translate(c) for c in condition]
        elif key.startswith("summary_metrics."):
            out["summary." + key.removeprefix("summary_metrics.")] = condition
        else:
            out[_FILTER_KEYS.get(key, key)] = condition
    return out


def _sorter(order: str) -> Callable[[list[RunRecord]], list[RunRecord]]:
    """A function sorting run records by ``order``.

    Raises:
        InvalidArgumentError: an unknown order key.
    """
    if not isinstance(order, str) or not order.lstrip("+-"):
        raise InvalidArgumentError(f"invalid order {order!r}; e.g. '+created_at'")
    key = order.lstrip("+-")
    descending = order.startswith("-")
    head, _, rest = key.partition(".")
    if head in ("config", "summary", "summary_metrics") and rest:
        path = ("config." if head == "config" else "summary.") + rest

        def value(record: RunRecord) -> Any:
            return run_value(record, path)

    elif key in _ORDER_COLUMNS and not rest:
        column = _ORDER_COLUMNS[key]

        def value(record: RunRecord) -> Any:
            return getattr(record, column)

    else:
        raise InvalidArgumentError(
            f"cannot order runs by {key!r}; use created_at, heartbeat_at, state, display_name, "
            "config.KEY or summary_metrics.KEY"
        )

    def sort(records: list[RunRecord]) -> list[RunRecord]:
        # Oldest first, then a stable sort: runs of equal value keep W&B's default order.
        keyed = [(value(r), r) for r in sorted(records, key=lambda r: r.created_at)]
        held = [v for v, _ in keyed if isinstance(v, dict)]
        if held:
            # A define_metric summary ({"max": ...}): its numbers are one key further down.
            _warn_dict(f"order={order!r}", key, held[0], "sorted as missing")
            keyed = [(None if isinstance(v, dict) else v, r) for v, r in keyed]
        present = [(v, r) for v, r in keyed if v == v and v is not None]  # NaN is missing too
        present.sort(key=lambda pair: _comparable(pair[0]), reverse=descending)
        return [r for _, r in present] + [r for v, r in keyed if not (v == v and v is not None)]

    return sort


def _hint_dicts(records: list[RunRecord], filters: dict[str, Any]) -> None:
    """Warn once for each filter that compares a value with a dict some run holds there."""
    for key, condition in filters.items():
        if key in LOGICAL_OPERATORS:
            for clause in condition:
                _hint_dicts(records, clause)
            continue
        head, _, rest = key.partition(".")
        checks = condition if isinstance(condition, dict) else {"$eq": condition}
        compared = [v for op, v in checks.items() if op in _COMPARISONS]
        if head not in ("config", "summary") or not rest or not compared:
            continue
        if any(isinstance(expected, dict) for expected in compared):
            continue  # comparing with a dict on purpose
        for record in records:
            found = run_value(record, key)
            if isinstance(found, dict):
                shown = "summary_metrics." + rest if head == "summary" else key
                _warn_dict("filters", shown, found, "which no number or text equals or orders")
                break


def _warn_dict(where: str, key: str, held: dict[str, Any], fate: str) -> None:
    inner = next((k for k in held if isinstance(k, str)), "KEY")
    logger.warning(
        "artstore.Api: %s: %s holds a dict in some runs (%s), %s; use %s.%s",
        where,
        key,
        ", ".join(sorted(map(str, held))[:5]),
        fate,
        key,
        inner,
    )


def _comparable(value: Any) -> tuple[int, Any]:
    # Values of one kind compare among themselves; kinds are ordered numbers, text, times.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, datetime):
        return (2, value)
    return (3, repr(value))


def _artifact_name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"an artifact name is text, not {type(name).__name__}")
    parts = name.split("/")
    if len(parts) > 3:
        raise InvalidNameError(
            f"invalid artifact path {name!r}: use name:alias, project/name:alias or "
            "entity/project/name:alias"
        )
    return parts[-1]


def _check_type(name: str, actual: str, wanted: str | None) -> None:
    if wanted is not None and actual != wanted:
        raise NotFoundError(f"artifact {name!r} is of type {actual!r}, not {wanted!r}")
