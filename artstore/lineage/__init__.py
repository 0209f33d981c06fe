"""The catalog layer: artifacts, versions, aliases and their history, in a database.

It knows rows and edges, nothing about files, and returns frozen records, never ORM rows.
"""

from __future__ import annotations

from artstore.lineage.catalog import Catalog
from artstore.lineage.graph import (
    to_dot,
    to_graphml,
    to_mermaid,
    to_networkx,
    to_node_link_json,
    to_text,
)
from artstore.lineage.migrations import SCHEMA_VERSION
from artstore.lineage.records import (
    AliasMove,
    ArtifactInfo,
    LineageGraph,
    LineageNode,
    LogResult,
    RunRecord,
    VersionInfo,
)

__all__ = [
    "SCHEMA_VERSION",
    "AliasMove",
    "ArtifactInfo",
    "Catalog",
    "LineageGraph",
    "LineageNode",
    "LogResult",
    "RunRecord",
    "VersionInfo",
    "to_dot",
    "to_graphml",
    "to_mermaid",
    "to_networkx",
    "to_node_link_json",
    "to_text",
]
