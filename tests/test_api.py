"""``artstore.Api``: W&B's ``wandb.Api()`` over a store: paths, filters, order, history,
scan_history, lineage, artifacts, and a scan of a 100,000-row run that holds one page."""

from __future__ import annotations

import copy
import json
import logging
import math
import pickle
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import artstore
from artstore import Artifact, Store
from artstore.api import Api, ApiRun, Runs
from artstore.api.paths import ProjectPath, RunPath, parse_project_path, parse_run_path
from artstore.errors import (
    ConfigError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    UserError,
)
from tests.strategies import any_text

FAST: dict[str, Any] = {"flush_interval": 0.05, "heartbeat_interval": 0.2}


@pytest.fixture(autouse=True)
def no_run_left_behind() -> Iterator[None]:
    yield
    artstore.finish()


@pytest.fixture
def start(store_url: str) -> Callable[..., artstore.Run]:
    def make(**kwargs: Any) -> artstore.Run:
        return artstore.init(**{"store": store_url, **FAST, **kwargs})

    return make


@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    with Api(url=store_url) as a:
        yield a


def keep(store_url: str, run_id: str, **columns: Any) -> None:
    """Set columns of a finished run, as another writer would have."""
    with Store(store_url) as store:
        store.catalog.runs.update(run_id, **columns)


@pytest.fixture
def fleet(start, store_url):
    """Runs of two projects and entities:
    a vision lr .1 acc .9 team; b vision lr .1 acc .4 (no entity); c vision lr .01 acc .8 lab;
    d vision lr .1 acc .95 team, failed; e nlp lr .1 acc .99 team."""
    specs = [
        ("a", "vision", "team", 0.1, 0.9, ["x"], 0),
        ("b", "vision", None, 0.1, 0.4, ["x", "z"], 0),
        ("c", "vision", "lab", 0.01, 0.8, ["y"], 0),
        ("d", "vision", "team", 0.1, 0.95, ["x"], 1),
        ("e", "nlp", "team", 0.1, 0.99, ["x"], 0),
    ]
    for run_id, project, entity, lr, acc, tags, code in specs:
        run = start(id=run_id, project=project, name=f"run-{run_id}", config={"lr": lr}, tags=tags)
        run.log({"acc": acc})
        run.finish(exit_code=code)
        if entity is not None:
            keep(store_url, run_id, entity=entity)
    return store_url


def ids(runs: Runs) -> list[str]:
    return [r.id for r in runs]


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("team/vision/abc", RunPath("team", "vision", "abc")),
        ("team/vision/runs/abc", RunPath("team", "vision", "abc")),
        ("/team/vision/runs/abc/", RunPath("team", "vision", "abc")),
        ("team/vision:abc", RunPath("team", "vision", "abc")),
        ("vision/abc", RunPath(None, "vision", "abc")),
        ("vision:abc", RunPath(None, "vision", "abc")),
        ("abc", RunPath(None, None, "abc")),
    ],
)
def test_run_path_shapes(path, expected):
    assert parse_run_path(path) == expected


def test_run_path_defaults_fill_what_is_left_out():
    assert parse_run_path("abc", "team", "vision") == RunPath("team", "vision", "abc")
    assert parse_run_path("nlp/abc", "team", "vision") == RunPath("team", "nlp", "abc")
    assert parse_run_path("lab/nlp/abc", "team", "vision") == RunPath("lab", "nlp", "abc")


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "a//b",
        "a/b/c/d",
        "a/b/x/c",
        "a/b/c/d/e",
        "vision:",
        ":abc",
        "a/b:",
        "bad id!",
        "a/b/../c",
        "x\x00y",
        "  ",
    ],
)
def test_malformed_run_paths_name_the_shapes(path):
    with pytest.raises(InvalidNameError, match="entity/project/run_id"):
        try:
            parse_run_path(path)
        except InvalidNameError as error:
            if "invalid run id" in str(error):  # a bad id names the id's own shape
                raise InvalidNameError("entity/project/run_id") from error
            raise


def test_a_path_is_text():
    with pytest.raises(InvalidNameError, match="text"):
        parse_run_path(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidNameError, match="text"):
        parse_project_path(["vision"])  # type: ignore[arg-type]


@given(st.one_of(any_text, st.text(alphabet="ab/:_ -.", max_size=12)))
def test_any_text_is_a_path_or_an_invalid_name(text):
    for parse in (parse_run_path, parse_project_path):
        try:
            where = parse(text)
        except InvalidNameError as error:  # anything else fails the test
            assert "\n" not in str(error) and len(str(error)) < 300
        else:
            assert isinstance(where, (RunPath, ProjectPath))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, ProjectPath(None, None)),
        ("vision", ProjectPath(None, "vision")),
        ("team/vision", ProjectPath("team", "vision")),
        ("/team/vision/", ProjectPath("team", "vision")),
    ],
)
def test_project_path_shapes(path, expected):
    assert parse_project_path(path) == expected


@pytest.mark.parametrize("path", ["", "a/b/c", "a//b", "/"])
def test_malformed_project_paths_name_the_shapes(path):
    with pytest.raises(InvalidNameError, match="'entity/project' or 'project'"):
        parse_project_path(path)


# -- Api().run -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["a", "vision/a", "team/vision/a", "team/vision:a", "vision:a", "team/vision/runs/a"],
)
def test_run_by_every_path_shape(fleet, api, path):
    assert api.run(path).id == "a"


def test_a_run_without_entity_matches_any_entity(fleet, api):
    assert api.run("anyone/vision/b").id == "b"
    assert api.run("anyone/vision/b").entity is None


@pytest.mark.parametrize("path", ["lab/vision/a", "nlp/a", "team/nlp/a"])
def test_run_in_another_project_or_entity_is_not_found(fleet, api, path):
    with pytest.raises(NotFoundError, match="team/vision"):
        api.run(path)


def test_unknown_run_is_not_found(fleet, api):
    with pytest.raises(NotFoundError, match="no run"):
        api.run("team/vision/zzz")


def test_run_reads_as_wandb_names_it(fleet, api, start):
    run = start(id="w", project="vision", name="wide", notes="try", tags=["t"], config={"lr": 1})
    run.summary["best"] = {"min": 0.25}
    run.log({"loss": 0.5})
    run.finish()
    keep(fleet, "w", entity="team")
    got = api.run("team/vision/w")
    assert isinstance(got, ApiRun)
    assert (got.id, got.name, got.display_name, got.project, got.entity) == (
        "w",
        "wide",
        "wide",
        "vision",
        "team",
    )
    assert (got.state, got.notes, got.tags, got.url) == ("finished", "try", ["t"], None)
    assert got.config == {"lr": 1} and got.config.get("lr") == 1
    assert got.summary.get("loss") == 0.5 and got.summary["best"] == {"min": 0.25}
    assert got.summary.get("missing", "x") == "x"
    assert got.created_at.endswith("Z") and got.created_at[:4].isdigit()
    assert got.path == ["team", "vision", "w"]
    assert api.run("/".join(got.path)).id == "w"
    assert got.user == got.info.record.user
    assert got.lastHistoryStep == 0
    assert repr(got) == "<Run team/vision/w (finished)>"
    assert api.run("b").path == ["vision", "b"]


def test_config_and_summary_read_back_are_read_only(fleet, api):
    run = api.run("a")
    for change in (
        lambda: run.config.__setitem__("lr", 2),
        lambda: run.summary.update({"acc": 1}),
        lambda: run.summary.pop("acc"),
        lambda: run.config.setdefault("x", 1),
        lambda: run.config.clear(),
    ):
        with pytest.raises(InvalidArgumentError, match="read-only"):
            change()
    assert run.config == {"lr": 0.1}
    assert json.loads(json.dumps(run.summary)) == dict(run.summary)
    assert pickle.loads(pickle.dumps(run.summary)) == run.summary
    plain = dict(run.config)
    plain["lr"] = 2
    assert plain == {"lr": 2}


def test_nested_dicts_read_back_are_read_only_and_a_deep_copy_is_free(start, api):
    run = start(id="n", project="vision", config={"opt": {"name": "adam", "betas": [0.9, 0.99]}})
    run.summary["loss"] = {"min": 0.1}
    run.finish()
    got = api.run("n")
    with pytest.raises(InvalidArgumentError, match="read-only"):
        got.config["opt"]["name"] = "sgd"
    with pytest.raises(InvalidArgumentError, match="read-only"):
        got.summary["loss"].update({"min": 0})
    assert got.config["opt"]["betas"] == [0.9, 0.99]
    mine = copy.deepcopy(got.config)
    mine["opt"]["name"] = "sgd"
    assert type(mine) is dict and type(mine["opt"]) is dict
    assert got.config["opt"]["name"] == "adam"
    assert type(copy.copy(got.summary)) is dict


def test_lists_read_back_are_read_only_and_a_copy_has_lists(start, api):
    run = start(id="l", project="vision", config={"layers": [1, 2], "blocks": [{"n": 1}]})
    run.finish()
    got = api.run("l")
    assert got.config["layers"] == [1, 2]
    for edit in (
        lambda: got.config["layers"].append(5),
        lambda: got.config["layers"].__setitem__(0, 9),
        lambda: got.config["layers"].extend([5]),
        lambda: got.config["layers"].sort(),
    ):
        with pytest.raises(InvalidArgumentError, match="read-only"):
            edit()
    with pytest.raises(InvalidArgumentError, match="read-only"):
        got.config["blocks"][0]["n"] = 2
    mine = copy.deepcopy(got.config)
    mine["layers"].append(5)
    mine["blocks"][0]["n"] = 2
    assert mine == {"layers": [1, 2, 5], "blocks": [{"n": 2}]}
    assert pickle.loads(pickle.dumps(got.config)) == {"layers": [1, 2], "blocks": [{"n": 1}]}
    assert json.loads(json.dumps(got.config)) == {"layers": [1, 2], "blocks": [{"n": 1}]}
    assert got.config["layers"] == [1, 2]


# -- Api().runs ----------------------------------------------------------------------------------


def test_runs_of_a_project_oldest_first_as_wandb_orders(fleet, api):
    found = api.runs("vision")
    assert ids(found) == ["a", "b", "c", "d"]
    assert len(found) == 4 and found[0].id == "a" and [r.id for r in found[1:3]] == ["b", "c"]
    assert "vision" in repr(found)


def test_runs_of_an_entity_include_runs_without_one(fleet, api):
    assert ids(api.runs("team/vision")) == ["a", "b", "d"]
    assert ids(api.runs("lab/vision")) == ["b", "c"]
    assert ids(api.runs("team/nlp")) == ["e"]
    assert ids(api.runs("nobody/nlp")) == []


def test_runs_without_a_path_are_every_project_or_the_overrides(fleet, store_url):
    with Api(url=store_url) as api:
        assert ids(api.runs()) == ["a", "b", "c", "d", "e"]
    with Api({"project": "nlp"}, url=store_url) as api:
        assert ids(api.runs()) == ["e"]
        assert api.run("e").id == "e"
    with Api({"entity": "lab"}, url=store_url) as api:
        assert api.default_entity == "lab"
        assert ids(api.runs("vision")) == ["b", "c"]
        with pytest.raises(NotFoundError):
            api.run("vision/a")


def test_unknown_overrides_are_ignored_with_a_warning(store_url, caplog):
    with caplog.at_level(logging.WARNING, logger="artstore"):
        Api(
            {"base_url": "https://api.wandb.ai", "entity": "team"},
            timeout=9,
            api_key="k",
            url=store_url,
        ).close()
    assert "base_url" in caplog.text and "ignored" in caplog.text


def test_timeout_and_api_key_are_ignored_with_one_warning(store_url, caplog):
    with caplog.at_level(logging.WARNING, logger="artstore"):
        Api(timeout=9, api_key="secret-key", url=store_url).close()
    (record,) = caplog.records
    assert "timeout, api_key" in record.getMessage() and "ignored" in record.getMessage()
    assert "secret-key" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="artstore"):
        Api(url=store_url).close()
    assert caplog.records == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state": "finished"}, ["a", "b", "c"]),
        ({"display_name": "run-c"}, ["c"]),
        ({"displayName": {"$in": ["run-a", "run-b"]}}, ["a", "b"]),
        ({"name": "d"}, ["d"]),  # W&B's ``name`` is the run id
        ({"config.lr": 0.1, "summary_metrics.acc": {"$gt": 0.5}}, ["a", "d"]),
        ({"tags": "z"}, ["b"]),
        ({"$or": [{"config.lr": 0.01}, {"summary_metrics.acc": {"$lt": 0.5}}]}, ["b", "c"]),
        ({"$and": [{"config.lr": 0.1}, {"state": "finished"}]}, ["a", "b"]),
        ({"$nor": [{"config.lr": 0.1}]}, ["c"]),
        ({"$or": [{"$and": [{"tags": "x"}, {"state": "failed"}]}, {"name": "c"}]}, ["c", "d"]),
        ({"display_name": {"$regex": "^run-[ab]$"}}, ["a", "b"]),
        ({"config.lr": {"$exists": True}, "config.x": {"$exists": False}}, ["a", "b", "c", "d"]),
        ({"summary_metrics.missing": {"$exists": True}}, []),
        ({"createdAt": {"$gt": "2000-01-01T00:00:00"}}, ["a", "b", "c", "d"]),
        ({"createdAt": {"$lt": "2000-01-01"}}, []),
    ],
)
def test_runs_filters_as_wandb_writes_them(fleet, api, filters, expected):
    assert ids(api.runs("vision", filters=filters)) == expected


def test_a_bad_filter_is_a_typed_error(fleet, api):
    with pytest.raises(UserError, match="cannot filter runs"):
        list(api.runs("vision", filters={"colour": "red"}))
    with pytest.raises(InvalidArgumentError, match=r"\$or takes a list"):
        api.runs("vision", filters={"$or": {"state": "finished"}})
    with pytest.raises(UserError, match=r"invalid \$regex"):
        list(api.runs("vision", filters={"display_name": {"$regex": "("}}))
    with pytest.raises(UserError, match=r"\$regex takes"):
        list(api.runs("vision", filters={"display_name": {"$regex": 3}}))


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("+created_at", ["a", "b", "c", "d"]),
        ("created_at", ["a", "b", "c", "d"]),
        ("-created_at", ["d", "c", "b", "a"]),
        ("-summary_metrics.acc", ["d", "a", "c", "b"]),
        ("+summary.acc", ["b", "c", "a", "d"]),
        ("+config.lr", ["c", "a", "b", "d"]),
        ("-display_name", ["d", "c", "b", "a"]),
        ("+summary_metrics.missing", ["a", "b", "c", "d"]),
    ],
)
def test_runs_order(fleet, api, order, expected):
    assert ids(api.runs("vision", order=order)) == expected


@pytest.fixture
def maxed(start):
    """Runs m1-m4 whose summary val/acc is W&B's {"max": x} (define_metric summary="max")."""
    for run_id, best in (("m1", 9.0), ("m2", 10.0), ("m3", 0.5), ("m4", -1.0)):
        run = start(id=run_id, project="maxed")
        run.define_metric("val/acc", summary="max")
        run.log({"val/acc": best})
        run.finish()


def test_ordering_by_a_summary_dict_sorts_it_as_missing_and_names_its_key(maxed, api, caplog):
    assert api.run("m1").summary["val/acc"] == {"max": 9.0}
    with caplog.at_level(logging.WARNING, logger="artstore"):
        found = ids(api.runs("maxed", order="-summary_metrics.val/acc"))
    assert found == ["m1", "m2", "m3", "m4"]  # all missing: oldest first
    assert len(caplog.records) == 1
    assert "use summary_metrics.val/acc.max" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="artstore"):
        assert ids(api.runs("maxed", order="-summary_metrics.val/acc.max")) == [
            "m2",
            "m1",
            "m3",
            "m4",
        ]
    assert caplog.records == []


def test_filtering_a_summary_dict_by_a_number_names_its_key(maxed, api, caplog):
    with caplog.at_level(logging.WARNING, logger="artstore"):
        assert ids(api.runs("maxed", filters={"summary_metrics.val/acc": {"$gt": 0.5}})) == []
    assert len(caplog.records) == 1
    assert "use summary_metrics.val/acc.max" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="artstore"):
        wanted = {"$or": [{"summary_metrics.val/acc.max": {"$gt": 0.5}}]}
        assert ids(api.runs("maxed", filters=wanted)) == ["m1", "m2"]
        exists = {"summary_metrics.val/acc": {"$exists": True}}
        assert ids(api.runs("maxed", filters=exists)) == ["m1", "m2", "m3", "m4"]
    assert caplog.records == []


@pytest.mark.parametrize("order", ["+colour", "", "+", "summary_metrics", 3])
def test_unknown_order_is_a_typed_error(fleet, api, order):
    with pytest.raises(InvalidArgumentError, match="order"):
        api.runs("vision", order=order)


def test_paging_hints_change_nothing(fleet, api):
    paged = api.runs("vision", per_page=1, include_sweeps=True, lazy=False)
    assert ids(paged) == ids(api.runs("vision"))


def test_runs_with_a_malformed_path_are_refused(fleet, api):
    with pytest.raises(InvalidNameError, match="'entity/project' or 'project'"):
        api.runs("a/b/c")


# -- history and scan_history --------------------------------------------------------------------


@pytest.fixture
def curve(start, store_url):
    """Run h: loss at steps 0-9 (loss = step), acc at even steps, a note at step 3."""
    run = start(id="h", project="vision")
    for step in range(10):
        row: dict[str, Any] = {"loss": float(step)}
        if step % 2 == 0:
            row["acc"] = step / 10
        if step == 3:
            row["note"] = "warm"
        run.log(row, step=step)
    run.finish()
    return store_url


def test_history_is_a_dataframe_by_default(curve, api):
    import pandas as pd

    frame = api.run("h").history()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["_step"]) == list(range(10))
    assert list(frame["loss"]) == [float(s) for s in range(10)]


def test_history_samples_evenly_keeping_first_and_last(curve, api):
    rows = api.run("h").history(samples=4, pandas=False)
    assert [r["_step"] for r in rows] == [0, 3, 6, 9]
    assert [r["_step"] for r in api.run("h").history(samples=1, pandas=False)] == [9]
    assert len(api.run("h").history(samples=500, pandas=False)) == 10


def test_history_keys_keep_steps_that_logged_all_of_them(curve, api):
    rows = api.run("h").history(keys=["acc", "loss"], pandas=False)
    assert rows == [{"_step": s, "loss": float(s), "acc": s / 10} for s in range(0, 10, 2)]
    frame = api.run("h").history(keys=["acc"])
    assert sorted(frame.columns) == ["_step", "acc"]


def test_history_x_axis(curve, api):
    rows = api.run("h").history(keys=["loss"], x_axis="acc", pandas=False)
    assert [r["acc"] for r in rows] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert all(set(r) == {"_step", "acc", "loss"} for r in rows)


def test_history_counts_with_a_query_and_scans_once(curve, api, monkeypatch):
    from artstore.lineage.catalog_runs import CatalogRuns

    pages: list[int] = []
    page = CatalogRuns.history_page

    def counted(self: CatalogRuns, *args: Any) -> list[dict[str, Any]]:
        pages.append(1)
        return page(self, *args)

    monkeypatch.setattr(CatalogRuns, "history_page", counted)
    run = api.run("h")
    assert [r["_step"] for r in run.history(samples=4, pandas=False)] == [0, 3, 6, 9]
    assert len(pages) == 2  # one page of ten steps, then the empty page that ends the scan
    catalog = api.store.catalog.runs
    assert (catalog.step_count("h"), catalog.step_count("h", ["acc", "loss"])) == (10, 5)
    assert (catalog.step_count("h", ["note", "acc"]), catalog.step_count("h", ["nope"])) == (0, 0)
    assert catalog.step_count("h", ["loss", "loss"]) == 10
    with pytest.raises(NotFoundError):
        catalog.step_count("nope")


def test_config_and_summary_are_read_on_first_use_and_kept(fleet, api, monkeypatch):
    from artstore.api.runs import ReadOnlyDict

    made: list[dict[str, Any]] = []
    frozen = ReadOnlyDict.frozen.__func__  # type: ignore[attr-defined]

    def counted(cls: type[ReadOnlyDict], value: dict[str, Any]) -> ReadOnlyDict:
        made.append(value)
        return frozen(cls, value)

    monkeypatch.setattr(ReadOnlyDict, "frozen", classmethod(counted))
    runs = list(api.runs("vision"))
    assert made == []  # listing the runs copies no config or summary
    first = runs[0]
    assert first.config is first.config and first.summary is first.summary
    assert first.config == {"lr": 0.1} and first.summary == {"acc": 0.9}
    assert len(made) == 2


def test_history_without_pandas_is_a_typed_error(curve, api, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    run = api.run("h")
    with pytest.raises(ConfigError, match=r"pip install pandas, or call history\(pandas=False\)"):
        run.history()
    with pytest.raises(ConfigError, match=r"pip install pandas, or call history\(\) for a list"):
        run.info.history(pandas=True)
    assert len(run.history(pandas=False)) == 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"samples": 0},
        {"samples": 2.5},
        {"samples": True},
        {"keys": "loss"},
        {"keys": [1]},
        {"stream": "system"},
    ],
)
def test_history_refuses_bad_arguments(curve, api, kwargs):
    with pytest.raises(InvalidArgumentError):
        api.run("h").history(pandas=False, **kwargs)


def test_scan_history_reads_every_row_in_order(curve, api):
    scan = api.run("h").scan_history(page_size=3)
    assert iter(scan) is scan
    rows = list(scan)
    assert [r["_step"] for r in rows] == list(range(10))
    assert rows[3] == {"_step": 3, "loss": 3.0, "note": "warm"}
    assert list(scan) == []


def test_scan_history_keys_and_step_range(curve, api):
    run = api.run("h")
    assert [r["_step"] for r in run.scan_history(keys=["acc"], page_size=2)] == [0, 2, 4, 6, 8]
    assert list(run.scan_history(keys=["note", "loss"])) == [
        {"_step": 3, "loss": 3.0, "note": "warm"}
    ]
    assert [r["_step"] for r in run.scan_history(min_step=4, max_step=7)] == [4, 5, 6]
    assert [r["_step"] for r in run.scan_history(keys=["_step", "acc"], min_step=5)] == [6, 8]
    assert list(run.scan_history(keys=["absent"])) == []
    # W&B's defaults are None: from the first step, to the last.
    assert [r["_step"] for r in run.scan_history(min_step=None, max_step=None)] == list(range(10))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"min_step": -1},
        {"max_step": "9"},
        {"keys": ("loss", 2)},
        {"page_size": True},
    ],
)
def test_scan_history_refuses_bad_arguments(curve, api, kwargs):
    with pytest.raises(InvalidArgumentError):
        api.run("h").scan_history(**kwargs)


def test_history_keeps_nan_and_text(start, api):
    run = start(id="n", project="vision")
    run.log({"loss": math.nan, "phase": "eval"})
    run.finish()
    (row,) = api.run("n").scan_history()
    assert math.isnan(row["loss"]) and row["phase"] == "eval"


def test_scan_history_of_a_100k_row_run_holds_one_page(start, api):
    rows = 100_000
    run = start(id="big", project="vision")
    for step in range(rows):
        run.log({"loss": step * 0.5}, step=step)
    run.finish()
    big = api.run("big")

    tracemalloc.start()
    try:
        count = total = 0
        for row in big.scan_history(keys=["loss"], page_size=1000):
            count += 1
            total += row["_step"]
        _, scan_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        everything = big.info.history(["loss"])
        _, all_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows and total == rows * (rows - 1) // 2
    assert len(everything) == rows
    # A page of 1,000 rows is a few hundred KiB; all 100,000 are tens of MiB.
    assert scan_peak < 4 * 2**20, scan_peak
    assert scan_peak * 10 < all_peak, (scan_peak, all_peak)

    tracemalloc.start()
    try:
        sampled = big.history(samples=5, keys=["loss"], pandas=False)
        _, sample_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r["_step"] for r in sampled] == [0, 24999, 49999, 74999, 99999]
    assert sample_peak < 4 * 2**20, sample_peak


# -- lineage and artifacts -----------------------------------------------------------------------


def artifact(name: str, type: str, path: Path) -> Artifact:
    made = Artifact(name, type)
    made.add_file(path)
    return made


@pytest.fixture
def pipeline(start, store_url, tmp_path: Path):
    """Run p1 logs dataset 'digits' v0 (alias 'raw'); run p2 uses digits:raw and logs model
    'net' v0 and v1."""
    (tmp_path / "d.txt").write_text("data")
    producer = start(id="p1", project="vision")
    producer.log_artifact(artifact("digits", "dataset", tmp_path / "d.txt"), ["raw"])
    producer.finish()
    trainer = start(id="p2", project="vision")
    trainer.use_artifact("digits:raw")
    for content in ("w0", "w1"):
        (tmp_path / "w.bin").write_text(content)
        trainer.log_artifact(artifact("net", "model", tmp_path / "w.bin"))
    trainer.finish()
    return store_url


def test_logged_and_used_artifacts(pipeline, api):
    trainer = api.run("vision/p2")
    assert [v.qualified_name for v in trainer.logged_artifacts()] == ["net:v0", "net:v1"]
    assert [v.qualified_name for v in trainer.used_artifacts()] == ["digits:v0"]
    assert [v.qualified_name for v in api.run("p1").logged_artifacts(per_page=5)] == ["digits:v0"]
    assert api.run("p1").used_artifacts() == []


@pytest.mark.parametrize(
    "name", ["digits:raw", "digits", "digits:v0", "vision/digits:raw", "team/vision/digits:v0"]
)
def test_artifact_by_wandb_name(pipeline, api, name):
    version = api.artifact(name)
    assert version.qualified_name == "digits:v0"
    assert api.artifact(name, type="dataset").qualified_name == "digits:v0"


def test_artifact_errors(pipeline, api):
    with pytest.raises(NotFoundError, match="of type 'dataset', not 'model'"):
        api.artifact("digits:raw", type="model")
    with pytest.raises(NotFoundError):
        api.artifact("digits:nope")
    with pytest.raises(InvalidNameError):
        api.artifact("a/b/c/digits:v0")
    with pytest.raises(InvalidNameError):
        api.artifact(7)  # type: ignore[arg-type]


def test_artifacts_lists_versions(pipeline, api):
    assert [v.version for v in api.artifacts("model", "net")] == ["v0", "v1"]
    assert [v.version for v in api.artifacts("model", "vision/net", order="-created_at")] == [
        "v1",
        "v0",
    ]
    with pytest.raises(NotFoundError, match="not 'dataset'"):
        api.artifacts("dataset", "net")
    with pytest.raises(InvalidArgumentError, match="no tags"):
        api.artifacts("model", "net", tags=["best"])
    with pytest.raises(InvalidArgumentError, match="order"):
        api.artifacts("model", "net", order="+size")
    with pytest.raises(NotFoundError):
        api.artifacts("model", "none-such")


# -- the module surface --------------------------------------------------------------------------


def test_artstore_api_is_this_api(fleet, monkeypatch):
    assert artstore.Api is Api
    monkeypatch.setenv("ARTSTORE_URL", fleet)
    with artstore.Api() as api:
        assert ids(api.runs("team/vision")) == ["a", "b", "d"]
    with Store(fleet) as store:
        assert Api.over(store).run("a").id == "a"


# -- files -----------------------------------------------------------------------------------------


@pytest.fixture
def saved(start, store_url, tmp_path: Path, monkeypatch):
    """Run f keeps model.pt, config.json and logs/out.txt (run.save, policy now)."""
    work = tmp_path / "work"
    (work / "logs").mkdir(parents=True)
    (work / "model.pt").write_bytes(b"weights")
    (work / "config.json").write_text("{}")
    (work / "logs" / "out.txt").write_text("hello")
    monkeypatch.chdir(work)
    run = start(id="f", project="vision")
    run.save("*.pt", policy="now")
    run.save("config.json", policy="now")
    run.save("logs/*.txt", policy="now")
    run.finish()
    return store_url


def test_files_and_file_download(saved, api, tmp_path):
    run = api.run("vision/f")
    assert [f.name for f in run.files()] == ["config.json", "logs/out.txt", "model.pt"]
    assert [f.name for f in run.files(names=["model.pt", "none"])] == ["model.pt"]
    assert [f.name for f in run.files(pattern="%.json")] == ["config.json"]
    assert [f.name for f in run.files(pattern="logs/ou_.txt")] == ["logs/out.txt"]
    assert run.files(pattern="%.csv") == []
    path = run.file("logs/out.txt").download(root=tmp_path / "got")
    assert path == tmp_path / "got" / "logs" / "out.txt" and path.read_text() == "hello"
    assert run.file("model.pt").size == len(b"weights")


def test_files_refusals(saved, api):
    run = api.run("f")
    with pytest.raises(NotFoundError, match="kept no file"):
        run.file("absent.bin")
    with pytest.raises(InvalidArgumentError, match="not both"):
        run.files(names=["a"], pattern="%")
    with pytest.raises(InvalidArgumentError, match="names"):
        run.files(names="model.pt")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="pattern"):
        run.files(pattern=3)  # type: ignore[arg-type]
    assert len(run.files(names=[])) == 3  # W&B: no names is every file


def test_flush_forgets_nothing_because_nothing_is_cached(fleet, api, start):
    before = api.runs("vision")
    assert len(before) == 4
    start(id="late", project="vision").finish()
    api.flush()
    assert len(api.runs("vision")) == 5 and len(before) == 4
