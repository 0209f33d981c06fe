"""The sweep page in a real browser: it loads with no console error, its SVG has one line per
finished trial, and the trials table links to each trial's run page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from artstore.artifacts import Store
from tests.ui.conftest import free_port, screenshot, wait_ready
from tests.ui.test_sweeps import TRIALS, SweepStore, build


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SweepStore]]:
    """The UI over a store with one finished grid sweep, on a free loopback port."""
    uvicorn = pytest.importorskip("uvicorn")
    from artstore.ui.app import create_app

    built = build(tmp_path_factory.mktemp("ui-sweeps-browser"))
    store = Store(built.url, read_only=True)
    port = free_port()
    config = uvicorn.Config(
        create_app(store, host="127.0.0.1"),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ui-sweeps-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the UI server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", built
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_the_sweep_page_draws_and_links(page: Any, sweep_server: tuple[str, SweepStore]) -> None:
    base, built = sweep_server
    page.goto(base + "/sweeps")
    wait_ready(page)
    page.click(f'tr[data-sweep="{built.sweep_id}"] a[href^="/sweeps/"]')
    page.wait_for_url(f"**/sweeps/{built.sweep_id}")
    wait_ready(page)
    assert page.locator("svg.parallel polyline.trial").count() == TRIALS
    box = page.locator("svg.parallel").bounding_box()
    assert box is not None and box["width"] > 400
    stroke = page.evaluate(
        "() => getComputedStyle(document.querySelector('svg.parallel polyline.trial')).stroke"
    )
    assert stroke.startswith("rgb(")  # coloured by the stylesheet, not black
    assert page.locator("svg.by-trial polyline.best").count() == 1
    screenshot(page, "sweep")
    link = page.locator("#trials tbody tr").first.locator('a[href^="/runs/"]')
    run_id = link.inner_text()
    link.click()
    page.wait_for_url(f"**/runs/{run_id}")
    wait_ready(page)
