"""The catalog layer: artifacts, versions, aliases and their history, in a database.

It knows rows and edges, nothing about files, and returns frozen records, never ORM rows.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from artstore.lineage.graph import (
    to_dot,
    to_graphml,
    to_mermaid,
    to_networkx,
    to_node_link_json,
    to_text,
)
from artstore.lineage.records import (
    Actor,
    AliasMove,
    ArtifactInfo,
    ImportedVersion,
    LineageGraph,
    LineageNode,
    LogResult,
    MetricRecord,
    NewVersion,
    Promotion,
    RunAlert,
    RunFile,
    RunImport,
    RunImportResult,
    RunRecord,
    UsedVersion,
    VersionInfo,
)

if TYPE_CHECKING:
    from artstore.lineage.catalog import Catalog
    from artstore.lineage.migrations import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Actor",
    "AliasMove",
    "ArtifactInfo",
    "Catalog",
    "ImportedVersion",
    "LineageGraph",
    "LineageNode",
    "LogResult",
    "MetricRecord",
    "NewVersion",
    "Promotion",
    "RunAlert",
    "RunFile",
    "RunImport",
    "RunImportResult",
    "RunRecord",
    "UsedVersion",
    "VersionInfo",
    "to_dot",
    "to_graphml",
    "to_mermaid",
    "to_networkx",
    "to_node_link_json",
    "to_text",
]

# The database libraries take about a third of a second to import: they load on first use of
# these names, so a put can write its blobs meanwhile (see ``Store.log_artifact``).
_LAZY = {"Catalog": "artstore.lineage.catalog", "SCHEMA_VERSION": "artstore.lineage.migrations"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'artstore.lineage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
