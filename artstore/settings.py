"""Where the store and its catalog are, the user settings kept beside the store, and how
long artstore waits for a locked catalog.

Resolution order for the store: ``--store`` > ``$ARTSTORE_URL`` > the nearest ``.artstore/``
found by walking up from the working folder (like git) > ``./.artstore/``, created on first
write. For the catalog: ``--db`` > ``$ARTSTORE_DB`` > ``catalog:`` in ``artstore.yaml`` > a
``catalog.db`` SQLite file inside a local store.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from artstore.errors import ConfigError, InvalidArgumentError
from artstore.redaction import redact_url

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_STORE_DIR",
    "LOCK_TIMEOUT_ENV",
    "StoreLocation",
    "StoreSettings",
    "cache_root",
    "default_catalog_url",
    "env_seconds",
    "lock_timeout",
    "parse_settings",
    "resolve_catalog_url",
    "resolve_store",
    "unreadable_settings",
]

DEFAULT_STORE_DIR = ".artstore"
#: Seconds a catalog operation waits for a lock another process holds, reads and writes alike.
DEFAULT_LOCK_TIMEOUT = 600.0
LOCK_TIMEOUT_ENV = "ARTSTORE_LOCK_TIMEOUT"


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
    alert_webhook: str | None = None


def resolve_store(explicit: str | None = None, cwd: Path | None = None) -> StoreLocation:
    """Find the store URL to use, without touching anything but the local folders.

    Raises:
        ConfigError: no store is named and the working folder has been deleted.
        InvalidArgumentError: ``explicit`` is not a string.
    """
    if explicit is not None and not isinstance(explicit, str):
        raise InvalidArgumentError(f"a store URL is a string, not a {type(explicit).__name__}")
    url = explicit or os.environ.get("ARTSTORE_URL")
    if url:
        return StoreLocation(url=url, implicit=False)
    try:
        start = (cwd or Path.cwd()).resolve()
    except FileNotFoundError:
        raise ConfigError(
            "the working folder no longer exists; change to another folder, or pass --store"
        ) from None
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
        return default_catalog_url(store_path)
    raise ConfigError(
        f"store {redact_url(store_url)} is not on the local disk, so it needs a catalog database: "
        "pass --db postgresql://USER@HOST/DB for a team, or --db sqlite:////path/catalog.db "
        "for one person (or set ARTSTORE_DB, or catalog: in artstore.yaml)"
    )


def default_catalog_url(store_path: Path) -> str:
    """The URL of a local store's own catalog: ``catalog.db`` inside it."""
    return f"sqlite:///{store_path.resolve() / 'catalog.db'}"


def lock_timeout() -> float:
    """Seconds to wait for a catalog another process holds locked: ``$ARTSTORE_LOCK_TIMEOUT``,
    else :data:`DEFAULT_LOCK_TIMEOUT`.

    Raises:
        ConfigError: the variable is not a number of seconds >= 0.
    """
    return env_seconds(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT)


def env_seconds(name: str, default: float, *, zero: bool = True) -> float:
    """A number of seconds from the environment variable ``name``; ``default`` when it is
    unset or blank.

    Raises:
        ConfigError: the variable is not a finite number of seconds >= 0 (> 0 when ``zero``
            is False).
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 <= seconds < math.inf) or (seconds == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigError(f"{name} must be a number of seconds {bound}, not {text!r}")
    return seconds


def unreadable_settings(source: str, exc: OSError | UnicodeDecodeError) -> ConfigError:
    """The error for an ``artstore.yaml`` that cannot be read as text."""
    if isinstance(exc, UnicodeDecodeError):
        why = f"is not UTF-8 text (byte {exc.start})"
    elif isinstance(exc, IsADirectoryError):
        why = "is a folder, not a file"
    else:
        why = f"cannot be read ({exc.strerror or exc})"
    return ConfigError(f"{source} {why}; fix or remove it")


def parse_settings(text: str, source: str) -> StoreSettings:
    """Parse ``artstore.yaml``.

    Raises:
        ConfigError: the text is not YAML of the expected shape.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML ({_yaml_problem(exc)}); fix it") from None
    if data is None:
        return StoreSettings()
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping of settings, not {type(data).__name__}")
    known = {"catalog", "storage_options", "protected_aliases", "alert_webhook"}
    unknown = sorted(str(k) for k in set(data) - known)
    if unknown:
        raise ConfigError(f"{source} has unknown settings {unknown}; see docs/format.md")
    catalog = data.get("catalog")
    if catalog is not None and not isinstance(catalog, str):
        raise ConfigError(f"{source}: catalog must be a database URL string")
    options = data.get("storage_options") or {}
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ConfigError(f"{source}: storage_options must be a mapping of option names")
    webhook = data.get("alert_webhook")
    if webhook is not None and not (
        isinstance(webhook, str) and webhook.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{source}: alert_webhook must be an http:// or https:// URL")
    return StoreSettings(
        catalog=catalog,
        storage_options=options,
        protected_aliases=_parse_protected(data.get("protected_aliases"), source),
        alert_webhook=webhook,
    )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    # PyYAML's message spans lines and quotes the text; one line with the position is enough.
    problem = getattr(exc, "problem", None) or type(exc).__name__
    mark = getattr(exc, "problem_mark", None)
    where = "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "
    return where + " ".join(str(problem).split())


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
