"""Runs and artifacts: the dataset -> run -> model chain, and re-logging unchanged content."""

from __future__ import annotations

from artstore.lineage import to_text
from tests.tracker.conftest import log_files, make_artifact


def test_dataset_run_model_chain(start, store, tmp_path):
    data = log_files(store, "data", {"train.csv": b"1,2\n"}, tmp_path / "data")
    with start(project="mnist", name="train") as run:
        used = run.use_artifact("data:latest")
        assert used.digest == data.digest
        run.log({"loss": 0.1})
        model = run.log_artifact(
            make_artifact("model", {"w.bin": b"weights"}, tmp_path / "m", type="model"),
            aliases=["candidate"],
        )
    assert model is not None and model.created
    assert model.created_by == run.id
    assert store.artifact("model:candidate").digest == model.digest

    graph = store.lineage("model:latest", direction="up")
    labels = {node.id: node.label for node in graph.nodes}
    edges = {(labels[src], labels[dst], kind) for src, dst, kind in graph.edges}
    run_label = f"mnist/train ({run.id})"
    assert edges == {("data:v0", run_label, "used"), (run_label, "model:v0", "produced")}
    assert to_text(graph) == f"model:v0\n└── produced by {run_label}\n    └── used data:v0\n"

    down = store.lineage("data:v0", direction="down")
    assert {n.label for n in down.nodes} == {"data:v0", run_label, "model:v0"}
    by_run = store.lineage(run_id=run.id)
    assert {n.label for n in by_run.nodes} == {"data:v0", run_label, "model:v0"}

    info = store.run(run.id)
    assert [v.qualified_name for v in info.used()] == ["data:v0"]
    assert [v.qualified_name for v in info.produced()] == ["model:v0"]


def test_use_artifact_takes_a_version_object(start, store, tmp_path):
    data = log_files(store, "data", {"a": b"a"}, tmp_path / "d")
    with start() as run:
        assert run.use_artifact(data).digest == data.digest
    assert [v.qualified_name for v in store.run(run.id).used()] == ["data:v0"]


def test_relogging_identical_content_from_a_new_run_returns_that_version(start, store, tmp_path):
    files = {"w.bin": b"same weights"}
    with start(id="first") as first:
        v0 = first.log_artifact(make_artifact("model", files, tmp_path / "a", type="model"))
    with start(id="second") as second:
        again = second.log_artifact(
            make_artifact("model", files, tmp_path / "b", type="model"), aliases=["best"]
        )
    assert v0 is not None and again is not None
    assert v0.created and not again.created
    assert (again.version, again.digest) == ("v0", v0.digest)
    assert again.created_by == "first"
    assert [v.version for v in store.versions("model")] == ["v0"]
    stored = store.artifact("model:latest")
    assert stored.created_by == "first"
    assert "best" in stored.aliases
    for run_id in ("first", "second"):
        assert [v.qualified_name for v in store.run(run_id).produced()] == ["model:v0"]
    up = store.lineage("model:v0", direction="up")
    assert {n.id for n in up.nodes if n.kind == "run"} == {"r:first", "r:second"}


def test_content_equal_to_an_older_version_makes_a_new_version(start, store, tmp_path):
    with start() as run:
        a = run.log_artifact(make_artifact("m", {"w": b"A"}, tmp_path / "a", type="model"))
        b = run.log_artifact(make_artifact("m", {"w": b"B"}, tmp_path / "b", type="model"))
        c = run.log_artifact(make_artifact("m", {"w": b"A"}, tmp_path / "c", type="model"))
    assert [x.version for x in (a, b, c)] == ["v0", "v1", "v2"]
    assert c.created and c.digest == a.digest
