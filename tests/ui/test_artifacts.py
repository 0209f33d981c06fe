"""The artifacts routes over a small store: pages, JSON, downloads, diff, and hostile input."""

from __future__ import annotations

import hashlib
import json
import os
import re
from html import unescape
from typing import Any

import pytest

from artstore.artifacts import Store
from artstore.artifacts.lookup import every_alias
from artstore.serialize import diff_json, version_json
from artstore.storage import Kind
from tests.ui import artifact_store
from tests.ui.artifact_store import CSP, Built, check_error

built, client = artifact_store.built, artifact_store.client  # the module's fixtures

pytest.importorskip("starlette")


def ok(response: Any, kind: str = "text/html") -> Any:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith(kind)
    assert response.headers["content-security-policy"].startswith(CSP)
    return response


def test_the_list_shows_every_artifact_with_its_aliases(client: Any) -> None:
    html = ok(client.get("/artifacts")).text
    assert 'href="/artifacts/dataset"' in html and 'href="/artifacts/model"' in html
    assert "golden: v1" in html
    document = ok(client.get("/api/artifacts"), "application/json").json()
    by_name = {a["name"]: a for a in document["artifacts"]}
    assert by_name["dataset"]["aliases"] == {"golden": "v1", "latest": "v1"}
    assert by_name["model"]["versions"] == 2 and by_name["model"]["type"] == "model"


def test_every_alias_is_read_in_one_query_as_the_versions_hold_them(built: Built) -> None:
    with Store(built.url) as store:
        expected = {
            info.name: {a: v.number for v in store.versions(info.name) for a in v.aliases}
            for info in store.artifacts()
        }
        assert every_alias(store.repository) == expected
        assert expected["dataset"] == {"golden": 1, "latest": 1}


def test_an_artifact_shows_its_versions_and_alias_history(client: Any, built: Built) -> None:
    html = ok(client.get("/artifacts/model")).text
    assert f'href="/runs/{built.run_id}"' in html  # the producing run
    assert 'href="/artifacts/model/v1"' in html and "new bytes" in html.lower()
    document = ok(client.get("/api/artifacts/dataset"), "application/json").json()
    assert document["artifact"]["name"] == "dataset"
    with Store(built.url) as store:
        assert document["versions"] == [version_json(v) for v in store.versions("dataset")]
    moves = [(m["alias"], m["from"], m["to"]) for m in document["alias_history"]]
    assert ("golden", "v0", "v1") in moves
    assert "new split" in ok(client.get("/artifacts/dataset")).text


def test_a_version_browses_its_folders(client: Any) -> None:
    html = ok(client.get("/artifacts/dataset/v0")).text
    assert 'data-folder="train"' in html and 'data-path="README.md"' in html
    assert 'href="/lineage?ref=dataset%3Av0"' in html
    inside = ok(client.get("/artifacts/dataset/v0?dir=train")).text
    assert 'data-path="train/a.csv"' in inside and 'data-path="README.md"' not in inside
    assert 'href="/artifacts/dataset/v0/files/train/a.csv"' in inside
    assert "Diff against" not in html
    later = ok(client.get("/artifacts/dataset/golden")).text  # an alias names a version
    assert "dataset:v1" in later and 'href="/diff?a=dataset:v0&amp;b=dataset%3Av1"' in later


def test_a_version_marks_files_stored_in_pieces(client: Any) -> None:
    document = ok(client.get("/api/artifacts/model/v0"), "application/json").json()
    files = {f["path"]: f for f in document["files"]}
    assert files["big.bin"]["chunks"] > 1 and files["weights.safetensors"]["chunks"] == 0
    assert document["version"]["name"] == "model" and document["version"]["files"] == 2
    html = ok(client.get("/artifacts/model/v0")).text
    assert f"{files['big.bin']['chunks']} pieces" in html and "whole" in html


def test_a_file_downloads_byte_identical(client: Any, built: Built) -> None:
    small = ok(client.get("/artifacts/dataset/v1/files/train/a.csv"), "application/octet-stream")
    assert small.content == b"x,y\n1,2\n5,6\n"
    assert small.headers["content-disposition"] == "attachment; filename*=UTF-8''a.csv"
    big = ok(client.get("/artifacts/model/v0/files/big.bin"), "application/octet-stream")
    assert hashlib.sha256(big.content).digest() == hashlib.sha256(built.big).digest()
    assert big.headers["content-length"] == str(len(built.big))


def test_a_file_with_url_characters_in_its_name_downloads_from_its_link(client: Any) -> None:
    html = ok(client.get("/artifacts/dataset/v1")).text
    (href,) = re.findall(r'<a class="download" href="([^"]+)"[^>]*>odd', html)
    assert "#" not in href and "?" not in href
    response = ok(client.get(unescape(href)), "application/octet-stream")
    assert response.content == b"odd\n"


def test_a_damaged_small_file_is_refused_in_one_line(client: Any, built: Built) -> None:
    with Store(built.url) as store:
        entry = store.artifact("dataset:v0").manifest().entries["README.md"]
        path = store.blobs.path(Kind.BLOB, entry.digest)
    with open(path, "rb") as f:
        original = f.read()
    os.chmod(path, 0o644)
    try:
        with open(path, "wb") as f:
            f.write(b"not the dataset\n")
        response = client.get("/artifacts/dataset/v0/files/README.md")
        assert response.status_code == 500
        assert "README.md" in response.text and "Traceback" not in response.text
        assert response.headers["content-security-policy"].startswith(CSP)
    finally:
        with open(path, "wb") as f:
            f.write(original)


def test_a_damaged_large_file_is_cut_short(client: Any, built: Built) -> None:
    with Store(built.url) as store:
        entry = store.artifact("model:v0").manifest().entries["big.bin"]
        path = store.blobs.path(Kind.BLOB, entry.chunks[-2].digest)
    with open(path, "rb") as f:
        original = f.read()
    os.chmod(path, 0o644)
    try:
        with open(path, "wb") as f:
            f.write(bytes(len(original)))
        head = client.head("/artifacts/model/v0/files/big.bin")  # reads nothing
        assert head.status_code == 200 and head.headers["content-length"] == str(entry.size)
        response = client.get("/artifacts/model/v0/files/big.bin")
        assert len(response.content) < int(response.headers["content-length"]) == entry.size
    finally:
        with open(path, "wb") as f:
            f.write(original)


def test_the_diff_of_two_versions(client: Any, built: Built) -> None:
    html = ok(client.get("/diff?a=dataset:v0&b=dataset:v1")).text
    assert "1 added" in html and "1 removed" in html and "1 changed" in html
    document = ok(client.get("/api/diff?a=dataset:v0&b=dataset:v1"), "application/json").json()
    with Store(built.url) as store:
        assert document == json.loads(json.dumps(diff_json(store.diff("dataset:v0", "dataset:v1"))))
    tensors = ok(client.get("/api/diff?a=model:v0&b=model"), "application/json").json()
    (changed,) = tensors["tensors"]
    assert changed["path"] == "weights.safetensors"
    assert [c["name"] for c in changed["changes"]] == ["w"]
    assert "weights.safetensors" in ok(client.get("/diff?a=model:v0&b=model:v1")).text
    assert ok(client.get("/diff")).text.count("<form") == 1  # the empty form


def test_a_diff_side_is_never_a_folder_of_the_server(client: Any, built: Built) -> None:
    folder = str(built.folder / "data")
    response = client.get("/api/diff", params={"a": folder, "b": "dataset:v0"})
    assert response.status_code == 400
    assert "invalid" in response.json()["error"]


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/artifacts/nothing", 404, "nothing"),
        ("/api/artifacts/nothing", 404, "nothing"),
        ("/artifacts/dataset/v9", 404, "v9"),
        ("/artifacts/dataset/nosuchalias", 404, "nosuchalias"),
        ("/api/artifacts/dataset/v9", 404, "v9"),
        ("/artifacts/dataset/v0/files/missing.txt", 404, "missing.txt"),
        ("/artifacts/dataset/v0?dir=nowhere", 404, "nowhere"),
        ("/api/diff?a=dataset:v0&b=dataset:v7", 404, "v7"),
        ("/api/diff?a=dataset:v0", 400, "two versions"),
        ("/artifacts/bad%20name", 400, "invalid"),
        ("/api/artifacts/%3Cscript%3E", 400, "invalid"),
        ("/artifacts/dataset/v0:x", 400, "invalid"),
        ("/artifacts/dataset/v0/files/..%2F..%2Fcatalog.db", 400, ".."),
        ("/artifacts/dataset/v0/files/train/..%2F..%2F..%2Fetc%2Fpasswd", 400, ".."),
        ("/artifacts/dataset/v0/files/%2Fetc%2Fpasswd", 400, "relative"),
        ("/artifacts/dataset/v0/files/a%5Cb", 400, "backslash"),
        ("/artifacts/dataset/v0/files/a%00b", 400, "NUL"),
        ("/artifacts/dataset/v0?dir=..", 400, ".."),
    ],
)
def test_missing_and_hostile_input_answers_in_one_line(
    client: Any, url: str, status: int, words: str
) -> None:
    check_error(client, url, status, words)


@pytest.mark.parametrize(
    "url",
    [
        "/artifacts",
        "/api/artifacts",
        "/artifacts/dataset/v0",
        "/api/diff",
        "/diff",
        "/artifacts/dataset/v0/files/README.md",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_is_allowed(client: Any, url: str, method: str) -> None:
    response = client.request(method, url)
    assert response.status_code == 405
    assert response.headers["content-security-policy"].startswith(CSP)


def test_hostile_text_is_escaped_on_artifact_pages(client: Any) -> None:
    for url in ("/artifacts/model", "/artifacts/model/v0", "/artifacts", "/artifacts/dataset/v0"):
        assert "<script>alert" not in ok(client.get(url)).text
    html = ok(client.get("/artifacts/dataset/v0")).text
    assert "metadata.source" in html and "&lt;script&gt;alert(" in html


def test_a_big_folder_is_shown_a_page_at_a_time(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("artstore.ui.artifacts.PAGE_ROWS", 2)
    first = ok(client.get("/artifacts/dataset/v1")).text
    assert 'data-folder="test"' in first and 'data-folder="train"' in first
    assert 'data-path="README.md"' not in first
    assert 'href="/artifacts/dataset/v1?dir=&amp;offset=2"' in first
    second = ok(client.get("/artifacts/dataset/v1?dir=&offset=2")).text
    assert 'data-path="README.md"' in second and "data-folder" not in second
    assert "Entries 3-4 of 4" in second
    monkeypatch.setattr("artstore.ui.artifacts.PAGE_ROWS", 1)
    versions = ok(client.get("/artifacts/dataset")).text
    assert "The newest 1 of 2 versions" in versions and 'data-version="v0"' not in versions
