"""A metric's points for a chart, downsampled in the database (lineage/series.py), and the
dashboard's other reads (lineage/dashboard.py), on SQLite and PostgreSQL; migration 6."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from artstore.errors import ConfigError
from artstore.lineage import SCHEMA_VERSION, Catalog, MetricRecord, migrations

_ids = itertools.count()
T0 = 1_700_000_000.0


def new_run(catalog: Catalog, project: str = "p") -> str:
    run_id = f"s{next(_ids):07d}"
    catalog.runs.create(id=run_id, project=project, user="u")
    return run_id


def log(catalog: Catalog, run_id: str, points: list[tuple[int, float | None]], key="loss"):
    rows = [MetricRecord(run_id, s, key, v, None, T0 + s) for s, v in points]
    catalog.runs.write_batch(run_id, rows, [], {})


def reference(steps: np.ndarray, values: np.ndarray, buckets: int) -> list[tuple[float, float]]:
    """Each bucket's (lowest, highest) value, cut as the query cuts: equal step ranges from
    the first step."""
    first, last = int(steps.min()), int(steps.max())
    width = -(-(last - first + 1) // buckets)
    found = []
    for b in range(-(-(last - first + 1) // width)):
        inside = (steps >= first + b * width) & (steps < first + (b + 1) * width)
        if inside.any():
            found.append((float(values[inside].min()), float(values[inside].max())))
    return found


@pytest.fixture
def catalog(db_url):
    with Catalog.open(db_url) as opened:
        yield opened


series_points = st.lists(
    st.tuples(
        st.integers(0, 5000),
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, width=32)),
    ),
    min_size=0,
    max_size=300,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(points=series_points, budget=st.integers(2, 60))
# A NULL (a NaN logged) after the last number: the buckets span the numbers' steps only.
@example(points=[(0, 0.0), (0, 0.0), (0, 0.5), (2, None), (0, 0.0), (1, 1.0)], budget=4)
def test_downsampling_keeps_every_buckets_extremes_in_step_order(catalog, points, budget):
    run_id = new_run(catalog)
    log(catalog, run_id, points)
    got = catalog.runs.series(run_id, "loss", points=budget)
    numbers = [(s, v) for s, v in points if v is not None]
    assert got.total == len(numbers)
    assert list(got.steps) == sorted(got.steps), "x ordered"
    logged = {(s, v) for s, v in numbers}
    assert all((s, v) in logged for s, v in zip(got.steps, got.ys, strict=True)), "no new point"
    if len(numbers) <= budget:
        assert got.buckets is None
        assert sorted(zip(got.steps, got.ys, strict=True)) == sorted(numbers)
        return
    assert got.buckets is not None and got.buckets <= budget // 2
    assert len(got.ys) <= 2 * got.buckets
    steps = np.array([s for s, _ in numbers])
    values = np.array([v for _, v in numbers])
    kept = np.array(got.ys)
    kept_steps = np.array(got.steps)
    for low, high in reference(steps, values, budget // 2):
        assert low in kept and high in kept, "every bucket keeps its lowest and highest"
    first = int(steps.min())
    width = -(-(int(steps.max()) - first + 1) // (budget // 2))
    for b in set((kept_steps - first) // width):
        inside = (kept_steps - first) // width == b
        assert inside.sum() <= 2, "at most two points a bucket"


def test_a_spike_survives_and_the_x_axis_is_steps_time_or_wall(catalog):
    run_id = new_run(catalog)
    points = [(s, math.sin(s / 50)) for s in range(10_000)]
    points[7777] = (7777, 50.0)
    log(catalog, run_id, points)
    got = catalog.runs.series(run_id, "loss", points=200)
    assert (got.total, got.buckets, got.last_step) == (10_000, 100, 9999)
    assert 50.0 in got.ys and got.steps[got.ys.index(50.0)] == 7777
    created = catalog.runs.get(run_id).created_at.timestamp()
    wall = catalog.runs.series(run_id, "loss", x="wall", points=200)
    assert wall.xs == tuple(T0 + s for s in got.steps)
    time = catalog.runs.series(run_id, "loss", x="time", points=200)
    assert time.xs == pytest.approx([T0 + s - created for s in got.steps])


def test_after_returns_only_newer_points_for_live_polling(catalog):
    run_id = new_run(catalog)
    log(catalog, run_id, [(s, float(s)) for s in range(10)])
    first = catalog.runs.series(run_id, "loss")
    assert first.last_step == 9
    log(catalog, run_id, [(s, float(s)) for s in range(10, 13)])
    newer = catalog.runs.series(run_id, "loss", after=first.last_step)
    assert newer.steps == (10, 11, 12) and newer.last_step == 12
    nothing = catalog.runs.series(run_id, "loss", after=12)
    assert (nothing.steps, nothing.total, nothing.last_step) == ((), 0, None)
    assert catalog.runs.series(run_id, "missing").total == 0


def test_dashboard_reads(catalog):
    a, b = new_run(catalog, "alpha"), new_run(catalog, "beta")
    log(catalog, a, [(0, 3.0), (1, 1.0), (2, 2.0)])
    log(catalog, a, [(0, None)], key="nan_only")
    log(catalog, b, [(5, 7.0)], key="acc")
    assert catalog.runs.projects() == [("alpha", 1), ("beta", 1)]
    assert catalog.runs.numeric_keys([a, b]) == ["acc", "loss"]
    stats = catalog.runs.metric_stats([a, b], ["loss", "acc"])
    assert (stats[a]["loss"].min, stats[a]["loss"].max, stats[a]["loss"].last) == (1.0, 3.0, 2.0)
    assert stats[b]["acc"].last == 7.0 and "loss" not in stats[b]
    catalog.runs.write_batch(
        a, [], [(a, 0, "stdout", "epoch 1 loss\n", T0), (a, 1, "stderr", "Warn\n", T0)], {}
    )
    lines = catalog.runs.console_after(a)
    assert [line.text for line in lines] == ["epoch 1 loss\n", "Warn\n"]
    assert catalog.runs.console_after(a, after=lines[0].position) == lines[1:]
    assert [line.text for line in catalog.runs.console_after(a, contains="WARN")] == ["Warn\n"]
    assert catalog.runs.console_after(a, contains="%") == []


def _schema_5(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        with Catalog.open(url) as catalog:
            run_id = new_run(catalog)
            log(catalog, run_id, [(s, float(s % 7)) for s in range(50)])


def _indexes(url: str) -> list[list[str]]:
    engine = sa.create_engine(url)
    try:
        return [ix["column_names"] for ix in sa.inspect(engine).get_indexes("metrics")]
    finally:
        engine.dispose()


def test_schema_5_migrates_to_6_with_the_value_in_the_metric_index(db_url, monkeypatch):
    _schema_5(db_url, monkeypatch)
    assert _indexes(db_url) == [["run_id", "key", "step"]]
    with pytest.raises(ConfigError, match=r"older than this artstore's .*art ls"):
        Catalog.open(db_url, read_only=True)
    with Catalog.open(db_url) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION >= 6
        (run,) = catalog.runs.newest_first()
        got = catalog.runs.series(run.id, "loss", points=10)
        assert got.total == 50 and max(got.ys) == 6.0
    assert sorted(_indexes(db_url)) == [["run_id", "key"], ["run_id", "key", "step", "value"]]


def test_a_new_catalog_has_the_value_and_media_indexes(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    Catalog.open(url).close()
    assert sorted(_indexes(url)) == [["run_id", "key"], ["run_id", "key", "step", "value"]]
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT key, count(*) FROM metrics "
            "WHERE run_id = 'r' AND media IS NOT NULL GROUP BY key"
        ).all()
    engine.dispose()
    assert "ix_metrics_run_key_media" in str(plan), "media counts read only media rows"


@pytest.mark.parametrize("downsampled", [False, True])
def test_points_a_running_run_writes_during_a_read_wait_for_the_next_poll(db_url, downsampled):
    # A writer commits points right after the read found its last step: on PostgreSQL each
    # statement sees them. None may be sent past last_step (the next poll, after=last_step,
    # would send it again), and the next poll sends each exactly once.
    with Catalog.open(db_url) as reader, Catalog.open(db_url) as writer:
        run_id = new_run(writer)
        log(writer, run_id, [(s, float(s % 7)) for s in range(100)])
        engine = reader.runs._tx._engine
        seeks = []

        def write_after_the_last_seek(conn, cursor, statement, parameters, context, many):
            if "ORDER BY metrics.step DESC" in statement and not seeks:
                seeks.append(statement)
                log(writer, run_id, [(s, 100.0) for s in range(100, 150)])

        sa.event.listen(engine, "after_cursor_execute", write_after_the_last_seek)
        try:
            got = reader.runs.series(run_id, "loss", points=40 if downsampled else 1000)
        finally:
            sa.event.remove(engine, "after_cursor_execute", write_after_the_last_seek)
        assert seeks and got.last_step == 99
        assert max(got.steps) <= got.last_step and 100.0 not in got.ys
        assert got.total == 100
        more = reader.runs.series(run_id, "loss", points=1000, after=got.last_step)
        assert more.steps == tuple(range(100, 150)) and more.last_step == 149


def test_buckets_count_only_those_holding_points(catalog):
    run_id = new_run(catalog)
    log(catalog, run_id, [(s, float(s)) for s in range(10)] + [(1000 + s, 1.0) for s in range(10)])
    got = catalog.runs.series(run_id, "loss", points=10)
    assert got.total == 20 and got.buckets == 2  # 5 buckets of 202 steps, 3 of them empty


def test_infinities_nans_one_point_and_gaps_as_a_chart_gets_them(catalog):
    from artstore.serialize import series_json

    run_id = new_run(catalog)
    inf = float("inf")
    log(catalog, run_id, [(0, 1.0), (1, inf), (2, None), (3, -inf), (4, 2.0)], key="wild")
    log(catalog, run_id, [(7, 0.5)], key="one")
    log(catalog, run_id, [(0, 1.0), (10, 2.0), (1_000_000, 3.0)], key="gaps")
    wild = series_json(catalog.runs.series(run_id, "wild"))
    assert (wild["x"], wild["y"]) == ([0, 1, 3, 4], [1.0, None, None, 2.0])
    assert (wild["points"], wild["non_finite"], wild["last_step"]) == (4, 2, 4)
    one = series_json(catalog.runs.series(run_id, "one"))
    assert (one["x"], one["y"], one["non_finite"], one["last_step"]) == ([7], [0.5], 0, 7)
    gaps = series_json(catalog.runs.series(run_id, "gaps"))
    assert gaps["x"] == [0, 10, 1_000_000] and gaps["downsampled"] is None
    cut = series_json(catalog.runs.series(run_id, "gaps", points=2))
    assert cut["x"] == [0, 1_000_000] and cut["downsampled"] == {"points": 3, "buckets": 1}
    gaps = catalog.runs.series(run_id, "gaps", x="time")
    assert gaps.xs == pytest.approx(
        [T0 + s - catalog.runs.get(run_id).created_at.timestamp() for s in (0, 10, 1_000_000)]
    )
