"""Reading runs back: ``Store.runs`` filters, ``Store.run``, ``RunInfo.history``."""

from __future__ import annotations

import sys

import pytest

from artstore.artifacts import RunInfo
from artstore.errors import ConfigError, InvalidArgumentError, NotFoundError, UserError
from artstore.serialize import run_json


@pytest.fixture
def four_runs(start, store):
    """a: lr 0.1 acc 0.9 tag x finished; b: lr 0.1 acc 0.4 tag x finished;
    c: lr 0.01 acc 0.8 tag y finished; d: lr 0.1 acc 0.95 tag x failed; e: other project."""
    specs = [
        ("a", "vision", 0.1, 0.9, ["x"], 0),
        ("b", "vision", 0.1, 0.4, ["x", "z"], 0),
        ("c", "vision", 0.01, 0.8, ["y"], 0),
        ("d", "vision", 0.1, 0.95, ["x"], 1),
        ("e", "nlp", 0.1, 0.99, ["x"], 0),
    ]
    for run_id, project, lr, acc, tags, code in specs:
        run = start(
            id=run_id, project=project, config={"lr": lr, "opt": {"name": "adam"}}, tags=tags
        )
        run.log({"acc": acc})
        run.finish(exit_code=code)
    return store


def ids(runs: list[RunInfo]) -> list[str]:
    return sorted(r.id for r in runs)


def test_filters_combine(four_runs):
    found = four_runs.runs(
        project="vision",
        filters={"config.lr": 0.1, "summary.acc": {"$gt": 0.5}, "state": "finished", "tags": "x"},
    )
    assert ids(found) == ["a"]


@pytest.mark.parametrize(
    ("project", "filters", "expected"),
    [
        (None, {}, ["a", "b", "c", "d", "e"]),
        ("vision", {}, ["a", "b", "c", "d"]),
        ("nlp", {}, ["e"]),
        ("none-such", {}, []),
        ("vision", {"config.lr": 0.1}, ["a", "b", "d"]),
        ("vision", {"config.opt.name": "adam"}, ["a", "b", "c", "d"]),
        ("vision", {"config.missing": 1}, []),
        ("vision", {"summary.acc": {"$gt": 0.5}}, ["a", "c", "d"]),
        ("vision", {"summary.acc": {"$gte": 0.8, "$lt": 0.95}}, ["a", "c"]),
        ("vision", {"summary.acc": {"$lte": 0.4}}, ["b"]),
        ("vision", {"summary.acc": {"$ne": 0.4}}, ["a", "c", "d"]),
        ("vision", {"config.lr": {"$in": [0.01, 0.5]}}, ["c"]),
        ("vision", {"config.lr": {"$nin": [0.01]}}, ["a", "b", "d"]),
        ("vision", {"state": "failed"}, ["d"]),
        ("vision", {"state": "finished"}, ["a", "b", "c"]),
        ("vision", {"tags": "z"}, ["b"]),
        ("vision", {"tags": {"$in": ["y", "z"]}}, ["b", "c"]),
        (None, {"project": "nlp"}, ["e"]),
        (None, {"id": "c"}, ["c"]),
    ],
)
def test_each_filter(four_runs, project, filters, expected):
    assert ids(four_runs.runs(project=project, filters=filters)) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"$or": [{"config.lr": 0.01}, {"summary.acc": {"$lt": 0.5}}]}, ["b", "c"]),
        ({"$and": [{"config.lr": 0.1}, {"state": "finished"}]}, ["a", "b"]),
        ({"$nor": [{"config.lr": 0.1}]}, ["c"]),
        ({"$or": [{"$and": [{"tags": "x"}, {"state": "failed"}]}, {"id": "c"}]}, ["c", "d"]),
        ({"state": "finished", "$nor": [{"tags": "y"}, {"summary.acc": {"$lt": 0.5}}]}, ["a"]),
        ({"$or": []}, []),
        ({"$and": []}, ["a", "b", "c", "d"]),
    ],
)
def test_logical_operators_combine_filters(four_runs, filters, expected):
    assert ids(four_runs.runs(project="vision", filters=filters)) == expected


@pytest.mark.parametrize("condition", [{"state": "finished"}, ["state"], "x"])
def test_a_logical_operator_takes_a_list_of_filters(four_runs, condition):
    with pytest.raises(InvalidArgumentError, match=r"\$or takes a list of filters"):
        four_runs.runs(filters={"$or": condition})


def test_runs_are_newest_first(four_runs):
    assert [r.id for r in four_runs.runs()] == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [({"color": "red"}, "cannot filter runs on 'color'"), ({"config.lr": {"$near": 1}}, "$near")],
)
def test_bad_filters_are_user_errors(four_runs, filters, message):
    with pytest.raises(UserError) as caught:
        four_runs.runs(filters=filters)
    assert message in str(caught.value)


def test_run_of_an_unknown_id(store):
    with pytest.raises(NotFoundError, match="no run with id 'nope'"):
        store.run("nope")


def test_run_info_fields(four_runs):
    info = four_runs.run("d")
    assert (info.id, info.project, info.state) == ("d", "vision", "failed")
    assert info.config == {"lr": 0.1, "opt": {"name": "adam"}}
    assert info.summary == {"acc": 0.95}
    assert info.tags == ["x"]
    data = run_json(info)
    assert (data["id"], data["state"], data["exit_code"]) == ("d", "failed", 1)
    assert data["created_at"].endswith("Z") and data["finished_at"].endswith("Z")


@pytest.fixture
def logged(start, store):
    run = start(id="h")
    run.log({"loss": 1.0, "acc": 0.1})
    run.log({"acc": 0.2})
    run.log({"loss": 0.5, "lr": 0.01, "phase": "warm"})
    run.finish()
    return store.run("h")


def test_history_rows(logged):
    assert logged.history() == [
        {"_step": 0, "loss": 1.0, "acc": 0.1},
        {"_step": 1, "acc": 0.2},
        {"_step": 2, "loss": 0.5, "lr": 0.01, "phase": "warm"},
    ]


def test_history_keys_selects_columns_and_rows(logged):
    assert logged.history(keys=["loss"]) == [
        {"_step": 0, "loss": 1.0},
        {"_step": 2, "loss": 0.5},
    ]
    assert logged.history(keys=["lr", "phase"]) == [{"_step": 2, "lr": 0.01, "phase": "warm"}]
    assert logged.history(keys=["nothing"]) == []


def test_history_pandas_without_pandas_is_a_config_error(logged, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ConfigError, match="pip install pandas"):
        logged.history(pandas=True)


def test_history_pandas_returns_a_dataframe(logged):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    frame = logged.history(keys=["loss"], pandas=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["_step"]) == [0, 2]
    assert list(frame["loss"]) == [1.0, 0.5]


def test_media_reads_the_one_step_it_names(start, store, monkeypatch):
    import artstore
    from artstore.lineage.catalog_runs import CatalogRuns

    run = start(project="m")
    for step in range(3):
        run.log({"page": artstore.Html(f"<p>{step}</p>"), "loss": float(step)}, step=step)
    run.log({"page": 0.5}, step=3)  # a number under the key is not media
    run.finish()

    def whole(*args, **kwargs):
        raise AssertionError("read the whole history")

    monkeypatch.setattr(CatalogRuns, "history", whole)
    monkeypatch.setattr(CatalogRuns, "history_page", whole)
    info = store.run(run.id)
    assert info.media("page", 1).read().startswith(b"<p>1</p>")
    last = info.media("page")
    assert last.step == 2 and last.read().startswith(b"<p>2</p>")
    with pytest.raises(NotFoundError, match="no media under 'page' at step 3"):
        info.media("page", 3)
    with pytest.raises(NotFoundError, match="no media under 'loss' at any step"):
        info.media("loss")
