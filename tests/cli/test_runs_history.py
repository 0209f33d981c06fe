"""``art runs history`` (table, CSV, JSON) and ``art runs plot`` (a braille line chart)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import artstore
from artstore.lineage.catalog_runs import CatalogRuns
from artstore.serialize import dumps, history_json
from tests.cli.conftest import json_out, one_error_line
from tests.tracker.conftest import FAST

BRAILLE = range(0x2800, 0x2900)


def make_run(store_url: str, steps: list[dict[str, Any]], run_id: str = "r1") -> str:
    """A finished run that logged ``steps[i]`` at step i."""
    with artstore.init(store=store_url, id=run_id, **FAST) as run:
        for values in steps:
            run.log(values)
    return run_id


@pytest.fixture
def mixed(store_url: str) -> str:
    """Steps 0-3: loss every step (NaN at 2), acc at 1 and 3 (inf at 3), note at 0."""
    return make_run(
        store_url,
        [
            {"loss": 0.5, "note": "warm, up"},
            {"loss": 0.25, "acc": 0.1},
            {"loss": math.nan},
            {"loss": 0.125, "acc": math.inf},
        ],
    )


def csv_rows(result: Result) -> list[list[str]]:
    assert result.exit_code == 0, result.stderr
    text = result.stdout_bytes.decode()  # .stdout would turn quoted CRLFs into LFs
    return list(csv.reader(io.StringIO(text, newline="")))


def test_table_shows_every_key_as_a_column(art, mixed):
    result = art("runs", "history", mixed)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["_step", "loss", "note", "acc"]
    assert lines[1].split() == ["0", "0.5", "warm,", "up"]  # text prints as text
    assert lines[2].split() == ["1", "0.25", "0.1"]
    assert lines[3].split() == ["2", "nan"]
    assert lines[4].split() == ["3", "0.125", "inf"]
    assert len(lines[0]) == len(lines[2]) == len(lines[4])  # right-aligned to one width


def test_keys_choose_and_order_the_columns(art, mixed):
    lines = art("runs", "history", mixed, "--keys", "acc,loss").stdout.splitlines()
    assert lines[0].split() == ["_step", "acc", "loss"]
    assert [line.split()[0] for line in lines[1:]] == ["0", "1", "2", "3"]
    only_acc = art("runs", "history", mixed, "-k", "acc").stdout.splitlines()
    assert [line.split() for line in only_acc[1:]] == [["1", "0.1"], ["3", "inf"]]


def test_csv_is_parsed_back_by_the_csv_module(art, mixed):
    rows = csv_rows(art("runs", "history", mixed, "--csv"))
    assert rows == [
        ["_step", "loss", "note", "acc"],
        ["0", "0.5", "warm, up", ""],
        ["1", "0.25", "", "0.1"],
        ["2", "nan", "", ""],
        ["3", "0.125", "", "inf"],
    ]
    out = art("runs", "history", mixed, "--csv", "--keys", "acc").stdout_bytes
    assert out == b"_step,acc\r\n1,0.1\r\n3,inf\r\n"  # RFC 4180 line ends


def test_csv_reads_into_pandas_with_nan_and_inf(art, mixed):
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.BytesIO(art("runs", "history", mixed, "--csv").stdout_bytes))
    assert list(frame.columns) == ["_step", "loss", "note", "acc"]
    assert math.isnan(frame["loss"][2]) and frame["acc"][3] == math.inf
    assert frame["note"][0] == "warm, up"


def test_json_is_one_document_with_null_for_a_step_without_the_key(art, mixed):
    result = art("runs", "history", mixed, "--json")
    document = json.loads(result.stdout, parse_constant=lambda token: pytest.fail(token))
    assert document == json_out(result)
    assert document["run"] == mixed
    assert document["keys"] == ["loss", "note", "acc"]
    assert document["rows"] == [
        {"_step": 0, "loss": 0.5, "note": "warm, up", "acc": None},
        {"_step": 1, "loss": 0.25, "note": None, "acc": 0.1},
        {"_step": 2, "loss": "NaN", "note": None, "acc": None},
        {"_step": 3, "loss": 0.125, "note": None, "acc": "Infinity"},
    ]
    keyed = json_out(art("runs", "history", mixed, "--json", "--keys", "acc"))
    assert keyed["rows"] == [{"_step": 1, "acc": 0.1}, {"_step": 3, "acc": "Infinity"}]


def test_json_equals_the_serializer_byte_for_byte(art, mixed, store_url):
    with artstore.Store(store_url) as store:
        run = store.run(mixed)
        expected = dumps(history_json(run.id, ["loss", "note", "acc"], run.history()))
    assert art("runs", "history", mixed, "--json").stdout == expected + "\n"


def test_a_long_history_streams_in_pieces(art, store_url):
    run_id = make_run(store_url, [{"x": i / 7, "y": i} for i in range(4000)])
    document = json_out(art("runs", "history", run_id, "--json"))
    assert len(document["rows"]) == 4000 and document["rows"][-1]["x"] == 3999 / 7
    rows = csv_rows(art("runs", "history", run_id, "--csv"))
    assert len(rows) == 4001 and float(rows[-1][1]) == 3999 / 7  # past one 64 KiB piece


def test_history_is_read_a_page_at_a_time_in_every_format(art, mixed, store_url):
    late = make_run(store_url, [{"a": 1}, {"a": 2}, {"a": 3}, {"b": 4, "a": 5}], run_id="late")
    with artstore.Store(store_url) as store:
        expected = {
            run_id: dumps(history_json(run_id, keys, store.run(run_id).history()))
            for run_id, keys in ((mixed, ["loss", "note", "acc"]), (late, ["a", "b"]))
        }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("artstore.cli.runs._PAGE", 2)
        asked = []
        real = CatalogRuns.history_page
        patch.setattr(
            CatalogRuns,
            "history_page",
            lambda self, *args: asked.append(args[-1]) or real(self, *args),
        )
        patch.setattr(CatalogRuns, "history", lambda *a, **k: pytest.fail("read whole"))
        for run_id, document in expected.items():
            assert art("runs", "history", run_id, "--json").stdout == document + "\n"
        only_b = art("runs", "history", late, "--keys", "b").stdout.split()
        assert only_b == ["_step", "b", "3", "4"]
        assert csv_rows(art("runs", "history", late, "--csv"))[0] == ["_step", "a", "b"]
        assert len(art("runs", "history", mixed).stdout.splitlines()) == 5
        line = one_error_line(art("runs", "history", mixed, "-k", "loss,bogus"))
        assert "it has: loss, note, acc" in line
        assert asked and set(asked) == {2}


def test_a_run_without_metrics_prints_only_the_step_column(art, store_url):
    run_id = make_run(store_url, [])
    assert art("runs", "history", run_id).stdout.split() == ["_step"]
    assert csv_rows(art("runs", "history", run_id, "--csv")) == [["_step"]]
    assert json_out(art("runs", "history", run_id, "--json")) == {
        "run": run_id,
        "keys": [],
        "rows": [],
    }
    assert "it logged no metrics" in one_error_line(art("runs", "history", run_id, "-k", "x"))


@pytest.mark.parametrize("command", ["history", "plot"])
def test_unknown_run_is_one_line_exit_2(art, mixed, command):
    args = ["runs", command, "zzz"] + (["loss"] if command == "plot" else [])
    assert "no run with id 'zzz'" in one_error_line(art(*args))


@pytest.mark.parametrize(
    "args",
    [["runs", "history", "r1", "--keys", "loss,bogus"], ["runs", "plot", "r1", "loss", "bogus"]],
)
def test_a_key_never_logged_names_the_keys_the_run_has(art, mixed, args):
    line = one_error_line(art(*args))
    assert "never logged 'bogus'" in line and "it has: loss, note, acc" in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--keys", " , "], "--keys takes KEY[,KEY...]"),
    ],
)
def test_bad_history_options_are_one_line(art, mixed, args, needle):
    assert needle in one_error_line(art("runs", "history", mixed, *args))


def test_csv_and_json_together_are_refused(art, mixed):
    result = art("runs", "history", mixed, "--csv", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert (
        result.stderr.splitlines()[0] == "art: --csv and --json print different formats; give one"
    )


def plot_lines(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def dot_rows(char: str) -> set[int]:
    """The rows (0-3, top first) of the dots in one braille character."""
    bits = ord(char) - 0x2800
    masks = {0: 0x01 | 0x08, 1: 0x02 | 0x10, 2: 0x04 | 0x20, 3: 0x40 | 0x80}
    return {row for row, mask in masks.items() if bits & mask}


@pytest.fixture
def wave(store_url: str) -> str:
    """100 steps of a smooth curve with its maximum 9.5 at step 30 and minimum -3 at step 70."""
    steps = [{"loss": math.sin(i / 10)} for i in range(100)]
    steps[30], steps[70] = {"loss": 9.5}, {"loss": -3.0}
    return make_run(store_url, steps)


@pytest.mark.parametrize(("width", "height"), [(60, 10), (20, 2), (133, 25)])
def test_plot_has_the_size_asked_and_its_extremes_on_the_edge_rows(art, wave, width, height):
    lines = plot_lines(
        art("runs", "plot", wave, "loss", "--width", str(width), "--height", str(height))
    )
    title, plot, axis, steps = lines[0], lines[1 : height + 1], lines[height + 1], lines[-1]
    assert len(lines) == height + 3
    assert title.strip() == "loss"
    assert all(len(line) <= width for line in lines)
    assert len(axis) == width and axis.strip().startswith("└")
    assert steps.split() == ["0", "step", "99"]
    margin = axis.index("└")
    assert plot[0].startswith("9.5".rjust(margin - 1) + " ┤")
    assert plot[-1].startswith("-3".rjust(margin - 1) + " ┤")
    top = [c for c in plot[0][margin + 1 :] if ord(c) in BRAILLE and c != "⠀"]
    bottom = [c for c in plot[-1][margin + 1 :] if ord(c) in BRAILLE and c != "⠀"]
    assert any(0 in dot_rows(c) for c in top)  # the maximum on the very top dot row
    assert any(3 in dot_rows(c) for c in bottom)  # the minimum on the very bottom one
    # The spike at step 30 sits about 30% across, not smeared away by the downsampling.
    cols = width - margin - 1
    spike = [i for i, c in enumerate(plot[0][margin + 1 :]) if c in top]
    assert any(abs(i - 0.3 * cols) <= 1 + cols / 50 for i in spike)


def test_plot_width_defaults_to_the_terminal_and_falls_back_to_80(art, wave, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    assert max(len(line) for line in plot_lines(art("runs", "plot", wave, "loss"))) == 50
    monkeypatch.delenv("COLUMNS")

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    lines = plot_lines(art("runs", "plot", wave, "loss"))
    assert max(len(line) for line in lines) == 80 and len(lines) == 15 + 3


def test_plot_skips_nan_and_clips_infinities_and_says_so(art, store_url):
    steps = [{"loss": float(i)} for i in range(10)]
    steps[4], steps[6], steps[8] = {"loss": math.nan}, {"loss": math.inf}, {"loss": -math.inf}
    run_id = make_run(store_url, steps)
    result = art("runs", "plot", run_id, "loss", "--width", "40", "--height", "4")
    lines = plot_lines(result)
    assert lines[1].lstrip().startswith("9 ┤") and lines[4].lstrip().startswith("0 ┤")
    assert "loss: 1 NaN skipped, 2 infinite clipped to the edge" in result.stderr
    quiet = art("--quiet", "runs", "plot", run_id, "loss", "--width", "40")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_plot_overlays_several_keys_on_one_axis(art, store_url):
    run_id = make_run(store_url, [{"a": i, "b": 20 - i} for i in range(21)])
    lines = plot_lines(art("runs", "plot", run_id, "a", "b", "--width", "50", "--height", "6"))
    assert lines[0].strip() == "a, b"  # coloured on a terminal, plain when piped
    assert lines[1].lstrip().startswith("20 ┤") and lines[6].lstrip().startswith("0 ┤")
    body = [line[line.index("┤") + 1 :] if "┤" in line else line for line in lines[1:7]]
    # Both lines cross the whole width: each corner of the plot holds a dot.
    assert body[0][0] != " " and body[0].rstrip()[-1] != " " and body[-1][0] != " "


def test_plot_of_a_constant_draws_a_flat_line(art, store_url):
    run_id = make_run(store_url, [{"c": 2.0}] * 5)
    lines = plot_lines(art("runs", "plot", run_id, "c", "--width", "30", "--height", "4"))
    assert len(lines) == 7 and lines[1].startswith("2 ┤") and lines[4].startswith("2 ┤")
    assert "⠉⠉⠉" in lines[3]  # halfway down: no range to spread it over


@pytest.mark.parametrize(
    ("steps", "needle"),
    [
        ([{"k": "text"}, {"k": 1.0}], "holds text ('text'), not numbers"),
        ([{"k": math.nan}], "holds only NaN"),
    ],
)
def test_plot_of_a_key_without_numbers_is_one_line(art, store_url, steps, needle):
    run_id = make_run(store_url, steps)
    assert needle in one_error_line(art("runs", "plot", run_id, "k"))


@pytest.mark.parametrize("args", [["--width", "5"], ["--height", "1"], []])
def test_plot_refuses_a_size_too_small_and_needs_a_key(art, mixed, args):
    result = art("runs", "plot", mixed, *(args and ["loss", *args]))
    assert result.exit_code == 2


_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(st.tuples(_cells, _cells), min_size=1, max_size=6))
def test_csv_round_trips_floats_nan_inf_and_text(art, store_url, values):
    with artstore.init(store=store_url, **FAST) as run:
        for a, b in values:
            run.log({"a": a, "b": b})
    rows = csv_rows(art("runs", "history", run.id, "--csv"))
    assert rows[0] == ["_step", "a", "b"]
    assert len(rows) == len(values) + 1
    for step, (row, logged) in enumerate(zip(rows[1:], values, strict=True)):
        assert row[0] == str(step)
        for cell, value in zip(row[1:], logged, strict=True):
            if isinstance(value, str):
                assert cell == value
            elif math.isnan(value):
                assert cell == "nan"
            else:
                assert float(cell) == value  # every digit (SQLite keeps no -0.0)
