"""``art runs [ls]|show|log``: listing with filters, one run in detail, its console."""

from __future__ import annotations

import json

import pytest
from click.testing import Result

import artstore
from artstore.artifacts import Artifact, Store
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


@pytest.fixture
def runs(store_url, tmp_path):
    """Three runs: a (vision, lr 0.1, acc 0.9, tag x), b (vision, lr 0.01, acc 0.4, tag y, failed),
    c (nlp, lr 0.1, acc 0.7, tag x), a using data:v0 and producing model:v0."""
    with Store(store_url) as store:
        data = Artifact("data", "dataset")
        data.add_dir(make_folder(tmp_path / "data", {"a.csv": b"1"}))
        store.log_artifact(data)
    make_folder(tmp_path / "model", {"w.bin": b"w"})
    specs = [
        ("a", "vision", 0.1, 0.9, "x", 0),
        ("b", "vision", 0.01, 0.4, "y", 2),
        ("c", "nlp", 0.1, 0.7, "x", 0),
    ]
    for run_id, project, lr, acc, tag, code in specs:
        run = artstore.init(
            store=store_url,
            id=run_id,
            project=project,
            name=f"run-{run_id}",
            config={"lr": lr},
            tags=[tag],
            **FAST,
        )
        run.log({"acc": acc})
        print(f"hello from {run_id}")
        if run_id == "a":
            run.use_artifact("data:latest")
            model = Artifact("model", "model")
            model.add_dir(tmp_path / "model")
            run.log_artifact(model)
        run.finish(exit_code=code)
    return store_url


def listed(result: Result) -> list[str]:
    return [r["id"] for r in json_out(result)]


def test_runs_alone_lists_runs(art, runs):
    bare, ls = art("runs"), art("runs", "ls")
    assert bare.exit_code == 0, bare.stderr
    assert bare.stdout == ls.stdout
    lines = bare.stdout.splitlines()
    assert lines[0].split() == ["ID", "PROJECT", "NAME", "STATE", "CREATED", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == ["c", "b", "a"]
    row_b = next(line for line in lines if line.startswith("b "))
    assert "vision" in row_b and "run-b" in row_b and "failed" in row_b and "acc=0.4" in row_b


def test_runs_ls_json(art, runs):
    data = json_out(art("runs", "--json"))
    assert [r["id"] for r in data] == ["c", "b", "a"]
    a = data[2]
    assert (a["project"], a["name"], a["state"], a["exit_code"]) == (
        "vision",
        "run-a",
        "finished",
        0,
    )
    assert (a["config"], a["summary"], a["tags"]) == ({"lr": 0.1}, {"acc": 0.9}, ["x"])
    assert ISO_Z.fullmatch(a["created_at"]) and ISO_Z.fullmatch(a["finished_at"])
    assert {"host", "python", "command", "git_commit", "git_dirty", "user", "notes"} <= set(a)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--project", "vision"], ["b", "a"]),
        (["-p", "nlp"], ["c"]),
        (["--filter", "config.lr=0.1"], ["c", "a"]),
        (["--filter", "summary.acc>0.5"], ["c", "a"]),
        (["--filter", "summary.acc>=0.7", "--filter", "summary.acc<0.8"], ["c"]),
        (["--filter", "summary.acc<=0.4"], ["b"]),
        (["--filter", "config.lr!=0.1"], ["b"]),
        (["--filter", "state=failed"], ["b"]),
        (["--filter", "tags=x"], ["c", "a"]),
        (["--filter", "name=run-b"], ["b"]),
        (["--project", "vision", "--filter", "config.lr=0.1", "-f", "summary.acc>0.5"], ["a"]),
    ],
)
def test_runs_ls_filters(art, runs, args, expected):
    assert listed(art("runs", "ls", *args, "--json")) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-f", '{"$or": [{"state": "failed"}, {"project": "nlp"}]}'], ["c", "b"]),
        (["-f", '{"$nor": [{"tags": "x"}]}'], ["b"]),
        (
            ["-f", "config.lr=0.1", "-f", '{"$or": [{"project": "nlp"}, {"name": "run-a"}]}'],
            ["c", "a"],
        ),
        (["-f", '{"$or": [{"id": "a"}]}', "-f", '{"$or": [{"id": "b"}]}'], []),
    ],
)
def test_runs_ls_json_filters_take_logical_operators(art, runs, args, expected):
    assert listed(art("runs", "ls", *args, "--json")) == expected


@pytest.mark.parametrize(
    ("flt", "needle"),
    [
        ('{"$or": ', "is not a JSON object"),
        ('{"$or": {"state": "failed"}}', "$or takes a list of filters"),
    ],
)
def test_runs_ls_bad_json_filter_is_one_line(art, runs, flt, needle):
    assert needle in one_error_line(art("runs", "ls", "--filter", flt))


def test_runs_ls_text_filter(art, runs):
    result = art("runs", "ls", "--filter", "summary.acc>0.5", "--project", "vision")
    assert result.exit_code == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["a"]


@pytest.mark.parametrize(
    ("flt", "needle"),
    [("nonsense", "--filter takes KEY=VALUE"), ("color=red", "cannot filter runs on 'color'")],
)
def test_runs_ls_bad_filter_is_one_line(art, runs, flt, needle):
    assert needle in one_error_line(art("runs", "ls", "--filter", flt))


def test_runs_show_json_lists_used_and_produced(art, runs):
    a = json_out(art("runs", "show", "a", "--json"))
    assert (a["id"], a["state"], a["config"]) == ("a", "finished", {"lr": 0.1})
    assert (a["used"], a["produced"]) == (["data:v0"], ["model:v0"])
    b = json_out(art("runs", "show", "b", "--json"))
    assert (b["state"], b["exit_code"], b["used"], b["produced"]) == ("failed", 2, [], [])


def test_runs_show_text(art, runs):
    result = art("runs", "show", "a")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("run a  vision/run-a  finished\n")
    assert "exit code 0" in out
    assert "  lr: 0.1\n" in out and "  acc: 0.9\n" in out
    assert "used:     data:v0\n" in out and "produced: model:v0\n" in out
    assert "tags      x" in out


def test_runs_log_prints_the_console(art, runs):
    result = art("runs", "log", "b")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "hello from b\n"


@pytest.mark.parametrize("command", ["show", "log"])
def test_unknown_run_is_one_line_exit_2(art, runs, command):
    assert "no run with id 'zzz'" in one_error_line(art("runs", command, "zzz"))


def test_runs_of_an_empty_store(art):
    assert json_out(art("runs", "--json")) == []
    result = art("runs")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("ID")


def test_runs_ls_tags_filter_takes_only_equality(art, runs):
    assert "tags=NAME" in one_error_line(art("runs", "ls", "--filter", "tags!=x"))


def test_nan_and_infinities_print_as_valid_json(art, store_url):
    with artstore.init(store=store_url, config={"clip": float("inf")}, **FAST) as run:
        run.log({"loss": float("nan"), "gain": float("-inf")})
    for args in (["runs", "--json"], ["runs", "show", run.id, "--json"]):
        result = art(*args)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout, parse_constant=lambda token: pytest.fail(token))
        found = data[0] if isinstance(data, list) else data
        assert found["summary"] == {"loss": "NaN", "gain": "-Infinity"}
        assert found["config"] == {"clip": "Infinity"}
    shown = art("runs", "show", run.id)
    assert "  loss: NaN" in shown.stdout  # the text form shows the value as Python reads it
