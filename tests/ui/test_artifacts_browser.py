"""The artifacts pages in a real browser: every page loads clean, and a file downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Store
from tests.ui.conftest import UiStore, screenshot, wait_ready

PAGES = [
    ("/artifacts", "artifacts"),
    ("/artifacts/dataset", "artifact"),
    ("/artifacts/model/v0", "version"),
    ("/artifacts/dataset/v0", None),
    ("/diff?a=dataset:v0&b=model:v0", "diff"),
    ("/diff", None),
]


@pytest.mark.parametrize(("path", "picture"), PAGES)
def test_every_artifacts_page_loads_without_errors(
    page: Any, ui_server: str, path: str, picture: str | None
) -> None:
    response = page.goto(ui_server + path)
    assert response is not None and response.status == 200
    wait_ready(page)
    assert page.locator("main h1").count() == 1
    if picture:
        screenshot(page, picture)


def test_the_list_links_to_an_artifact_and_on_to_a_version(page: Any, ui_server: str) -> None:
    page.goto(ui_server + "/artifacts")
    wait_ready(page)
    page.click('tr[data-artifact="model"] a[href="/artifacts/model"]')
    page.wait_for_url("**/artifacts/model")
    page.click('tr[data-version="v0"] a[href="/artifacts/model/v0"]')
    page.wait_for_url("**/artifacts/model/v0")
    wait_ready(page)
    assert "pieces" in page.inner_text('tr[data-path="model.safetensors"]')


def test_the_file_browser_downloads_a_file(
    page: Any, ui_server: str, ui_store: UiStore, tmp_path: Path
) -> None:
    page.goto(ui_server + "/artifacts/model/v0")
    wait_ready(page)
    with page.expect_download() as event:
        page.click('tr[data-path="model.safetensors"] a.download')
    saved = tmp_path / "got.safetensors"
    event.value.save_as(saved)
    with Store(ui_store.url, read_only=True) as store:
        expected = store.artifact("model:v0").file("model.safetensors", tmp_path / "get")
        assert saved.read_bytes() == expected.read_bytes()


def test_folders_open_in_the_browser(page: Any, ui_server: str) -> None:
    page.goto(ui_server + "/artifacts/dataset/v0")
    wait_ready(page)
    assert page.locator('tr.file[data-path="train.csv"]').count() == 1
    with page.expect_download() as event:
        page.click('tr[data-path="README.md"] a.download')
    assert event.value.suggested_filename == "README.md"
