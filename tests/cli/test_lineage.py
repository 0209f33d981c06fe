"""``art lineage``: text tree, json/graphml/dot/mermaid, -o FILE, --up/--down/--depth, --run,
and one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
from click.testing import Result

import artstore
from artstore.artifacts import Artifact, Store
from tests.cli.conftest import one_error_line
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


@pytest.fixture
def chain(store_url, tmp_path):
    """data:v0 -> train -> model:v0 -> evaluate -> report:v0."""
    with Store(store_url) as store:
        data = Artifact("data", "dataset")
        data.add_dir(make_folder(tmp_path / "data", {"a.csv": b"1"}))
        store.log_artifact(data)
    with artstore.init(store=store_url, project="p", name="train", id="train", **FAST) as run:
        run.use_artifact("data:latest")
        model = Artifact("model", "model")
        model.add_dir(make_folder(tmp_path / "model", {"w.bin": b"w"}))
        run.log_artifact(model)
    with artstore.init(store=store_url, project="p", name="eval", id="evaluate", **FAST) as run:
        run.use_artifact("model:latest")
        report = Artifact("report", "report")
        report.add_dir(make_folder(tmp_path / "report", {"r.txt": b"ok"}))
        run.log_artifact(report)
    return store_url


TRAIN, EVAL = "p/train (train)", "p/eval (evaluate)"


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return str(result.stdout)


def test_text_both_directions(art, chain):
    assert ok(art("lineage", "model:latest")) == (
        "model:v0\n"
        f"├── produced by {TRAIN}\n"
        "│   └── used data:v0\n"
        f"└── used by {EVAL}\n"
        "    └── produced report:v0\n"
    )


def test_text_up_down_and_depth(art, chain):
    assert ok(art("lineage", "report", "--up")) == (
        f"report:v0\n└── produced by {EVAL}\n    └── used model:v0\n"
        f"        └── produced by {TRAIN}\n            └── used data:v0\n"
    )
    assert ok(art("lineage", "data:v0", "--down", "--depth", "2")) == (
        f"data:v0\n└── used by {TRAIN}\n    └── produced model:v0\n"
    )
    assert ok(art("lineage", "model:v0", "--depth", "0")) == "model:v0\n"


def test_text_from_a_run(art, chain):
    assert ok(art("lineage", "--run", "train")) == (
        f"{TRAIN}\n"
        "├── used data:v0\n"
        "└── produced model:v0\n"
        f"    └── used by {EVAL}\n"
        "        └── produced report:v0\n"
    )
    assert ok(art("lineage", "--run", "evaluate", "--down")) == f"{EVAL}\n└── produced report:v0\n"


def node_link(text: str) -> nx.DiGraph:
    return nx.node_link_graph(json.loads(text), edges="edges")


def labelled_edges(graph: nx.DiGraph) -> set[tuple[str, str, str]]:
    label = nx.get_node_attributes(graph, "label")
    return {(label[a], label[b], d["kind"]) for a, b, d in graph.edges(data=True)}


def test_json_formats(art, chain):
    from_flag = node_link(ok(art("lineage", "model:v0", "--up", "--json")))
    from_format = node_link(ok(art("lineage", "model:v0", "--up", "-F", "json")))
    expected = {("data:v0", TRAIN, "used"), (TRAIN, "model:v0", "produced")}
    assert labelled_edges(from_flag) == labelled_edges(from_format) == expected
    assert from_flag.graph["direction"] == "up"
    kinds = nx.get_node_attributes(from_flag, "kind")
    assert sorted(kinds.values()) == ["run", "version", "version"]


def test_graphml(art, chain):
    text = ok(art("lineage", "model:v0", "--format", "graphml"))
    ET.fromstring(text)  # well-formed XML
    graph = nx.parse_graphml(text)
    assert len(graph.nodes) == 5
    assert labelled_edges(graph) == {
        ("data:v0", TRAIN, "used"),
        (TRAIN, "model:v0", "produced"),
        ("model:v0", EVAL, "used"),
        (EVAL, "report:v0", "produced"),
    }


def test_dot(art, chain):
    text = ok(art("lineage", "model:v0", "--up", "--format", "dot"))
    assert text.startswith("digraph lineage {\n") and text.rstrip().endswith("}")
    assert '"r:train" [label="p/train (train)", shape=ellipse];' in text
    assert 'label="model:v0", shape=box, penwidth=2];' in text
    assert text.count(" -> ") == 2
    assert '[label="used"]' in text and '[label="produced"]' in text


def test_mermaid(art, chain):
    text = ok(art("lineage", "model:v0", "--up", "--format", "mermaid"))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    n0["model:v0"]' in lines
    assert sum("-->|used|" in line for line in lines) == 1
    assert sum("-->|produced|" in line for line in lines) == 1
    assert "    class n0 root" in lines


@pytest.mark.parametrize("fmt", ["text", "json", "graphml", "dot", "mermaid"])
def test_output_file(art, chain, tmp_path, fmt):
    out = tmp_path / f"lineage.{fmt}"
    result = art("lineage", "model:v0", "-F", fmt, "-o", str(out))
    assert ok(result) == ""
    assert f"wrote {fmt} lineage of 5 nodes to {out}" in result.stderr
    written = out.read_text(encoding="utf-8")
    assert written.endswith("\n")
    assert written.rstrip("\n") == ok(art("lineage", "model:v0", "-F", fmt)).rstrip("\n")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope:latest"], "nope"),
        (["model:v7"], "v7"),
        (["model:prod"], "prod"),
        (["bad name"], "bad name"),
        (["--run", "ghost"], "ghost"),
        ([], "name one version"),
        (["model:v0", "--run", "train"], "name one version"),
    ],
)
def test_errors_are_one_line_exit_2(art, chain, args, needle):
    assert needle in one_error_line(art("lineage", *args))


def test_json_error_also_writes_json_to_stderr(art, chain):
    result = art("lineage", "nope", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    first, second = result.stderr.splitlines()
    assert first.startswith("art: ")
    assert json.loads(second)["code"] == 2


def test_lineage_uses_the_store_option(art, chain, tmp_path):
    empty = str(tmp_path / "empty")
    Store.init(empty).close()
    assert "data" in one_error_line(art("lineage", "data", store=empty))
    assert ok(art("lineage", "data", store=chain)).startswith("data:v0\n")
