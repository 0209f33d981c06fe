"""Ancestors and descendants of a lineage node, walked in SQL by one recursive query.

Nodes are ``v:<versions.id>`` and ``r:<runs.id>``; ``lineage_edges`` holds every edge in
data-flow direction (``src -> dst``), with covering indexes on (dst, src) and (src, dst), so
the walk never loads the graph: upstream (ancestors) follows edges from ``dst`` to ``src``,
downstream (descendants) from ``src`` to ``dst``.

Without a depth limit the recursive CTE carries nodes only and uses ``UNION``, so each node is
visited once however many paths reach it (a DAG with many paths would otherwise explode);
distances are then computed by a breadth-first pass over the returned edges, which contain every
shortest path. With a limit, the CTE carries the depth and each node keeps its minimum. The same
statement returns the edges among the nodes found; two more queries resolve every run and every
version in bulk. The SQL is plain (no SQLite-only syntax) and runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from sqlalchemy import bindparam, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from artstore.errors import InvalidArgumentError, InvalidNameError, NotFoundError
from artstore.lineage.queries import require_artifact, version_row
from artstore.lineage.records import LineageGraph, LineageNode
from artstore.lineage.runs import effective_status
from artstore.lineage.tables import utcnow

__all__ = [
    "Direction",
    "Edge",
    "edge_kind",
    "lineage",
    "parse_node",
    "run_node",
    "sweep_lineage",
    "version_node",
    "walk",
    "with_sweeps",
]

Direction = Literal["up", "down", "both"]
Edge = tuple[str, str, str]  # (src, dst, kind) in data-flow direction

RUN_PREFIX = "r:"
VERSION_PREFIX = "v:"
# Rows per IN list when resolving nodes: below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 5_000

# (from column, to column) of one step: upstream goes dst -> src, downstream src -> dst.
_STEP = {"up": ("dst", "src"), "down": ("src", "dst")}

_NODES_ONLY = """
{name}(node) AS (
    SELECT CAST(:start AS VARCHAR)
    UNION
    SELECT e.{to} FROM lineage_edges e JOIN {name} w ON e.{frm} = w.node
)"""

_WITH_DEPTH = """
{name}_steps(node, depth) AS (
    SELECT CAST(:start AS VARCHAR), 0
    UNION
    SELECT e.{to}, w.depth + 1 FROM lineage_edges e JOIN {name}_steps w ON e.{frm} = w.node
    WHERE w.depth < :depth
),
{name}(node, depth) AS (SELECT node, MIN(depth) FROM {name}_steps GROUP BY node)"""


def parse_node(node: str) -> tuple[Literal["run", "version"], str]:
    """Split a node id into its kind and key (run id, or version row id as digits).

    Raises:
        InvalidNameError: not ``v:<digits>`` or ``r:<run id>``.
    """
    if node.startswith(VERSION_PREFIX) and node[2:].isdigit():
        return "version", node[2:]
    if node.startswith(RUN_PREFIX) and len(node) > 2:
        return "run", node[2:]
    raise InvalidNameError(
        f"invalid lineage node {node!r}: use v:<version id> or r:<run id>, "
        "e.g. from catalog.lineage.version_node(name, number) or catalog.lineage.run_node(run_id)"
    )


def edge_kind(src: str) -> str:
    """The kind of an edge from its source: versions are ``used``, runs ``produced``."""
    return "used" if src.startswith(VERSION_PREFIX) else "produced"


def version_node(session: Session, name: str, number: int) -> str:
    """The node id of ``name:v<number>``, or :class:`NotFoundError`."""
    row = version_row(session, require_artifact(session, name), number)
    return f"{VERSION_PREFIX}{row.id}"


def run_node(session: Session, run_id: str) -> str:
    """The node id of run ``run_id``, or :class:`NotFoundError`."""
    found = session.execute(text("SELECT id FROM runs WHERE id = :id"), {"id": run_id}).first()
    if found is None:
        raise NotFoundError(f"no run with id {run_id!r} in this catalog; see: art runs ls")
    return f"{RUN_PREFIX}{run_id}"


def reach(
    session: Session, node: str, direction: Literal["up", "down"], depth: int | None = None
) -> dict[str, int | None]:
    """The ids of the nodes upstream (ancestors) or downstream (descendants) of ``node``,
    without the node itself: one recursive query, nothing else read.

    Returns:
        ``{node id: minimal distance}`` with a depth limit; ``{node id: None}`` without one
        (distances would need the edges, which this query does not fetch).
    """
    ctes, params = _walks(node, (direction,), depth)
    column = "NULL" if depth is None else "depth"
    sql = f"WITH RECURSIVE {ctes}\nSELECT node, {column} FROM {direction} WHERE node <> :start"
    return {node: distance for node, distance in _rows(session, sql, params)}


def _walks(node: str, sides: Sequence[str], depth: int | None) -> tuple[str, dict[str, Any]]:
    """The recursive CTEs that walk from ``node`` to each side, one named after each, and
    their parameters."""
    if depth is not None and (type(depth) is not int or depth < 0):
        raise InvalidArgumentError(f"depth must be a whole number >= 0 or None, not {depth!r}")
    template = _NODES_ONLY if depth is None else _WITH_DEPTH
    ctes = [template.format(name=side, frm=_STEP[side][0], to=_STEP[side][1]) for side in sides]
    params: dict[str, Any] = {"start": node}
    if depth is not None:
        params["depth"] = depth
    return ",".join(ctes), params


def _rows(session: Session, sql: str, params: dict[str, Any]) -> Sequence[Any]:
    """The rows of ``sql`` (``:name`` parameters), fetched by the driver itself on SQLite.

    sqlite3 takes ``:name`` parameters as ``text()`` does, so a large answer skips
    SQLAlchemy's per-row processing: 20,000 ancestors come back in 31 ms instead of 40 ms.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return session.execute(text(sql), params).all()
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        rows: Sequence[Any] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def walk(
    session: Session, node: str, direction: Direction, depth: int | None = None
) -> tuple[dict[str, int], list[Edge]]:
    """The nodes within ``depth`` steps of ``node`` in ``direction``, and the edges among them.

    One statement. The start node is included at distance 0 whether or not it exists.

    Returns:
        ``{node id: minimal distance}`` and the sorted ``(src, dst, kind)`` edges whose two
        ends are both among the returned nodes.

    Raises:
        InvalidArgumentError: ``direction`` is not up, down or both, or ``depth`` is not a
            whole number >= 0.
    """
    if direction not in ("up", "down", "both"):
        raise InvalidArgumentError(
            f"direction must be 'up', 'down' or 'both', not {str(direction)[:40]!r}"
        )
    sides = ("up", "down") if direction == "both" else (direction,)
    ctes, params = _walks(node, sides, depth)
    depth_col = "CAST(NULL AS INTEGER)" if depth is None else "depth"
    found = " UNION ".join(f"SELECT node, {depth_col} AS depth FROM {side}" for side in sides)
    if depth is None and direction != "both":
        # Unlimited one-way walk: every edge into (up) or out of (down) a found node has its
        # other end among the found nodes too, so no membership test is needed.
        frm, _ = _STEP[direction]
        edges = f"SELECT e.src, e.dst FROM {direction} f JOIN lineage_edges e ON e.{frm} = f.node"
    else:
        edges = (
            "SELECT e.src, e.dst FROM found f JOIN lineage_edges e ON e.src = f.node"
            " JOIN found g ON g.node = e.dst"
        )
    sql = (
        f"WITH RECURSIVE {ctes},\nfound(node, depth) AS ({found})\n"
        "SELECT 0 AS edge, node AS a, CAST(NULL AS VARCHAR) AS b, CAST(depth AS INTEGER) AS d"
        " FROM found\nUNION ALL\n"
        f"SELECT 1, src, dst, CAST(NULL AS INTEGER) FROM ({edges}) x"
    )
    distances: dict[str, int] = {}
    pairs: set[tuple[str, str]] = set()
    for is_edge, a, b, d in session.execute(text(sql), params).all():
        if is_edge:
            pairs.add((a, b))
        elif depth is not None:
            distances[a] = min(d, distances.get(a, d))
    if depth is None:
        distances = _bfs(node, pairs, sides)
    edge_list = sorted((src, dst, edge_kind(src)) for src, dst in pairs)
    return distances, edge_list


def _bfs(start: str, pairs: Iterable[tuple[str, str]], sides: Sequence[str]) -> dict[str, int]:
    # The returned edges hold every shortest path from the start (all nodes on one are found),
    # and walking one way from the start never crosses to the other side of a DAG.
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for src, dst in pairs:
        ups.setdefault(dst, []).append(src)
        downs.setdefault(src, []).append(dst)
    distances = {start: 0}
    for side in sides:
        adjacent = ups if side == "up" else downs
        queue = deque([start])
        while queue:
            current = queue.popleft()
            step = distances[current] + 1
            for other in adjacent.get(current, ()):
                if other not in distances:
                    distances[other] = step
                    queue.append(other)
    return distances


def require_node(session: Session, node: str) -> None:
    """Check that a node id names an existing run or version.

    Raises:
        InvalidNameError: a malformed id.
        NotFoundError: no such run or version.
    """
    kind, key = parse_node(node)
    if kind == "run":
        found = session.execute(text("SELECT 1 FROM runs WHERE id = :k"), {"k": key}).first()
    else:
        found = session.execute(
            text("SELECT 1 FROM versions WHERE id = :k"), {"k": int(key)}
        ).first()
    if found is None:
        what = f"run {key!r}" if kind == "run" else f"version id {key}"
        raise NotFoundError(f"no {what} in this catalog (lineage node {node!r}); see: art ls")


def lineage(
    session: Session, node: str, direction: Direction = "both", depth: int | None = None
) -> LineageGraph:
    """The lineage graph around ``node``: see
    :meth:`artstore.lineage.catalog_lineage.CatalogLineage.walk`."""
    kind, key = parse_node(node)
    distances, edges = walk(session, node, direction, depth)
    runs = _runs(session, [n[2:] for n in distances if n.startswith(RUN_PREFIX)])
    versions = _versions(session, [int(n[2:]) for n in distances if n.startswith(VERSION_PREFIX)])
    if (runs if kind == "run" else versions).get(node) is None:
        what = f"run {key!r}" if kind == "run" else f"version id {key}"
        raise NotFoundError(
            f"no {what} in this catalog (lineage node {node!r}); find one with "
            "catalog.lineage.version_node(name, number) or catalog.lineage.run_node(run_id), "
            "or see: art ls"
        )
    nodes = [
        _node(n, distance, runs.get(n) or versions.get(n))
        for n, distance in sorted(distances.items(), key=lambda item: (item[1], item[0]))
    ]
    return LineageGraph(root=node, direction=direction, nodes=tuple(nodes), edges=tuple(edges))


def _node(node: str, distance: int, details: tuple[str, dict[str, Any]] | None) -> LineageNode:
    kind: Literal["run", "version", "sweep"] = (
        "run"
        if node.startswith(RUN_PREFIX)
        else "sweep"
        if node.startswith(SWEEP_PREFIX)
        else "version"
    )
    # An edge whose run or version row is gone (never, with foreign keys) keeps its bare id.
    label, attrs = details if details is not None else (node, {})
    return LineageNode(id=node, kind=kind, label=label, distance=distance, attrs=attrs)


def _chunks(keys: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(keys), _CHUNK):
        yield keys[i : i + _CHUNK]


_VERSIONS_SQL = text(
    "SELECT v.id, a.name, v.number, a.type FROM versions v"
    " JOIN artifacts a ON a.id = v.artifact_id WHERE v.id IN :keys"
).bindparams(bindparam("keys", expanding=True))


def _runs(session: Session, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    now = utcnow()
    for chunk in _chunks(keys):
        runs = SQLModel.metadata.tables["runs"].c
        query = sa_select(
            runs.id,
            runs.project,
            runs.name,
            runs.status,
            runs.heartbeat_at,
            runs.heartbeat_timeout,
        ).where(runs.id.in_(list(chunk)))
        for run_id, project, name, stored, beat, timeout in session.execute(query).all():
            status = effective_status(stored, beat, timeout, now)
            label = f"{project}/{name} ({run_id})" if name else f"{project}/{run_id}"
            attrs = {"run_id": run_id, "project": project, "name": name, "status": status}
            found[f"{RUN_PREFIX}{run_id}"] = (label, attrs)
    return found


def _versions(session: Session, keys: Sequence[int]) -> dict[str, tuple[str, dict[str, Any]]]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for chunk in _chunks(keys):
        rows = session.execute(_VERSIONS_SQL, {"keys": chunk}).all()
        for version_id, artifact, number, type_ in rows:
            attrs = {
                "version_id": version_id,
                "artifact": artifact,
                "number": number,
                "version": f"v{number}",
                "type": type_,
            }
            found[f"{VERSION_PREFIX}{version_id}"] = (f"{artifact}:v{number}", attrs)
    return found


SWEEP_PREFIX = "s:"


def with_sweeps(session: Session, graph: LineageGraph, depth: int | None = None) -> LineageGraph:
    """``graph`` with the sweep of each of its runs that ran as a sweep's trial: a node
    ``s:<sweep id>`` upstream of the run, by an edge of kind ``ran``. Only a graph walked up
    (or both ways) gets them, within ``depth`` hops of the root."""
    if graph.direction == "down":
        return graph
    distances = {n.id: n.distance for n in graph.nodes if n.kind == "run"}
    found: dict[str, int] = {}
    edges: list[Edge] = []
    for sweep_id, run_id in _sweeps_of(session, [n[2:] for n in distances]):
        distance = distances[f"{RUN_PREFIX}{run_id}"] + 1
        if depth is not None and distance > depth:
            continue
        node = f"{SWEEP_PREFIX}{sweep_id}"
        found[node] = min(distance, found.get(node, distance))
        edges.append((node, f"{RUN_PREFIX}{run_id}", "ran"))
    if not found:
        return graph
    described = _sweep_nodes(session, [n[2:] for n in found])
    nodes = [*graph.nodes, *(_node(n, d, described.get(n)) for n, d in found.items())]
    return LineageGraph(
        root=graph.root,
        direction=graph.direction,
        nodes=tuple(sorted(nodes, key=lambda n: (n.distance, n.id))),
        edges=tuple(sorted([*graph.edges, *edges])),
    )


def sweep_lineage(session: Session, sweep_id: str, depth: int | None = None) -> LineageGraph:
    """A sweep, the runs of its trials, and what came from them (walked down).

    Raises:
        NotFoundError: no such sweep.
    """
    root = f"{SWEEP_PREFIX}{sweep_id}"
    described = _sweep_nodes(session, [sweep_id])
    if root not in described:
        raise NotFoundError(f"no sweep {sweep_id!r}; see: art sweep ls")
    distances: dict[str, int] = {root: 0}
    pairs: set[Edge] = set()
    if depth is None or depth >= 1:
        for _, run_id in _sweeps_of(session, None, sweep_id):
            run = f"{RUN_PREFIX}{run_id}"
            pairs.add((root, run, "ran"))
            below, edges = walk(session, run, "down", None if depth is None else depth - 1)
            for node, distance in below.items():
                distances[node] = min(distance + 1, distances.get(node, distance + 1))
            pairs.update(edges)
    runs = _runs(session, [n[2:] for n in distances if n.startswith(RUN_PREFIX)])
    versions = _versions(session, [int(n[2:]) for n in distances if n.startswith(VERSION_PREFIX)])
    details = {**runs, **versions, **described}
    nodes = [
        _node(n, distance, details.get(n))
        for n, distance in sorted(distances.items(), key=lambda item: (item[1], item[0]))
    ]
    return LineageGraph(root=root, direction="down", nodes=tuple(nodes), edges=tuple(sorted(pairs)))


def _sweeps_of(
    session: Session, run_ids: Sequence[str] | None, sweep_id: str | None = None
) -> list[tuple[str, str]]:
    # (sweep id, run id) of the trials that ran these runs, or every trial run of one sweep.
    trials = SQLModel.metadata.tables["sweep_trials"].c
    query = sa_select(trials.sweep_id, trials.run_id).where(trials.run_id.isnot(None))
    if sweep_id is not None:
        return [(s, r) for s, r in session.execute(query.where(trials.sweep_id == sweep_id))]
    found: list[tuple[str, str]] = []
    for chunk in _chunks(list(run_ids or ())):
        found.extend((s, r) for s, r in session.execute(query.where(trials.run_id.in_(chunk))))
    return found


def _sweep_nodes(session: Session, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    sweeps = SQLModel.metadata.tables["sweeps"].c
    query = sa_select(sweeps.id, sweeps.project, sweeps.name, sweeps.state).where(
        sweeps.id.in_(list(keys))
    )
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for sweep_id, project, name, state in session.execute(query).all():
        label = f"{project}/sweep {name} ({sweep_id})" if name else f"{project}/sweep {sweep_id}"
        attrs = {"sweep_id": sweep_id, "project": project, "name": name, "state": state}
        found[f"{SWEEP_PREFIX}{sweep_id}"] = (label, attrs)
    return found
