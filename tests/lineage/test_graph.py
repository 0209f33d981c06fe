"""Lineage graph export: every format parses back, or has the expected structure."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import networkx as nx
import pytest

from artstore.lineage import (
    LineageGraph,
    LineageNode,
    to_dot,
    to_graphml,
    to_mermaid,
    to_networkx,
    to_node_link_json,
    to_text,
)


def version(node_id: str, name: str, number: int, distance: int) -> LineageNode:
    attrs = {
        "version_id": int(node_id[2:]),
        "artifact": name,
        "number": number,
        "version": f"v{number}",
        "type": "dataset",
    }
    return LineageNode(node_id, "version", f"{name}:v{number}", distance, attrs)


def run(run_id: str, name: str | None, distance: int) -> LineageNode:
    attrs = {"run_id": run_id, "project": "mnist", "name": name, "status": "finished"}
    label = f"mnist/{name} ({run_id})" if name else f"mnist/{run_id}"
    return LineageNode(f"r:{run_id}", "run", label, distance, attrs)


# mnist-data:v0 -> mnist/train (r1) -> mnist-cnn:v1, seen from the model.
CHAIN = LineageGraph(
    root="v:2",
    direction="up",
    nodes=(
        version("v:2", "mnist-cnn", 1, 0),
        run("r1", "train", 1),
        version("v:1", "mnist-data", 0, 2),
    ),
    edges=(("r:r1", "v:2", "produced"), ("v:1", "r:r1", "used")),
)

# raw -> prep -> clean; raw -> split -> {train, test}; (clean, train) -> fit -> model.
# Seen from the model: raw is reached through three paths.
SHARED = LineageGraph(
    root="v:6",
    direction="up",
    nodes=(
        version("v:6", "model", 0, 0),
        run("fit", "fit", 1),
        version("v:2", "clean", 0, 2),
        version("v:3", "train", 0, 2),
        run("prep", "prep", 3),
        run("split", None, 3),
        version("v:1", "raw", 0, 4),
    ),
    edges=tuple(
        sorted(
            [
                ("v:1", "r:prep", "used"),
                ("r:prep", "v:2", "produced"),
                ("v:1", "r:split", "used"),
                ("r:split", "v:3", "produced"),
                ("v:2", "r:fit", "used"),
                ("v:3", "r:fit", "used"),
                ("r:fit", "v:6", "produced"),
            ]
        )
    ),
)

WEIRD = LineageGraph(
    root='r:we"ird\\id #1',
    direction="both",
    nodes=(
        LineageNode(
            'r:we"ird\\id #1',
            "run",
            'p/"quoted" <b> #1 (we"ird\\id #1)',
            0,
            {"run_id": 'we"ird\\id #1', "project": "p", "name": '"quoted" <b> #1', "status": "x"},
        ),
        version("v:1", "in", 0, 1),
    ),
    edges=(("v:1", 'r:we"ird\\id #1', "used"),),
)


EVERY_GRAPH = pytest.mark.parametrize("g", [CHAIN, SHARED, WEIRD], ids=["chain", "shared", "weird"])


def test_to_networkx_carries_kinds_labels_distances_and_attrs():
    graph = to_networkx(SHARED)
    assert isinstance(graph, nx.DiGraph)
    assert set(graph.nodes) == {n.id for n in SHARED.nodes}
    assert graph.nodes["v:1"]["kind"] == "version"
    assert graph.nodes["v:1"]["label"] == "raw:v0"
    assert graph.nodes["v:1"]["distance"] == 4
    assert graph.nodes["v:1"]["artifact"] == "raw"
    assert graph.nodes["r:fit"]["status"] == "finished"
    assert graph.edges["r:fit", "v:6"]["kind"] == "produced"
    assert graph.graph == {"root": "v:6", "direction": "up"}
    assert nx.ancestors(graph, "v:6") == {n.id for n in SHARED.nodes} - {"v:6"}


@EVERY_GRAPH
def test_graphml_round_trips_node_ids_and_kinds(tmp_path, g):
    path = tmp_path / "g.graphml"
    path.write_text(to_graphml(g))
    back = nx.read_graphml(path)
    assert back.is_directed()
    assert {n: d["kind"] for n, d in back.nodes(data=True)} == {n.id: n.kind for n in g.nodes}
    assert {n: d["label"] for n, d in back.nodes(data=True)} == {n.id: n.label for n in g.nodes}
    assert {(u, v, k) for u, v, k in back.edges(data="kind")} == set(g.edges)


def test_graphml_leaves_out_none_attributes(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(to_graphml(SHARED))
    back = nx.read_graphml(path)
    assert "name" not in back.nodes["r:split"]
    assert back.nodes["r:fit"]["name"] == "fit"


@EVERY_GRAPH
def test_node_link_json_round_trips(g):
    data = json.loads(to_node_link_json(g))
    assert "edges" in data and "links" not in data
    back = nx.node_link_graph(data, edges="edges")
    assert back.is_directed()
    assert dict(back.nodes(data="kind")) == {n.id: n.kind for n in g.nodes}
    assert dict(back.nodes(data="distance")) == {n.id: n.distance for n in g.nodes}
    assert {(u, v, k) for u, v, k in back.edges(data="kind")} == set(g.edges)
    assert back.graph["root"] == g.root


def _dot_id(node_id: str) -> str:
    return '"' + node_id.replace("\\", "\\\\").replace('"', '\\"') + '"'


@EVERY_GRAPH
def test_dot_has_every_node_and_edge_with_shapes(g):
    dot = to_dot(g)
    assert dot.startswith("digraph lineage {\n") and dot.endswith("}\n")
    for node in g.nodes:
        shape = "box" if node.kind == "version" else "ellipse"
        line = next(x for x in dot.splitlines() if x.strip().startswith(_dot_id(node.id) + " ["))
        assert f"shape={shape}" in line
    for src, dst, kind in g.edges:
        assert f'  {_dot_id(src)} -> {_dot_id(dst)} [label="{kind}"];' in dot.splitlines()
    assert dot.count("->") == len(g.edges)


def test_dot_parses_with_graphviz_when_installed(tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed")
    done = subprocess.run(
        ["dot", "-Tplain"], input=to_dot(WEIRD), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@EVERY_GRAPH
def test_mermaid_is_a_flowchart_with_one_line_per_edge(g):
    lines = to_mermaid(g).splitlines()
    assert lines[0] == "flowchart LR"
    edge_lines = [x for x in lines if "-->" in x]
    assert len(edge_lines) == len(g.edges)
    ids = {}
    for line in lines[1:]:
        match = re.fullmatch(r"    (n\d+)(\[|\(\[)\"([^\"]*)\"(\]|\]\))", line)
        if match:
            ids[match.group(1)] = match.group(3)
    assert len(ids) == len(g.nodes)
    for line in edge_lines:
        assert re.fullmatch(r"    n\d+ -->\|(used|produced)\| n\d+", line)
    # Labels carry no raw quote, angle bracket or '#' other than Mermaid's entity escapes.
    for label in ids.values():
        assert "<" not in label and ">" not in label
        assert re.sub(r"#(\d+|quot|lt|gt);", "", label).count("#") == 0


def test_mermaid_shapes_versions_as_boxes_and_runs_as_stadiums():
    lines = to_mermaid(CHAIN).splitlines()
    assert '    n0["mnist-cnn:v1"]' in lines
    assert '    n1(["mnist/train (r1)"])' in lines
    assert "    n1 -->|produced| n0" in lines


def test_text_tree_of_a_chain():
    assert to_text(CHAIN).splitlines() == [
        "mnist-cnn:v1",
        "└── produced by mnist/train (r1)",
        "    └── used mnist-data:v0",
    ]


def test_text_tree_downstream():
    down = LineageGraph(
        root="v:1",
        direction="down",
        nodes=(
            version("v:1", "mnist-data", 0, 0),
            run("r1", "train", 1),
            version("v:2", "m", 1, 2),
        ),
        edges=CHAIN.edges,
    )
    assert to_text(down).splitlines() == [
        "mnist-data:v0",
        "└── used by mnist/train (r1)",
        "    └── produced m:v1",
    ]


def test_text_tree_prints_shared_nodes_once():
    assert to_text(SHARED).splitlines() == [
        "model:v0",
        "└── produced by mnist/fit (fit)",
        "    ├── used clean:v0",
        "    │   └── produced by mnist/prep (prep)",
        "    │       └── used raw:v0",
        "    └── used train:v0",
        "        └── produced by mnist/split",
        "            └── used raw:v0 (see above)",
    ]


def test_text_tree_both_directions_from_a_run():
    both = LineageGraph(
        root="r:r1",
        direction="both",
        nodes=(
            run("r1", "train", 0),
            version("v:1", "mnist-data", 0, 1),
            version("v:2", "m", 1, 1),
        ),
        edges=CHAIN.edges,
    )
    assert to_text(both).splitlines() == [
        "mnist/train (r1)",
        "├── used mnist-data:v0",
        "└── produced m:v1",
    ]


def test_text_tree_of_a_long_chain_needs_no_recursion():
    n = 1500
    nodes = [version(f"v:{i}", "x", i, n - i) for i in range(n + 1)]
    edges = tuple(sorted((f"v:{i}", f"v:{i + 1}", "produced") for i in range(n)))
    g = LineageGraph(root=f"v:{n}", direction="up", nodes=tuple(nodes), edges=edges)
    assert len(to_text(g).splitlines()) == n + 1


def test_importing_the_lineage_package_does_not_import_networkx():
    code = "import sys, artstore.lineage; print('networkx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
