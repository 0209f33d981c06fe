"""The lineage page in a real browser: the picture is drawn and its nodes are links."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import UiStore, screenshot, wait_ready


def test_a_run_node_opens_the_run_page(page: Any, ui_server: str, ui_store: UiStore) -> None:
    page.goto(ui_server + "/lineage?ref=" + ui_store.model)
    wait_ready(page)
    nodes = page.locator("svg.lineage a.node")
    assert nodes.count() == 3
    box = page.locator("svg.lineage a.node.focus rect").bounding_box()
    assert box is not None and box["width"] > 100  # drawn, at the stylesheet's size
    screenshot(page, "lineage")
    page.click(f'svg.lineage a.node[data-node="r:{ui_store.trainer}"]')
    page.wait_for_url(f"**/runs/{ui_store.trainer}")
    wait_ready(page)


def test_a_version_node_opens_the_version_page(
    page: Any, ui_server: str, ui_store: UiStore
) -> None:
    page.goto(f"{ui_server}/lineage?run={ui_store.trainer}")
    wait_ready(page)
    page.click('svg.lineage a.node-version[data-type="dataset"]')
    page.wait_for_url("**/artifacts/dataset/v0")
    wait_ready(page)
    page.click("#lineage-link")
    page.wait_for_url("**/lineage?ref=dataset%3Av0")
    wait_ready(page)
    assert page.locator("svg.lineage a.node.focus").get_attribute("data-node") is not None
