"""The lineage of a catalog: walks from a run or version along "used" and "produced" edges."""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session

from artstore.lineage import ancestry
from artstore.lineage.records import LineageGraph
from artstore.lineage.transactions import Transactions

__all__ = ["CatalogLineage"]


class CatalogLineage:
    """Walks the lineage graph in the database, each call in its own transaction
    (``catalog.lineage``).

    A node is ``v:<version id>`` (see :meth:`version_node`) or ``r:<run id>`` (see
    :meth:`run_node`).
    """

    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    def walk(
        self, node: str, *, direction: ancestry.Direction = "both", depth: int | None = None
    ) -> LineageGraph:
        """The lineage around a run or version: its ancestors, descendants, or both.

        Walked in the database by one recursive query (nothing loads the whole graph), plus one
        query each to describe the runs and the versions found.

        Args:
            node: a node id.
            direction: ``up`` for what it came from (against data flow), ``down`` for what
                came from it, ``both`` for the two.
            depth: at most this many edges from ``node``; None for no limit.

        Returns:
            The root and every node found with its minimal distance, and the edges among them.

        Raises:
            NotFoundError: no such run or version.
            InvalidNameError: ``node`` is not a node id.
            InvalidArgumentError: ``direction`` is unknown or ``depth`` not a whole number
                >= 0 (a ``ValueError``).
        """
        return self._tx.read(lambda session: ancestry.lineage(session, node, direction, depth))

    def with_sweeps(self, graph: LineageGraph, *, depth: int | None = None) -> LineageGraph:
        """``graph`` with a node ``s:<sweep id>`` upstream of each run a sweep's agent ran
        (an edge of kind ``ran``), within ``depth`` hops of the root; a graph walked only
        down is returned as it is."""
        return self._tx.read(lambda session: ancestry.with_sweeps(session, graph, depth))

    def sweep(self, sweep_id: str, *, depth: int | None = None) -> LineageGraph:
        """A sweep (root ``s:<sweep id>``), the runs of its trials, and what came from them.

        Raises:
            NotFoundError: no such sweep.
        """
        return self._tx.read(lambda session: ancestry.sweep_lineage(session, sweep_id, depth))

    def ancestors(self, node: str, *, depth: int | None = None) -> dict[str, int | None]:
        """Ids of every node upstream of ``node`` (what it came from), within ``depth`` hops
        if given, with their distances then: one recursive query, no details.

        Raises:
            NotFoundError: no such node.
        """
        return self._tx.read(lambda s: _reach(s, node, "up", depth))

    def descendants(self, node: str, *, depth: int | None = None) -> dict[str, int | None]:
        """Ids of every node downstream of ``node`` (what came from it); see :meth:`ancestors`.

        Raises:
            NotFoundError: no such node.
        """
        return self._tx.read(lambda s: _reach(s, node, "down", depth))

    def version_node(self, name: str, number: int) -> str:
        """The node id (``v:<id>``) of version ``number`` of artifact ``name``.

        Raises:
            NotFoundError: no such artifact or version.
        """
        return self._tx.read(lambda session: ancestry.version_node(session, name, number))

    def run_node(self, run_id: str) -> str:
        """The node id (``r:<run id>``) of a run.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda session: ancestry.run_node(session, run_id))


def _reach(
    session: Session, node: str, direction: Literal["up", "down"], depth: int | None
) -> dict[str, int | None]:
    ancestry.require_node(session, node)
    return ancestry.reach(session, node, direction, depth)
