"""artstore: versioned, deduplicated artifacts and models, with lineage and a run tracker.

The names below are imported on first use, so ``import artstore`` (and the ``art`` command's
start-up) stays fast; the database and graph libraries load only when a store is opened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from artstore import errors

if TYPE_CHECKING:
    from artstore.api import Api
    from artstore.artifacts import Artifact, ArtifactVersion, RunInfo, Store
    from artstore.lineage import AliasMove, ArtifactInfo
    from artstore.tracker import Run, finish, init, log
    from artstore.tracker.alerts import AlertLevel
    from artstore.tracker.mappings import Config, Summary
    from artstore.tracker.shortcuts import alert, save

    config: Config
    summary: Summary

__all__ = [
    "AlertLevel",
    "AliasMove",
    "Api",
    "Artifact",
    "ArtifactInfo",
    "ArtifactVersion",
    "Run",
    "RunInfo",
    "Store",
    "__version__",
    "alert",
    "config",
    "errors",
    "finish",
    "init",
    "log",
    "save",
    "summary",
]

__version__ = "0.1.0"

_LAZY = {
    "AlertLevel": ("artstore.tracker.alerts", "AlertLevel"),
    "AliasMove": ("artstore.lineage", "AliasMove"),
    "Api": ("artstore.api", "Api"),
    "Artifact": ("artstore.artifacts", "Artifact"),
    "ArtifactInfo": ("artstore.lineage", "ArtifactInfo"),
    "ArtifactVersion": ("artstore.artifacts", "ArtifactVersion"),
    "Run": ("artstore.tracker", "Run"),
    "RunInfo": ("artstore.artifacts", "RunInfo"),
    "Store": ("artstore.artifacts", "Store"),
    "alert": ("artstore.tracker.shortcuts", "alert"),
    "finish": ("artstore.tracker", "finish"),
    "init": ("artstore.tracker", "init"),
    "log": ("artstore.tracker", "log"),
    "save": ("artstore.tracker.shortcuts", "save"),
}


def _current_mapping(name: str) -> Any:
    # art.config / art.summary follow the current run, so they are never cached here.
    from artstore.tracker import current
    from artstore.tracker.mappings import Config, Summary

    run = current()
    if run is not None:
        return getattr(run, name)
    return Config(lambda: None) if name == "config" else Summary(lambda: None)


def __getattr__(name: str) -> Any:
    if name in ("config", "summary"):
        return _current_mapping(name)
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'artstore' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
