"""The lineage picture: layered columns, fewer crossings, escaped text, fast on big graphs."""

from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ET

import pytest

from artstore.lineage import LineageGraph, LineageNode
from artstore.ui.layout import layout, node_href, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def version(
    name: str, number: int = 0, type: str = "dataset", label: str | None = None
) -> LineageNode:
    attrs = {
        "version_id": 1,
        "artifact": name,
        "number": number,
        "version": f"v{number}",
        "type": type,
    }
    return LineageNode(f"v:{name}:{number}", "version", label or f"{name}:v{number}", 0, attrs)


def run(run_id: str, label: str | None = None) -> LineageNode:
    attrs = {"run_id": run_id, "project": "p", "name": None, "status": "finished"}
    return LineageNode(f"r:{run_id}", "run", label or f"p/{run_id}", 0, attrs)


def graph(
    nodes: list[LineageNode], edges: list[tuple[str, str, str]], root: str = ""
) -> LineageGraph:
    return LineageGraph(root or nodes[0].id, "both", tuple(nodes), tuple(sorted(edges)))


def pipeline() -> LineageGraph:
    data, raw = version("data"), version("raw")
    train, evaluate = run("train"), run("eval")
    model, report = version("model", type="model"), version("report", type="report")
    edges = [
        (raw.id, train.id, "used"),
        (data.id, train.id, "used"),
        (train.id, model.id, "produced"),
        (model.id, evaluate.id, "used"),
        (data.id, evaluate.id, "used"),
        (evaluate.id, report.id, "produced"),
    ]
    return graph([model, data, raw, train, evaluate, report], edges, root=model.id)


def test_columns_follow_the_data_flow() -> None:
    drawn = layout(pipeline())
    column = {b.node.id: b.column for b in drawn.boxes}
    assert column == {
        "v:raw:0": 0,
        "v:data:0": 0,
        "r:train": 1,
        "v:model:0": 2,
        "r:eval": 3,
        "v:report:0": 4,
    }
    for link in drawn.links:
        assert column[link.src] < column[link.dst]


def random_dag(seed: int, size: int) -> LineageGraph:
    """Versions and runs alternating along a random order: used and produced edges only."""
    rng = random.Random(seed)
    nodes = [run(f"r{i}") if i % 2 else version(f"a{i}") for i in range(size)]
    edges = set()
    for i in range(1, size):
        for j in rng.sample(range(i), min(i, rng.randint(1, 3))):
            if (nodes[i].kind == "run") != (nodes[j].kind == "run"):
                kind = "used" if nodes[i].kind == "run" else "produced"
                edges.add((nodes[j].id, nodes[i].id, kind))
    return graph(nodes, list(edges))


@pytest.mark.parametrize("seed", range(20))
def test_every_edge_points_right_and_no_two_boxes_overlap(seed: int) -> None:
    drawn = layout(random_dag(seed, 40))
    column = {b.node.id: b.column for b in drawn.boxes}
    for link in drawn.links:
        assert column[link.src] < column[link.dst]
    corners = {(b.x, b.y) for b in drawn.boxes}
    assert len(corners) == len(drawn.boxes)
    for box in drawn.boxes:
        assert box.x >= 0 and box.x + 200 <= drawn.width
        assert box.y >= 0 and box.y + 36 <= drawn.height


def test_the_same_graph_gives_the_same_picture() -> None:
    assert to_svg(layout(random_dag(7, 60))) == to_svg(layout(random_dag(7, 60)))


def test_sweeps_remove_the_crossings_of_a_crossed_start() -> None:
    # Two independent pipelines listed so that the first column starts crossed.
    a, b = version("a"), version("b")
    ra, rb = run("ra"), run("rb")
    ma, mb = version("ma", type="model"), version("mb", type="model")
    pairs = ((a, ra, "used"), (b, rb, "used"), (ra, ma, "produced"), (rb, mb, "produced"))
    edges = [(src.id, dst.id, kind) for src, dst, kind in pairs]
    drawn = layout(graph([a, b, rb, ra, ma, mb], edges))
    assert drawn.crossings == 0
    row = {box.node.id: box.row for box in drawn.boxes}
    assert (row[a.id] < row[b.id]) == (row[ra.id] < row[rb.id]) == (row[ma.id] < row[mb.id])


def test_a_cycle_is_laid_out_without_looping() -> None:
    r, v = run("r"), version("v")
    drawn = layout(graph([r, v], [(r.id, v.id, "produced"), (v.id, r.id, "used")]))
    assert len(drawn.boxes) == 2 and len(drawn.links) == 2


def test_an_empty_graph_and_a_lone_node() -> None:
    lone = version("solo")
    drawn = layout(graph([lone], []))
    assert [b.column for b in drawn.boxes] == [0]
    ET.fromstring(to_svg(drawn))


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b ' c", "]]>"]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_are_text_not_markup(label: str) -> None:
    node = run("r1", label=label)
    model = version("m", type='x" onmouseover="alert(1)')
    svg = to_svg(layout(graph([node, model], [(node.id, model.id, "produced")])))
    root = ET.fromstring(svg)  # well-formed: nothing broke out of its attribute or element
    assert root.find(f".//{SVG}script") is None
    assert root.find(f".//{SVG}img") is None
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert label in titles
    for element in root.iter():
        assert not any(key.startswith("on") for key in element.attrib)
    types = [a.get("data-type") for a in root.iter(f"{SVG}a") if a.get("data-type")]
    assert types == ['x" onmouseover="alert(1)']


def test_nodes_link_to_their_pages() -> None:
    drawn = layout(pipeline())
    root = ET.fromstring(to_svg(drawn))
    links = {a.get("data-node"): a.get("href") for a in root.iter(f"{SVG}a")}
    assert links["r:train"] == "/runs/train"
    assert links["v:model:0"] == "/artifacts/model/v0"
    focus = [a.get("data-node") for a in root.iter(f"{SVG}a") if "focus" in a.get("class", "")]
    assert focus == ["v:model:0"]
    assert node_href(run("x.y-z_1")) == "/runs/x.y-z_1"


def test_five_hundred_nodes_lay_out_in_well_under_a_second() -> None:
    big = random_dag(3, 500)
    start = time.perf_counter()
    drawn = layout(big)
    to_svg(drawn)
    elapsed = time.perf_counter() - start
    assert len(drawn.boxes) == 500
    assert elapsed < 0.5, f"{elapsed:.3f} s"


def test_a_wide_fan_out_lays_out_fast() -> None:
    data = version("data")
    runs = [run(f"r{i}") for i in range(500)]
    big = graph([data, *runs], [(data.id, r.id, "used") for r in runs])
    start = time.perf_counter()
    drawn = layout(big)
    assert time.perf_counter() - start < 0.5
    assert drawn.crossings == 0


def test_a_sweep_node_is_drawn_but_links_nowhere() -> None:
    attrs = {"sweep_id": "sw1", "project": "p", "name": "search", "state": "finished"}
    sweep = LineageNode("s:sw1", "sweep", "p/search (sw1)", 1, attrs)
    trial, model = run("t1"), version("m", type="model")
    edges = [(sweep.id, trial.id, "ran"), (trial.id, model.id, "produced")]
    drawn = layout(graph([model, trial, sweep], edges))
    assert [b.column for b in drawn.boxes] == [2, 1, 0]
    root = ET.fromstring(to_svg(drawn))
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-node") == "s:sw1"]
    assert "node-sweep" in group.get("class", "") and group.get("href") is None
    assert node_href(sweep) is None
    drawn_edges = {p.get("class") for p in root.iter(f"{SVG}path")}
    assert {"edge edge-ran", "edge edge-produced"} <= drawn_edges
