"""The runs pages in chromium: the table sorts, filters and selects; charts draw one series per
selected run on a canvas that is not blank; a live run's chart gains points while another
process logs; an image panel shows an image; no page logs a console error."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from artstore.artifacts import Store
from tests.ui.conftest import METRIC_KEYS, READY_TIMEOUT_MS, UiStore, canvas_drawn, screenshot

pytestmark = pytest.mark.slow


def wait_until(page: Any, predicate: str, timeout_ms: int = READY_TIMEOUT_MS) -> None:
    """Poll ``predicate`` (a JS function) until it returns true. Polled from here: Playwright's
    own wait_for_function evaluates its predicate with eval, which the UI's CSP forbids."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        page.wait_for_timeout(30)


def wait_ready(page: Any) -> None:
    wait_until(page, "() => document.documentElement.dataset.ready === '1'")


def open_ready(page: Any, url: str) -> None:
    page.goto(url)
    wait_ready(page)


def rows(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#runs tbody tr[data-run]", "rows => rows.map(r => r.dataset.run)"
    )
    return ids


def names(page: Any) -> list[str]:
    found: list[str] = page.eval_on_selector_all(
        "#runs tbody tr[data-run]", "rows => rows.map(r => r.dataset.name)"
    )
    return found


def test_projects_lead_to_the_runs_table(page, ui_server, ui_store: UiStore):
    open_ready(page, ui_server + "/")
    page.click("text=vision")
    wait_ready(page)
    assert set(rows(page)) == set(ui_store.runs["vision"])
    screenshot(page, "projects-runs")


def test_runs_table_sorts_and_filters(page, ui_server, ui_store: UiStore):
    open_ready(page, ui_server + "/projects/vision?col=config.lr&col=metric.train/loss.min")
    page.click("th[data-column='config.lr'] a")
    page.wait_for_selector("th.sorted-desc[data-column='config.lr']")
    assert [n for n in names(page) if n.startswith("vision-")] == [
        "vision-0",
        "vision-1",
        "vision-2",
    ]
    page.click("th[data-column='config.lr'] a")
    page.wait_for_selector("th.sorted-asc[data-column='config.lr']")
    assert [n for n in names(page) if n.startswith("vision-")] == [
        "vision-2",
        "vision-1",
        "vision-0",
    ]
    page.fill("#runs-filter input[name=filter]", "config.lr>=0.001 tags=ui-test")
    page.click("#runs-filter button[type=submit] >> nth=0")
    wait_until(page, "() => document.querySelectorAll('#runs tbody tr').length === 2")
    assert sorted(names(page)) == ["vision-0", "vision-1"]
    assert names(page) == ["vision-1", "vision-0"], "the filter keeps the sort"
    assert page.locator("th.sorted-asc[data-column='config.lr']").count() == 1


def test_selected_runs_drive_the_charts(page, ui_server, ui_store: UiStore):
    open_ready(page, ui_server + "/projects/vision")
    first, second = ui_store.runs["vision"][:2]
    page.check(f"tr[data-run='{first}'] input.select-run")
    wait_ready(page)
    page.check(f"tr[data-run='{second}'] input.select-run")
    wait_until(
        page,
        "() => document.querySelector(\".chart[data-key='train/loss']\")?.dataset.series === '2'",
    )
    wait_ready(page)
    chart = page.locator(".chart[data-key='train/loss']")
    assert int(chart.get_attribute("data-points")) == 2 * 120
    assert canvas_drawn(page, ".chart[data-key='train/loss']") > 50
    assert set(page.eval_on_selector_all(".chart", "c => c.map(e => e.dataset.key)")) >= set(
        METRIC_KEYS
    )
    assert f"select={first}" in page.url.replace("%2C", ",")
    screenshot(page, "project-charts")


def test_compare_overlays_one_series_per_run_and_diffs_the_config(
    page, ui_server, ui_store: UiStore
):
    ids = ui_store.runs["vision"][:3]
    open_ready(page, ui_server + "/compare?runs=" + ",".join(ids))
    for key in METRIC_KEYS:
        chart = page.locator(f".chart[data-key='{key}']")
        assert chart.get_attribute("data-series") == "3"
    assert canvas_drawn(page, ".chart[data-key='val/acc']") > 50
    diff_keys = page.eval_on_selector_all(
        "#config-diff tbody td code", "c => c.map(e => e.textContent)"
    )
    assert "lr" in diff_keys and "optimizer" not in diff_keys, "only the keys that differ"
    page.select_option("#x-axis", "wall")
    wait_ready(page)
    assert page.locator(".chart[data-key='val/acc']").get_attribute("data-series") == "3"
    screenshot(page, "compare")


def test_run_page_shows_charts_media_console_files_and_alerts(page, ui_server, ui_store):
    open_ready(page, ui_server + f"/runs/{ui_store.media_run}")
    headings = page.eval_on_selector_all(".chart-group h2", "h => h.map(e => e.textContent)")
    assert headings[:3] == ["charts", "train/", "val/"]
    assert canvas_drawn(page, ".chart[data-key='train/loss']") > 50
    image = page.locator(".media img").first
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#files a").count() >= 1
    assert page.locator("#alerts tbody tr").count() >= 1
    wait_until(page, "() => document.getElementById('console').textContent.length > 0")
    screenshot(page, "run")


def test_every_runs_page_loads_without_console_errors(page, ui_server, ui_store):
    run = ui_store.trainer
    for path in ("/", "/projects/text", f"/runs/{run}", f"/compare?runs={run}"):
        open_ready(page, ui_server + path)
    page.goto(ui_server + f"/runs/{run}")
    wait_ready(page)
    assert page.locator("#produced a").count() == 1


_LOGGER = textwrap.dedent(
    """
    import sys, time
    import artstore
    run = artstore.init(project="live", name="live", store=sys.argv[1], flush_interval=0.05,
                        capture_console=False)
    print(run.id, flush=True)
    step = 0
    while True:
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        step += 1
        time.sleep(0.02)
        if step > 3000:
            break
    run.finish()
    """
)


def test_a_live_runs_chart_gains_points_while_it_logs(page, tmp_path):
    url = str(tmp_path / "store")
    with logging_run(_LOGGER, url) as (_, run_id), served(url) as base:
        time.sleep(0.5)
        open_ready(page, f"{base}/runs/{run_id}")
        chart = ".chart[data-key='loss']"
        before = int(page.locator(chart).get_attribute("data-points"))
        wait_until(
            page,
            f'() => Number(document.querySelector("{chart}").dataset.points) > {before}',
        )
        assert canvas_drawn(page, chart) > 20


@contextlib.contextmanager
def served(url: str) -> Iterator[str]:
    """The UI over the store at ``url``, opened read-only and served on a free loopback port
    in a thread of this process; yields its base URL."""
    uvicorn = pytest.importorskip("uvicorn")
    import threading

    from artstore.ui.app import create_app
    from tests.ui.conftest import free_port

    store = Store(url, read_only=True)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@contextlib.contextmanager
def logging_run(script: str, url: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``script`` run on a new store at ``url``: (the process, the run id it prints first)."""
    Store.init(url).close()
    logger = subprocess.Popen(
        [sys.executable, "-c", script, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert logger.stdout is not None
        yield logger, logger.stdout.readline().strip()
    finally:
        logger.kill()
        logger.wait()


def go_on(logger: subprocess.Popen[str]) -> None:
    """Tell a logging run to go on to its next part."""
    assert logger.stdin is not None
    logger.stdin.write("\n")
    logger.stdin.flush()


_EDGES = textwrap.dedent(
    """
    import math, sys
    import artstore
    run = artstore.init(project="edges", name="edges", store=sys.argv[1], capture_console=False)
    for step in range(200):
        wild = math.inf if step == 50 else (-math.inf if step == 120 else math.sin(step / 9))
        run.log({"wild": wild, "noisy": math.sin(step / 5) + (step % 2)}, step=step)
    run.log({"one": 0.5}, step=200)
    run.finish()
    print(run.id, flush=True)
    """
)


@pytest.fixture
def edges_server(tmp_path):
    """A store holding one finished run with an infinite value, a one-point key and a noisy
    key, served on a free port; yields (base URL, run id)."""
    url = str(tmp_path / "store")
    Store.init(url).close()
    made = subprocess.run(
        [sys.executable, "-c", _EDGES, url], capture_output=True, text=True, check=True
    )
    with served(url) as base:
        yield base, made.stdout.split()[-1]


def test_an_infinite_value_and_a_one_point_key_still_draw(page, edges_server):
    base, run_id = edges_server
    open_ready(page, f"{base}/runs/{run_id}")
    wild = page.locator(".chart[data-key='wild']")
    assert wild.get_attribute("data-points") == "198"
    assert "2 non-finite values not drawn" in wild.locator(".note").inner_text()
    assert canvas_drawn(page, ".chart[data-key='wild']") > 50
    assert page.locator(".chart[data-key='one']").get_attribute("data-points") == "1"
    assert canvas_drawn(page, ".chart[data-key='one']") > 0


def test_smoothing_changes_the_drawn_line(page, edges_server):
    base, run_id = edges_server
    open_ready(page, f"{base}/runs/{run_id}")
    picture = """() => document.querySelector(".chart[data-key='noisy'] canvas").toDataURL()"""
    raw = page.evaluate(picture)
    page.locator("#smoothing").fill("0.9")
    smoothed = page.evaluate(picture)
    assert smoothed != raw
    page.locator("#smoothing").fill("0")
    assert page.evaluate(picture) == raw


def _started(project: str, steps: int) -> str:
    # A run logging ``steps`` points of loss, printing its id, then waiting for the test.
    return textwrap.dedent(
        f"""
        import sys, time
        import artstore
        run = artstore.init(project="{project}", name="{project}", store=sys.argv[1],
                            flush_interval=0.05, capture_console=False)
        for step in range({steps}):
            run.log({{"loss": 1.0 / (step + 1)}}, step=step)
        time.sleep(0.5)
        print(run.id, flush=True)
        sys.stdin.readline()
        """
    )


_FINISH = "sys.stdin.readline()\nrun.finish()\n"  # when the test says so

# A new key when the test says so, then finish.
_LATE_KEY = (
    _started("late", 100)
    + textwrap.dedent(
        """
    for step in range(100, 200):
        run.log({"loss": 1.0 / (step + 1), "late": float(step)}, step=step)
    """
    )
    + _FINISH
)


def test_a_running_runs_new_key_gets_a_chart_and_its_state_follows(page, tmp_path):
    url = str(tmp_path / "store")
    with logging_run(_LATE_KEY, url) as (logger, run_id), served(url) as base:
        open_ready(page, f"{base}/runs/{run_id}")
        assert page.locator(".chart[data-key='late']").count() == 0
        go_on(logger)
        late = ".chart[data-key='late']"
        wait_until(page, f'() => Number(document.querySelector("{late}")?.dataset.points) > 0')
        assert page.locator("#run-state").inner_text() == "running"
        go_on(logger)
        wait_until(page, "() => document.getElementById('run-state').textContent === 'finished'")


# More points than a chart asks for, in one write.
_BURST = (
    _started("burst", 300)
    + textwrap.dedent(
        """
    from artstore.lineage import Catalog, MetricRecord
    rows = [MetricRecord(run.id, s, "loss", 1.0 / (s + 1), None, time.time())
            for s in range(300, 20_300)]
    with Catalog.open(f"sqlite:///{sys.argv[1]}/catalog.db") as catalog:
        catalog.runs.write_batch(run.id, rows, [], {})
    """
    )
    + _FINISH
)


def test_a_poll_bringing_many_points_keeps_the_downsampled_note(page, tmp_path):
    url = str(tmp_path / "store")
    with logging_run(_BURST, url) as (logger, run_id), served(url) as base:
        open_ready(page, f"{base}/runs/{run_id}")
        note = ".chart[data-key='loss'] .note"
        assert page.locator(note).inner_text() == ""
        go_on(logger)
        wait_until(
            page, f'() => document.querySelector("{note}").textContent.includes("20300 points")'
        )
        assert "min and max of each of" in page.locator(note).inner_text()
