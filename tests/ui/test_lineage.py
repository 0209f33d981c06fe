"""The lineage page and ``/api/lineage`` over a small store."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from artstore.artifacts import Store
from artstore.serialize import lineage_text
from tests.ui import artifact_store
from tests.ui.artifact_store import CSP, HOSTILE_RUN_NAME, Built, check_error

built, client = artifact_store.built, artifact_store.client  # the module's fixtures

pytest.importorskip("starlette")

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def test_the_page_draws_the_graph_with_links(client: Any, built: Built) -> None:
    response = client.get("/lineage?ref=model:v0")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith(CSP)
    html = response.text
    assert "<script>alert" not in html and "style=" not in html
    svg = svg_of(html)
    links = {a.get("data-node"): a.get("href") for a in svg.iter(f"{SVG}a")}
    assert links[f"r:{built.run_id}"] == f"/runs/{built.run_id}"
    assert "/artifacts/model/v0" in links.values() and "/artifacts/dataset/v1" in links.values()
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert any(HOSTILE_RUN_NAME in (t or "") for t in titles)
    focus = [a.get("href") for a in svg.iter(f"{SVG}a") if "focus" in (a.get("class") or "")]
    assert focus == ["/artifacts/model/v0"]
    assert '<link rel="stylesheet" href="/static/lineage.css">' in html


def test_a_run_and_a_direction(client: Any, built: Built) -> None:
    html = client.get(f"/lineage?run={built.run_id}&direction=up").text
    hrefs = {a.get("href") for a in svg_of(html).iter(f"{SVG}a")}
    assert hrefs == {f"/runs/{built.run_id}", "/artifacts/dataset/v1"}


def test_the_api_is_the_cli_document_with_places(client: Any, built: Built) -> None:
    response = client.get("/api/lineage?ref=model:v0&depth=1")
    assert response.status_code == 200
    document = response.json()
    with Store(built.url) as store:
        cli = json.loads(lineage_text(store.lineage("model:v0", depth=1)))
    placed = {"x", "y", "width", "height", "column", "row"}
    for node, expected in zip(document["nodes"], cli["nodes"], strict=True):
        assert {k: v for k, v in node.items() if k not in placed} == expected
        assert placed <= node.keys()
    assert document["edges"] == cli["edges"] and document["graph"] == cli["graph"]
    assert document["layout"]["width"] > 0
    column = {n["id"]: n["column"] for n in document["nodes"]}
    for edge in document["edges"]:
        assert column[edge["source"]] < column[edge["target"]]


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/lineage", 400, "?ref="),
        ("/api/lineage?ref=model:v0&run=x", 400, "?ref="),
        ("/lineage?ref=model:v9", 404, "v9"),
        ("/api/lineage?run=nosuchrun", 404, "nosuchrun"),
        ("/api/lineage?ref=%3Cscript%3E", 400, "invalid"),
        ("/api/lineage?run=..%2Fx", 400, "invalid"),
        ("/api/lineage?ref=model&direction=sideways", 400, "sideways"),
        ("/api/lineage?ref=model&depth=-1", 400, "depth"),
        ("/api/lineage?ref=model&depth=many", 400, "depth"),
    ],
)
def test_bad_queries_answer_in_one_line(client: Any, url: str, status: int, words: str) -> None:
    check_error(client, url, status, words)


@pytest.mark.parametrize("url", ["/lineage?ref=model", "/api/lineage?ref=model"])
def test_only_get_is_allowed(client: Any, url: str) -> None:
    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405
