"""``catalog.runs.history_page`` and ``metric_keys``: a run's history a page of steps at a
time, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from artstore.errors import NotFoundError
from artstore.lineage import Catalog, MetricRecord


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    """Run r: loss at steps 0, 2, 4, ..., 18; acc at steps 0, 5, 10, 15; a NaN and a text."""
    with Catalog.open(db_url) as opened:
        opened.runs.create(id="r", project="p", user="u")
        rows = [MetricRecord("r", s, "loss", s / 2, None, 1.0) for s in range(0, 20, 2)]
        rows += [MetricRecord("r", s, "acc", s / 10, None, 1.0) for s in range(0, 20, 5)]
        rows += [
            MetricRecord("r", 7, "odd", None, None, 1.0),
            MetricRecord("r", 7, "phase", None, "eval", 1.0),
        ]
        opened.runs.write_batch("r", rows, [], {})
        yield opened


def steps(rows: list[dict[str, object]]) -> list[object]:
    return [row["_step"] for row in rows]


def test_pages_hold_whole_steps_in_order(catalog):
    keys = catalog.runs.metric_keys("r")
    assert keys == ["acc", "loss", "odd", "phase"]
    assert steps(catalog.runs.history_page("r", keys, 0, None, 3)) == [0, 2, 4]
    page = catalog.runs.history_page("r", keys, 5, None, 3)
    assert steps(page) == [5, 6, 7]
    assert math.isnan(page[2]["odd"]) and page[2]["phase"] == "eval"
    assert page[0] == {"_step": 5, "acc": 0.5}
    assert steps(catalog.runs.history_page("r", keys, 17, None, 3)) == [18]
    assert catalog.runs.history_page("r", keys, 19, None, 3) == []


def test_pages_of_some_keys_and_a_step_range(catalog):
    assert steps(catalog.runs.history_page("r", ["acc"], 0, None, 100)) == [0, 5, 10, 15]
    page = catalog.runs.history_page("r", ["acc", "loss"], 9, 15, 100)
    assert page == [
        {"_step": 10, "loss": 5.0, "acc": 1.0},
        {"_step": 12, "loss": 6.0},
        {"_step": 14, "loss": 7.0},
    ]
    assert catalog.runs.history_page("r", [], 0, None, 10) == []
    assert catalog.runs.history_page("r", ["absent"], 0, None, 10) == []


def test_an_unknown_run_is_not_found(catalog):
    with pytest.raises(NotFoundError):
        catalog.runs.history_page("nope", ["loss"], 0, None, 10)
    with pytest.raises(NotFoundError):
        catalog.runs.metric_keys("nope")
