"""A lineage graph laid out in columns (datasets -> runs -> models) and drawn as SVG.

The layout is layered, left to right: a node's column is its dependency depth (the longest
chain of edges that leads to it), so every edge points right; within a column nodes are
ordered by barycentre sweeps, which keep most edges from crossing. The picture is plain SVG
styled by classes from ``static/lineage.css`` (the page's CSP allows no inline style) in
which every node is a link to its run or version page. Same graph, same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from artstore.lineage import LineageGraph, LineageNode

__all__ = ["Box", "Layout", "Link", "layout", "node_href", "to_svg"]

NODE_WIDTH = 200
NODE_HEIGHT = 36
COLUMN_GAP = 90
ROW_GAP = 18
MARGIN = 16
LABEL_CHARS = 26  # what fits in NODE_WIDTH at the stylesheet's font size
SWEEPS = 6  # barycentre passes each way; more rarely removes another crossing


@dataclass(frozen=True, slots=True)
class Box:
    """Where one node is drawn: its column, its row in the column, and its top-left corner."""

    node: LineageNode
    column: int
    row: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Link:
    """One edge, drawn from the right side of ``src`` to the left side of ``dst``."""

    src: str
    dst: str
    kind: str
    path: str


@dataclass(frozen=True, slots=True)
class Layout:
    """The laid-out graph: boxes in node order, links in edge order, and the picture's size."""

    root: str
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]
    width: float
    height: float
    crossings: int


def layout(graph: LineageGraph) -> Layout:
    """Lay ``graph`` out in columns by dependency depth, ordered to reduce crossings.

    Deterministic: the same graph always gives the same layout. An edge that would close a
    cycle (a run that used what it produced) is the only kind that may point left.
    """
    ids = [node.id for node in graph.nodes]
    known = set(ids)
    edges = [(s, d) for s, d, _ in graph.edges if s in known and d in known and s != d]
    columns = _columns(ids, edges)
    order = _order(ids, edges, columns)
    count = max(columns.values(), default=-1) + 1
    tallest = max((len(col) for col in order), default=0)
    height = 2 * MARGIN + tallest * NODE_HEIGHT + max(tallest - 1, 0) * ROW_GAP
    width = 2 * MARGIN + count * NODE_WIDTH + max(count - 1, 0) * COLUMN_GAP
    place: dict[str, tuple[int, int, float, float]] = {}
    for column, members in enumerate(order):
        used = len(members) * NODE_HEIGHT + max(len(members) - 1, 0) * ROW_GAP
        top = MARGIN + (height - 2 * MARGIN - used) / 2  # each column centred
        for row, node_id in enumerate(members):
            x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            place[node_id] = (column, row, x, top + row * (NODE_HEIGHT + ROW_GAP))
    boxes = tuple(Box(node, *place[node.id]) for node in graph.nodes)
    links = tuple(
        Link(src, dst, kind, _curve(place[src], place[dst]))
        for src, dst, kind in graph.edges
        if src in place and dst in place
    )
    return Layout(graph.root, boxes, links, width, height, _crossings(order, edges))


def _columns(ids: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: one more than its deepest predecessor's (Kahn's order); a cycle is
    broken at its first node by id. Sources then move right to just before their first user."""
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    waiting = {i: len(preds[i]) for i in ids}
    column: dict[str, int] = {}
    ready = sorted(i for i in ids if waiting[i] == 0)
    left = sorted(ids, reverse=True)  # popped from the end: smallest id first
    while len(column) < len(ids):
        if not ready:  # a cycle: take its smallest unplaced node as if nothing led to it
            while left[-1] in column:
                left.pop()
            ready.append(left[-1])
        next_ready: list[str] = []
        for node_id in ready:
            if node_id in column:
                continue
            column[node_id] = max((column[p] + 1 for p in preds[node_id] if p in column), default=0)
            for dst in succs[node_id]:
                waiting[dst] -= 1
                if waiting[dst] == 0:
                    next_ready.append(dst)
        ready = sorted(next_ready)
    for node_id in ids:
        if not preds[node_id] and succs[node_id]:
            column[node_id] = max(column[node_id], min(column[d] for d in succs[node_id]) - 1)
    return column


def _order(
    ids: Sequence[str], edges: Sequence[tuple[str, str]], columns: dict[str, int]
) -> list[list[str]]:
    """Nodes of each column, top to bottom: barycentre sweeps right then left, keeping the
    order with the fewest crossings seen."""
    count = max(columns.values(), default=-1) + 1
    order: list[list[str]] = [[] for _ in range(count)]
    for node_id in ids:  # the graph's order: by distance from the root, then id
        order[columns[node_id]].append(node_id)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    best, fewest = [list(c) for c in order], _crossings(order, edges)
    position = {n: i for col in order for i, n in enumerate(col)}
    for _ in range(SWEEPS):
        if fewest == 0:
            break
        for sweep, neighbours in ((range(1, count), preds), (range(count - 2, -1, -1), succs)):
            for column in sweep:
                order[column] = _by_barycentre(order[column], neighbours, position)
                position.update((n, i) for i, n in enumerate(order[column]))
            crossings = _crossings(order, edges)
            if crossings < fewest:
                best, fewest = [list(c) for c in order], crossings
    return best


def _by_barycentre(
    members: list[str], neighbours: dict[str, list[str]], position: dict[str, int]
) -> list[str]:
    def key(item: tuple[int, str]) -> tuple[float, int]:
        index, node_id = item
        rows = [position[n] for n in neighbours[node_id]]
        return (sum(rows) / len(rows) if rows else float(index), index)

    return [node_id for _, node_id in sorted(enumerate(members), key=key)]


def _crossings(order: list[list[str]], edges: Sequence[tuple[str, str]]) -> int:
    """How many pairs of edges cross between neighbouring columns (an edge spanning several
    columns is counted where it starts), by counting inversions with a Fenwick tree."""
    column = {n: c for c, col in enumerate(order) for n in col}
    row = {n: r for col in order for r, n in enumerate(col)}
    by_column: dict[int, list[tuple[int, int]]] = {}
    for src, dst in edges:
        if column[src] < column[dst]:
            by_column.setdefault(column[src], []).append((row[src], row[dst]))
    total = 0
    for pairs in by_column.values():
        size = max(d for _, d in pairs) + 2
        tree = [0] * size
        for seen, (_, end) in enumerate(sorted(pairs)):
            above = 0  # edges already seen that end at or above this one's end
            i = end + 1
            while i > 0:
                above += tree[i]
                i -= i & -i
            total += seen - above
            i = end + 1
            while i < size:
                tree[i] += 1
                i += i & -i
    return total


def _curve(a: tuple[int, int, float, float], b: tuple[int, int, float, float]) -> str:
    x1, y1 = a[2] + NODE_WIDTH, a[3] + NODE_HEIGHT / 2
    x2, y2 = b[2], b[3] + NODE_HEIGHT / 2
    bend = max(abs(x2 - x1) / 2, COLUMN_GAP / 2)
    return f"M{x1:g},{y1:g} C{x1 + bend:g},{y1:g} {x2 - bend:g},{y2:g} {x2:g},{y2:g}"


def node_href(node: LineageNode) -> str | None:
    """The page of a node: ``/runs/{id}`` or ``/artifacts/{name}/v{number}``, URL-quoted;
    None for a sweep (the UI has no sweep page)."""
    if node.kind == "run":
        return "/runs/" + quote(str(node.attrs.get("run_id", "")), safe="")
    if node.kind != "version":
        return None
    name = quote(str(node.attrs.get("artifact", "")), safe="")
    return f"/artifacts/{name}/v{int(node.attrs.get('number', 0))}"


_EDGE_CLASS = {"used": "used", "produced": "produced", "ran": "ran"}


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def to_svg(drawn: Layout) -> str:
    """The layout as an ``<svg>`` element: runs as rounded boxes, versions as square ones
    (``data-type`` names the version's type for the stylesheet), the root marked ``focus``,
    every node an ``<a>`` to its page, every edge a ``<path>``. All text is escaped."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
        f'width="{drawn.width:g}" height="{drawn.height:g}" '
        f'viewBox="0 0 {drawn.width:g} {drawn.height:g}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" '
        'd="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for link in drawn.links:
        parts.append(
            f'<path class="edge edge-{_EDGE_CLASS.get(link.kind, "other")}" '
            f'd="{link.path}" marker-end="url(#arrow)"/>'
        )
    for box in drawn.boxes:
        node = box.node
        kind = node.kind if node.kind in ("run", "version", "sweep") else "other"
        classes = ["node", f"node-{kind}"]
        if node.id == drawn.root:
            classes.append("focus")
        extra = ""
        if node.kind == "version":
            extra = f' data-type="{escape(str(node.attrs.get("type", "")))}"'
        elif node.attrs.get("status") is not None:
            extra = f' data-state="{escape(str(node.attrs["status"]))}"'
        radius = NODE_HEIGHT / 2 if node.kind == "run" else 3
        href = node_href(node)
        tag, target = ("a", f' href="{escape(href)}"') if href is not None else ("g", "")
        parts.append(
            f'<{tag}{target} class="{" ".join(classes)}" data-node="{escape(node.id)}"{extra}>'
            f"<title>{escape(node.label)}</title>"
            f'<rect x="{box.x:g}" y="{box.y:g}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" '
            f'rx="{radius:g}"/>'
            f'<text x="{box.x + NODE_WIDTH / 2:g}" y="{box.y + NODE_HEIGHT / 2:g}">'
            f"{escape(_short(node.label))}</text></{tag}>"
        )
    parts.append("</svg>")
    return "".join(parts)
