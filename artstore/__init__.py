"""artstore: versioned, deduplicated artifacts and models, with lineage and a run tracker.

The names below are imported on first use, so ``import artstore`` (and the ``art`` command's
start-up) stays fast; the database and graph libraries load only when a store is opened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from artstore import errors

if TYPE_CHECKING:
    from artstore.artifacts import Artifact, ArtifactVersion, Store
    from artstore.lineage import AliasMove, ArtifactInfo

__all__ = [
    "AliasMove",
    "Api",
    "Artifact",
    "ArtifactInfo",
    "ArtifactVersion",
    "Store",
    "__version__",
    "errors",
]

__version__ = "0.1.0"

_LAZY = {
    "AliasMove": ("artstore.lineage", "AliasMove"),
    "Api": ("artstore.artifacts", "Store"),
    "Artifact": ("artstore.artifacts", "Artifact"),
    "ArtifactInfo": ("artstore.lineage", "ArtifactInfo"),
    "ArtifactVersion": ("artstore.artifacts", "ArtifactVersion"),
    "Store": ("artstore.artifacts", "Store"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'artstore' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
