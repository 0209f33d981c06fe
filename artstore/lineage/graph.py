"""Lineage graphs out: networkx, GraphML, node-link JSON, Graphviz DOT, Mermaid and a text tree.

The only networkx user in artstore. networkx takes about 0.4 s to import, so it is imported
inside the functions that need it (:func:`to_networkx`, :func:`to_graphml`,
:func:`to_node_link_json`); DOT, Mermaid and the text tree are written directly, and importing
this module costs nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from artstore.lineage.records import LineageGraph, LineageNode

if TYPE_CHECKING:
    import networkx

__all__ = ["to_dot", "to_graphml", "to_mermaid", "to_networkx", "to_node_link_json", "to_text"]

# How the text tree names an edge, by the side it is walked on and the edge's kind.
_RELATION = {
    ("up", "produced"): "produced by",
    ("up", "used"): "used",
    ("down", "used"): "used by",
    ("down", "produced"): "produced",
    ("up", "ran"): "run by",
    ("down", "ran"): "ran",
}
SEE_ABOVE = "(see above)"


def to_networkx(g: LineageGraph) -> networkx.DiGraph:
    """A ``networkx.DiGraph`` in data-flow direction.

    Nodes carry ``kind``, ``label``, ``distance`` and the node's ``attrs``; edges carry
    ``kind``; the graph carries ``root`` and ``direction``.
    """
    import networkx as nx

    graph = nx.DiGraph(root=g.root, direction=g.direction)
    for node in g.nodes:
        graph.add_node(
            node.id, kind=node.kind, label=node.label, distance=node.distance, **node.attrs
        )
    graph.add_edges_from((src, dst, {"kind": kind}) for src, dst, kind in g.edges)
    return graph


def to_graphml(g: LineageGraph) -> str:
    """GraphML of :func:`to_networkx`'s graph; attributes that are None are left out."""
    import networkx as nx

    graph = to_networkx(g)
    for _, data in graph.nodes(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    return "\n".join(nx.generate_graphml(graph)) + "\n"


def to_node_link_json(g: LineageGraph, *, indent: int | None = None) -> str:
    """networkx node-link JSON (edges under ``"edges"``); ``nx.node_link_graph`` reads it."""
    import networkx as nx

    data = nx.node_link_data(to_networkx(g), edges="edges")
    return json.dumps(data, indent=indent, default=str)


def _dot_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(g: LineageGraph) -> str:
    """Graphviz DOT: versions as boxes, runs as ellipses, sweeps as hexagons, edges labelled
    used/produced/ran.

    The root is drawn bold. Every id and label is quoted, so any run id is safe.
    """
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in g.nodes:
        shape = {"version": "box", "sweep": "hexagon"}.get(node.kind, "ellipse")
        bold = ", penwidth=2" if node.id == g.root else ""
        lines.append(
            f"  {_dot_quote(node.id)} [label={_dot_quote(node.label)}, shape={shape}{bold}];"
        )
    for src, dst, kind in g.edges:
        lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dst)} [label={_dot_quote(kind)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "\n": " "}


def _mermaid_label(value: str) -> str:
    return '"' + "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in value) + '"'


def to_mermaid(g: LineageGraph) -> str:
    """A Mermaid ``flowchart LR``: versions as rectangles, runs as stadiums, sweeps as
    hexagons, one line per edge.

    Node ids are ``n0``, ``n1``, ... in node order (run ids may hold any character); labels
    are quoted with Mermaid's entity escapes.
    """
    ids = {node.id: f"n{i}" for i, node in enumerate(g.nodes)}
    lines = ["flowchart LR"]
    for node in g.nodes:
        label = _mermaid_label(node.label)
        shape = {"version": f"[{label}]", "sweep": f"{{{{{label}}}}}"}.get(
            node.kind, f"([{label}])"
        )
        lines.append(f"    {ids[node.id]}{shape}")
    for src, dst, kind in g.edges:
        lines.append(f"    {ids[src]} -->|{kind}| {ids[dst]}")
    if g.root in ids:
        lines.append("    classDef root stroke-width:3px")
        lines.append(f"    class {ids[g.root]} root")
    return "\n".join(lines) + "\n"


def to_text(g: LineageGraph) -> str:
    """A tree drawn from the root with box-drawing characters, one node per line.

    Upstream lines read "produced by <run>" and "used <version>"; downstream lines "used by
    <run>" and "produced <version>". With ``direction="both"`` the root's upstream branches come
    first. A node reached a second time is printed once more with ``(see above)`` and not
    expanded again.
    """
    by_id: dict[str, LineageNode] = {node.id: node for node in g.nodes}
    children: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for src, dst, kind in g.edges:
        children.setdefault((dst, "up"), []).append((src, kind))
        children.setdefault((src, "down"), []).append((dst, kind))

    def label(node_id: str) -> str:
        node = by_id.get(node_id)
        return node.label if node is not None else node_id

    def branches(node_id: str, sides: tuple[str, ...]) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for side in sides:
            ordered = sorted(children.get((node_id, side), []), key=lambda c: (label(c[0]), c[0]))
            found.extend((side, other, kind) for other, kind in ordered)
        return found

    sides = ("up", "down") if g.direction == "both" else (g.direction,)
    lines = [label(g.root)]
    expanded = {g.root}
    # Depth-first, without recursion (a long chain is deeper than Python's stack).
    stack: list[tuple[str, list[tuple[str, str, str]], int]] = [("", branches(g.root, sides), 0)]
    while stack:
        prefix, items, index = stack.pop()
        if index == len(items):
            continue
        side, node_id, kind = items[index]
        last = index == len(items) - 1
        stack.append((prefix, items, index + 1))
        text = f"{_RELATION[side, kind]} {label(node_id)}"
        if node_id in expanded:
            lines.append(f"{prefix}{'└── ' if last else '├── '}{text} {SEE_ABOVE}")
            continue
        expanded.add(node_id)
        lines.append(f"{prefix}{'└── ' if last else '├── '}{text}")
        stack.append((prefix + ("    " if last else "│   "), branches(node_id, (side,)), 0))
    return "\n".join(lines) + "\n"
