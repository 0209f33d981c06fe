"""Ancestors and descendants in SQL, checked against networkx on random DAGs.

A DAG is described as data (:class:`DagSpec`): ``roots`` versions that nothing produced, then
runs in order, each using some earlier versions and producing new ones. Its rows go straight
into a fresh catalog with SQLAlchemy core (one transaction); versions get row ids 1, 2, ... in
order of creation and belong to three artifacts (``a0``, ``a1``, ``a2``), numbered per artifact.
The same cases run on PostgreSQL when a server is available (fixtures in ``conftest.py``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from artstore.errors import InvalidNameError, NotFoundError
from artstore.lineage import Catalog
from artstore.lineage.tables import ArtifactRow, EdgeRow, RunRow, VersionRow

ARTIFACTS = 3


@dataclass(frozen=True)
class RunSpec:
    uses: tuple[int, ...]  # indexes of earlier versions (0-based, in order of creation)
    produces: int


@dataclass(frozen=True)
class DagSpec:
    roots: int
    runs: tuple[RunSpec, ...]

    @property
    def version_count(self) -> int:
        return self.roots + sum(run.produces for run in self.runs)


@st.composite
def dags(draw: st.DrawFn, max_runs: int = 14) -> DagSpec:
    """Random bipartite DAGs: each run uses 0-3 earlier versions and produces 1-2 new ones."""
    count = roots = draw(st.integers(1, 3))
    runs = []
    for _ in range(draw(st.integers(0, max_runs))):
        uses = draw(st.lists(st.integers(0, count - 1), max_size=3, unique=True))
        produces = draw(st.integers(1, 2))
        runs.append(RunSpec(tuple(uses), produces))
        count += produces
    return DagSpec(roots=roots, runs=tuple(runs))


def random_dag(seed: int, runs: int = 30) -> DagSpec:
    """The same shape as :func:`dags`, from a seeded RNG (for databases without Hypothesis)."""
    rng = random.Random(seed)
    count = rng.randint(1, 3)
    roots = count
    specs = []
    for _ in range(runs):
        uses = rng.sample(range(count), min(count, rng.randint(0, 3)))
        produces = rng.randint(1, 2)
        specs.append(RunSpec(tuple(uses), produces))
        count += produces
    return DagSpec(roots=roots, runs=tuple(specs))


def version_id(index: int) -> int:
    return index + 1


def run_id(index: int) -> str:
    return f"run-{index}"


def to_networkx(spec: DagSpec) -> nx.DiGraph:
    """The DAG as node ids (``v:<id>``, ``r:<id>``), edges in data-flow direction with kind."""
    graph = nx.DiGraph()
    graph.add_nodes_from(f"v:{version_id(i)}" for i in range(spec.version_count))
    made = spec.roots
    for i, run in enumerate(spec.runs):
        node = f"r:{run_id(i)}"
        graph.add_node(node)
        for used in run.uses:
            graph.add_edge(f"v:{version_id(used)}", node, kind="used")
        for new in range(made, made + run.produces):
            graph.add_edge(node, f"v:{version_id(new)}", kind="produced")
        made += run.produces
    return graph


def _table(model: type[SQLModel]) -> sa.Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


def _row(model: SQLModel, **renames: str) -> dict[str, Any]:
    row = model.model_dump()
    if row.get("id") is None:
        row.pop("id", None)
    for field, column in renames.items():
        row[column] = row.pop(field)
    return row


def insert(engine: sa.Engine, spec: DagSpec) -> nx.DiGraph:
    """Insert the DAG's rows in one transaction; returns :func:`to_networkx` of it."""
    artifacts = [ArtifactRow(id=k + 1, name=f"a{k}", type="dataset") for k in range(ARTIFACTS)]
    numbers = [0] * ARTIFACTS
    producer: dict[int, str] = {}
    made = spec.roots
    for i, run in enumerate(spec.runs):
        for new in range(made, made + run.produces):
            producer[new] = run_id(i)
        made += run.produces
    versions = []
    for index in range(spec.version_count):
        k = index % ARTIFACTS
        versions.append(
            VersionRow(
                id=version_id(index),
                artifact_id=k + 1,
                number=numbers[k],
                digest=f"{index:032x}",
                size=index,
                file_count=1,
                created_by_run=producer.get(index),
                created_by_user="tester@host",
            )
        )
        numbers[k] += 1
    runs = [
        # Every third run has no name: its label is then project/id.
        RunRow(
            id=run_id(i),
            project="proj",
            name=None if i % 3 == 2 else f"step{i}",
            status="finished",
            user="tester@host",
        )
        for i in range(len(spec.runs))
    ]
    graph = to_networkx(spec)
    edges = []
    for src, dst, kind in graph.edges(data="kind"):
        run, version = (dst, src) if kind == "used" else (src, dst)
        edges.append(
            EdgeRow(run_id=run[2:], version_id=int(version[2:]), kind=kind, src=src, dst=dst)
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(_table(ArtifactRow)), [_row(a) for a in artifacts])
        if runs:
            conn.execute(sa.insert(_table(RunRow)), [_row(r) for r in runs])
        conn.execute(sa.insert(_table(VersionRow)), [_row(v, meta="metadata") for v in versions])
        if edges:
            conn.execute(sa.insert(_table(EdgeRow)), [_row(e) for e in edges])
    return graph


def label(node: str) -> str:
    """The label the catalog gives a node of an inserted DAG."""
    if node.startswith("r:"):
        index = int(node.rsplit("-", 1)[1])
        return f"proj/{node[2:]}" if index % 3 == 2 else f"proj/step{index} ({node[2:]})"
    index = int(node[2:]) - 1
    return f"a{index % ARTIFACTS}:v{index // ARTIFACTS}"


def expected(
    graph: nx.DiGraph, start: str, direction: str, depth: int | None
) -> tuple[dict[str, int], set[tuple[str, str, str]]]:
    """networkx's answer: {node: minimal distance} and the edges among those nodes."""
    distances: dict[str, int] = {}
    if direction in ("up", "both"):
        distances.update(
            nx.single_source_shortest_path_length(graph.reverse(copy=False), start, cutoff=depth)
        )
    if direction in ("down", "both"):
        distances.update(nx.single_source_shortest_path_length(graph, start, cutoff=depth))
    sub = graph.subgraph(distances)
    return distances, {(u, v, k) for u, v, k in sub.edges(data="kind")}


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    with Catalog.open(db_url) as opened:
        yield opened


@pytest.fixture
def raw(db_url: str, catalog: Catalog) -> Iterator[sa.Engine]:
    """A plain engine on the catalog's database (after the catalog created the tables)."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def check(catalog: Catalog, graph: nx.DiGraph, start: str, direction: str, depth: int | None):
    found = catalog.lineage.walk(start, direction=direction, depth=depth)  # type: ignore[arg-type]
    distances, edges = expected(graph, start, direction, depth)
    assert {node.id: node.distance for node in found.nodes} == distances
    assert len(found.edges) == len(edges) and set(found.edges) == edges
    assert list(found.edges) == sorted(found.edges)
    assert [(n.distance, n.id) for n in found.nodes] == sorted((d, n) for n, d in distances.items())
    assert (found.root, found.direction) == (start, direction)
    for node in found.nodes:
        assert node.kind == ("run" if node.id.startswith("r:") else "version")
        assert node.label == label(node.id)
    return found


# -- against networkx --------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=dags(), data=st.data())
def test_random_dags_match_networkx(tmp_path_factory: pytest.TempPathFactory, spec, data):
    url = f"sqlite:///{tmp_path_factory.mktemp('dag') / 'catalog.db'}"
    with Catalog.open(url) as catalog:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            graph = insert(engine, spec)
        finally:
            engine.dispose()
        nodes = sorted(graph.nodes)
        starts = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4, unique=True))
        depths = data.draw(
            st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=1, max_size=3, unique=True)
        )
        for start in starts:
            for direction in ("up", "down", "both"):
                for depth in depths:
                    check(catalog, graph, start, direction, depth)
                    if direction != "both":
                        check_reach(catalog, graph, start, direction, depth)


def check_reach(catalog: Catalog, graph: nx.DiGraph, start: str, direction: str, depth):
    """``Catalog.ancestors``/``descendants`` (ids only) agree with networkx too."""
    if direction == "up":
        found = catalog.lineage.ancestors(start, depth=depth)
        lengths = nx.single_source_shortest_path_length(graph.reverse(), start, cutoff=depth)
    else:
        found = catalog.lineage.descendants(start, depth=depth)
        lengths = nx.single_source_shortest_path_length(graph, start, cutoff=depth)
    lengths.pop(start)
    if depth is None:
        assert found == dict.fromkeys(lengths)
    else:
        assert found == lengths


def test_seeded_random_dag_matches_networkx(catalog, raw):
    graph = insert(raw, random_dag(seed=7, runs=40))
    for start in sorted(graph.nodes):
        for direction in ("up", "down", "both"):
            for depth in (None, 0, 1, 3):
                check(catalog, graph, start, direction, depth)
                if direction != "both":
                    check_reach(catalog, graph, start, direction, depth)


# -- hand-made cases ---------------------------------------------------------------------------

CHAIN = DagSpec(roots=1, runs=(RunSpec(uses=(0,), produces=1),))  # a0:v0 -> run-0 -> a1:v0
DIAMOND = DagSpec(
    roots=1,
    runs=(RunSpec((0,), 1), RunSpec((0,), 1), RunSpec((1, 2), 1)),
)  # v:1 -> run-0 -> v:2, v:1 -> run-1 -> v:3, (v:2, v:3) -> run-2 -> v:4


def distances(graph) -> dict[str, int]:
    return {node.id: node.distance for node in graph.nodes}


def test_chain_upstream_downstream_and_labels(catalog, raw):
    insert(raw, CHAIN)
    model = catalog.lineage.version_node("a1", 0)
    dataset = catalog.lineage.version_node("a0", 0)
    assert (dataset, model) == ("v:1", "v:2")
    assert catalog.lineage.run_node("run-0") == "r:run-0"

    up = catalog.lineage.walk(model, direction="up")
    assert distances(up) == {"v:2": 0, "r:run-0": 1, "v:1": 2}
    assert up.edges == (("r:run-0", "v:2", "produced"), ("v:1", "r:run-0", "used"))
    assert [n.label for n in up.nodes] == ["a1:v0", "proj/step0 (run-0)", "a0:v0"]
    assert up.node("v:1").attrs == {
        "version_id": 1,
        "artifact": "a0",
        "number": 0,
        "version": "v0",
        "type": "dataset",
    }
    assert up.node("r:run-0").attrs == {
        "run_id": "run-0",
        "project": "proj",
        "name": "step0",
        "status": "finished",
    }

    down = catalog.lineage.walk(dataset, direction="down")
    assert distances(down) == {"v:1": 0, "r:run-0": 1, "v:2": 2}
    assert down.edges == up.edges
    both = catalog.lineage.walk("r:run-0")
    assert both.direction == "both"
    assert distances(both) == {"r:run-0": 0, "v:1": 1, "v:2": 1}
    assert both.edges == up.edges


def test_depth_one_versus_unlimited(catalog, raw):
    insert(raw, CHAIN)
    one = catalog.lineage.walk("v:2", direction="up", depth=1)
    assert distances(one) == {"v:2": 0, "r:run-0": 1}
    assert one.edges == (("r:run-0", "v:2", "produced"),)
    assert distances(catalog.lineage.walk("v:2", direction="up", depth=0)) == {"v:2": 0}
    assert catalog.lineage.walk("v:2", direction="up", depth=0).edges == ()
    assert len(catalog.lineage.walk("v:2", direction="up").nodes) == 3
    assert catalog.lineage.walk("v:2", direction="up", depth=2) == catalog.lineage.walk(
        "v:2", direction="up", depth=None
    )


def test_diamond_visits_shared_nodes_once_at_their_minimal_distance(catalog, raw):
    insert(raw, DIAMOND)
    up = catalog.lineage.walk("v:4", direction="up")
    assert distances(up) == {
        "v:4": 0,
        "r:run-2": 1,
        "v:2": 2,
        "v:3": 2,
        "r:run-0": 3,
        "r:run-1": 3,
        "v:1": 4,
    }
    assert len(up.edges) == 7
    assert [n.id for n in up.nodes].count("v:1") == 1
    down = catalog.lineage.walk("v:1", direction="down", depth=3)
    assert distances(down) == {
        "v:1": 0,
        "r:run-0": 1,
        "r:run-1": 1,
        "v:2": 2,
        "v:3": 2,
        "r:run-2": 3,
    }
    assert len(down.edges) == 6
    # Unnamed runs (every third) are labelled project/id.
    assert up.node("r:run-2").label == "proj/run-2"


def test_unknown_nodes_are_not_found(catalog, raw):
    insert(raw, CHAIN)
    for node in ("v:999", "r:nope"):
        with pytest.raises(NotFoundError) as info:
            catalog.lineage.walk(node)
        assert "\n" not in str(info.value) and node in str(info.value)
    with pytest.raises(NotFoundError, match="no run with id 'nope'"):
        catalog.lineage.run_node("nope")
    with pytest.raises(NotFoundError, match="has no version v7"):
        catalog.lineage.version_node("a0", 7)
    with pytest.raises(NotFoundError, match="no artifact named 'zzz'"):
        catalog.lineage.version_node("zzz", 0)


@pytest.mark.parametrize("node", ["x:1", "v:abc", "v:", "r:", "run-0", ""])
def test_malformed_node_ids_are_invalid(catalog, node):
    with pytest.raises(InvalidNameError, match="invalid lineage node"):
        catalog.lineage.walk(node)


def test_bad_direction_or_depth(catalog, raw):
    insert(raw, CHAIN)
    with pytest.raises(ValueError, match="direction"):
        catalog.lineage.walk("v:1", direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        catalog.lineage.walk("v:1", depth=-1)


def test_a_node_without_edges_is_its_own_graph(catalog, raw):
    insert(raw, DagSpec(roots=2, runs=()))
    graph = catalog.lineage.walk("v:2")
    assert distances(graph) == {"v:2": 0} and graph.edges == ()


def test_three_statements_whatever_the_graph_size(tmp_path: Path):
    # One walk (nodes and edges), one for the runs, one for the versions: never one per node.
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with Catalog.open(url) as catalog:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        graph = insert(engine, random_dag(seed=3, runs=60))
        engine.dispose()
        start = max(graph.nodes, key=lambda n: len(nx.ancestors(graph, n)))
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                statements.append(statement)

        sa.event.listen(catalog._engine, "before_cursor_execute", record)
        found = catalog.lineage.walk(start, direction="both")
        assert len(found.nodes) > 20
        assert len(statements) == 3
