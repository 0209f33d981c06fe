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
    from artstore.sweeps import agent, sweep
    from artstore.tracker import (
        Run,
        Settings,
        define_metric,
        finish,
        init,
        log,
        log_artifact,
        login,
        mark_preempting,
        unwatch,
        use_artifact,
        watch,
    )
    from artstore.tracker.alerts import AlertLevel
    from artstore.tracker.mappings import Config, Summary
    from artstore.tracker.shortcuts import alert, save

    config: Config
    summary: Summary
    run: Run | None

__all__ = [
    "AlertLevel",
    "AliasMove",
    "Api",
    "Artifact",
    "ArtifactInfo",
    "ArtifactVersion",
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Object3D",
    "Run",
    "RunInfo",
    "Settings",
    "Store",
    "Table",
    "Video",
    "__version__",
    "agent",
    "alert",
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "mark_preempting",
    "plot",
    "save",
    "summary",
    "sweep",
    "unwatch",
    "use_artifact",
    "watch",
]

__version__ = "0.1.0"

_LAZY = {
    "AlertLevel": ("artstore.tracker.alerts", "AlertLevel"),
    "AliasMove": ("artstore.lineage", "AliasMove"),
    "Api": ("artstore.api", "Api"),
    "Artifact": ("artstore.artifacts", "Artifact"),
    "ArtifactInfo": ("artstore.lineage", "ArtifactInfo"),
    "ArtifactVersion": ("artstore.artifacts", "ArtifactVersion"),
    "Audio": ("artstore.tracker", "Audio"),
    "Histogram": ("artstore.tracker", "Histogram"),
    "Html": ("artstore.tracker", "Html"),
    "Image": ("artstore.tracker", "Image"),
    "Object3D": ("artstore.tracker", "Object3D"),
    "Run": ("artstore.tracker", "Run"),
    "RunInfo": ("artstore.artifacts", "RunInfo"),
    "Settings": ("artstore.tracker", "Settings"),
    "Store": ("artstore.artifacts", "Store"),
    "Table": ("artstore.tracker", "Table"),
    "Video": ("artstore.tracker", "Video"),
    "agent": ("artstore.sweeps", "agent"),
    "alert": ("artstore.tracker.shortcuts", "alert"),
    "define_metric": ("artstore.tracker", "define_metric"),
    "finish": ("artstore.tracker", "finish"),
    "init": ("artstore.tracker", "init"),
    "log": ("artstore.tracker", "log"),
    "log_artifact": ("artstore.tracker", "log_artifact"),
    "login": ("artstore.tracker", "login"),
    "mark_preempting": ("artstore.tracker", "mark_preempting"),
    "plot": ("artstore.tracker", "plot"),
    "save": ("artstore.tracker.shortcuts", "save"),
    "sweep": ("artstore.sweeps", "sweep"),
    "unwatch": ("artstore.tracker", "unwatch"),
    "use_artifact": ("artstore.tracker", "use_artifact"),
    "watch": ("artstore.tracker", "watch"),
}


def _current(name: str) -> Any:
    # art.run / art.config / art.summary follow the current run, so they are never cached here.
    from artstore.tracker import current
    from artstore.tracker.mappings import unstarted

    run = current()
    if name == "run" or run is not None:
        return run if name == "run" else getattr(run, name)
    # No run (before init() or after finish()): as in W&B, a set raises, and nothing is kept
    # for a later run.
    return unstarted(name)


def __getattr__(name: str) -> Any:
    if name in ("config", "summary", "run"):
        return _current(name)
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'artstore' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # ``run`` is left out of __all__: it is None until init(), so ``import *`` would freeze it.
    return sorted([*__all__, "run"])
