"""Where the store and its catalog are, and the user settings kept beside the store.

Resolution order for the store: ``--store`` > ``$ARTSTORE_URL`` > the nearest ``.artstore/``
found by walking up from the working folder (like git) > ``./.artstore/``, created on first
write. For the catalog: ``--db`` > ``$ARTSTORE_DB`` > ``catalog:`` in ``artstore.yaml`` > a
``catalog.db`` SQLite file inside a local store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from artstore.errors import ConfigError

__all__ = [
    "DEFAULT_STORE_DIR",
    "StoreLocation",
    "StoreSettings",
    "cache_root",
    "parse_settings",
    "resolve_catalog_url",
    "resolve_store",
]

DEFAULT_STORE_DIR = ".artstore"


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A resolved store URL; ``implicit`` when it is the default folder, made on first write."""

    url: str
    implicit: bool


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """The contents of ``artstore.yaml``."""

    catalog: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    protected_aliases: dict[str, list[str]] = field(default_factory=dict)


def resolve_store(explicit: str | None = None, cwd: Path | None = None) -> StoreLocation:
    """Find the store URL to use, without touching anything but the local folders."""
    url = explicit or os.environ.get("ARTSTORE_URL")
    if url:
        return StoreLocation(url=url, implicit=False)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / DEFAULT_STORE_DIR
        if candidate.is_dir():
            return StoreLocation(url=str(candidate), implicit=False)
    return StoreLocation(url=str(start / DEFAULT_STORE_DIR), implicit=True)


def resolve_catalog_url(
    explicit: str | None, settings: StoreSettings, store_url: str, store_path: Path | None
) -> str:
    """The catalog database URL for a store.

    Raises:
        ConfigError: the store is not on the local disk and no catalog URL was given.
    """
    url = explicit or os.environ.get("ARTSTORE_DB") or settings.catalog
    if url:
        return url
    if store_path is not None:
        return f"sqlite:///{store_path.resolve() / 'catalog.db'}"
    raise ConfigError(
        f"store {store_url} is not on the local disk, so it needs a catalog database: "
        "pass --db postgresql://USER@HOST/DB for a team, or --db sqlite:////path/catalog.db "
        "for one person (or set ARTSTORE_DB, or catalog: in artstore.yaml)"
    )


def parse_settings(text: str, source: str) -> StoreSettings:
    """Parse ``artstore.yaml``.

    Raises:
        ConfigError: the text is not YAML of the expected shape.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML ({exc}); fix or remove it") from None
    if data is None:
        return StoreSettings()
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping of settings, not {type(data).__name__}")
    unknown = sorted(set(data) - {"catalog", "storage_options", "protected_aliases"})
    if unknown:
        raise ConfigError(f"{source} has unknown settings {unknown}; see docs/format.md")
    catalog = data.get("catalog")
    if catalog is not None and not isinstance(catalog, str):
        raise ConfigError(f"{source}: catalog must be a database URL string")
    options = data.get("storage_options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{source}: storage_options must be a mapping")
    return StoreSettings(
        catalog=catalog,
        storage_options=options,
        protected_aliases=_parse_protected(data.get("protected_aliases"), source),
    )


def _parse_protected(value: object, source: str) -> dict[str, list[str]]:
    # Accepts a list of aliases or a mapping alias -> list of default requirements.
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {alias: [] for alias in value}
    if isinstance(value, dict):
        result: dict[str, list[str]] = {}
        for alias, reqs in value.items():
            if reqs is None:
                reqs = []
            if not isinstance(alias, str) or not isinstance(reqs, list):
                raise ConfigError(f"{source}: protected_aliases maps alias -> list of requirements")
            result[alias] = [str(r) for r in reqs]
        return result
    raise ConfigError(f"{source}: protected_aliases must be a list or a mapping")


def cache_root() -> Path:
    """The per-user folder for machine state (stat cache, download cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "artstore"
