"""The browser test set-up works: the store it browses holds what the page tests need, the app is
served with its security headers, and a page's console errors, exceptions and failed requests
really fail a test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tests.ui.conftest as ui
from artstore.artifacts import Store
from tests.ui.conftest import (
    METRIC_KEYS,
    STEPS,
    PageProblems,
    UiStore,
    canvas_drawn,
    png_size,
    screenshot,
    wait_ready,
)


def test_the_store_holds_every_kind_of_record_the_pages_show(ui_store: UiStore) -> None:
    with Store(ui_store.url, read_only=True) as store:
        assert sorted(ui_store.runs) == ["text", "vision"]
        assert sum(len(ids) for ids in ui_store.runs.values()) >= 6
        media = store.run(ui_store.media_run)
        history = media.history()
        assert len(history) >= STEPS >= 100
        assert set(METRIC_KEYS) <= set(history[-1])
        assert media.config["optimizer"] == "adam" and "best_val_acc" in media.summary
        assert {"samples", "weights", "predictions"} <= set(media.media_counts())
        assert "epoch 2: loss 0.52" in media.console()
        assert [f.name for f in media.files()] == ["notes.txt"]
        assert [a.title for a in media.alerts()] == ["val/acc plateaued"]
        # The lineage dataset -> run -> model, the model's weights stored in pieces.
        trainer = store.run(ui_store.trainer)
        assert [v.qualified_name for v in trainer.used()] == [ui_store.dataset]
        assert [v.qualified_name for v in trainer.produced()] == [ui_store.model]
        model = store.artifact(ui_store.model)
        weights = next(f for f in model.files() if f.path == "model.safetensors")
        assert weights.size > 8 * 1024 * 1024 and len(weights.blob_refs()) > 1


def test_the_app_is_served_with_its_security_headers(page: Any, ui_server: str) -> None:
    response = page.goto(ui_server + "/")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    wait_ready(page)


def test_console_errors_exceptions_and_failed_requests_fail_a_test(
    browser: Any, ui_server: str
) -> None:
    context = browser.new_context()
    try:
        problems = PageProblems()
        clean = context.new_page()
        problems.attach(clean)
        clean.goto(ui_server + "/")
        wait_ready(clean)
        problems.check()  # a page without problems passes

        page = context.new_page()
        problems.attach(page)
        page.goto(ui_server + "/")
        page.evaluate("console.error('boom from the page')")
        page.evaluate("setTimeout(() => { throw new Error('kaboom'); }, 0)")
        page.evaluate("fetch('/static/no-such-file.js').catch(() => {})")
        page.wait_for_timeout(200)
        with pytest.raises(pytest.fail.Exception) as failed:
            problems.check()
        message = str(failed.value)
        assert "console error: boom from the page" in message
        assert "page error: " in message and "kaboom" in message
        assert "HTTP 404: GET " + ui_server + "/static/no-such-file.js" in message
    finally:
        context.close()


def test_canvas_drawn_tells_a_drawn_chart_from_axes_alone(page: Any) -> None:
    page.set_content("<div class='chart'><canvas width='200' height='100'></canvas></div>")
    assert canvas_drawn(page, ".chart") == 0
    # Grey axes and grid lines, as uPlot draws them, do not count.
    page.evaluate(
        """() => { const c = document.querySelector('canvas').getContext('2d');
                   c.strokeStyle = 'rgba(0,0,0,0.5)'; c.strokeRect(10, 10, 180, 80); }"""
    )
    assert canvas_drawn(page, ".chart") == 0
    page.evaluate(
        """() => { const c = document.querySelector('canvas').getContext('2d');
                   c.strokeStyle = '#1f77b4'; c.lineWidth = 2; c.beginPath();
                   c.moveTo(10, 90); c.lineTo(190, 10); c.stroke(); }"""
    )
    assert canvas_drawn(page, ".chart") > 100
    assert canvas_drawn(page, ".missing") == -1


def test_screenshots_are_kept_only_when_asked(
    page: Any, ui_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui, "SCREENSHOT_DIR", tmp_path / "images")
    page.goto(ui_server + "/")
    wait_ready(page)
    monkeypatch.delenv(ui.SCREENSHOTS_ENV, raising=False)
    assert screenshot(page, "projects") is None
    monkeypatch.setenv(ui.SCREENSHOTS_ENV, "1")
    kept = screenshot(page, "projects")
    assert kept == tmp_path / "images" / "projects.png"
    assert png_size(kept)[0] == 1280
