"""The store marker ``artstore.json``, format versions, and the canonical JSON encoding."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from artstore.errors import NotAStoreError, UnsupportedFormatError
from artstore.storage import (
    FORMAT_CURRENT,
    FORMAT_MAX,
    FORMAT_MIN,
    BlobStore,
    StoreFormat,
    canonical_json,
    init_store,
    open_store,
    parse_format,
)
from artstore.storage.format import parse_marker

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "vectors.json").read_text("utf-8"))


@pytest.fixture(params=["local", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("memory_url"))


def marker_bytes(url: str) -> bytes:
    store = open_store(url)
    return bytes(store.fs.cat_file(f"{store.root}/artstore.json"))


def write_marker(tmp_path: Path, data: object) -> str:
    root = tmp_path / "store"
    root.mkdir()
    raw = data if isinstance(data, bytes) else canonical_json(data)
    (root / "artstore.json").write_bytes(raw)
    return str(root)


def good_marker(**changes: object) -> dict[str, object]:
    marker: dict[str, object] = {
        "created": "2026-01-01T00:00:00Z",
        "fanout": 2,
        "format": 1,
        "hash": "xxh3-128",
        "id": "0123456789abcdef0123456789abcdef",
    }
    marker.update(changes)
    return marker


# -- init --------------------------------------------------------------------------------------


def test_format_constants() -> None:
    assert FORMAT_MIN == FORMAT_MAX == FORMAT_CURRENT == 1


def test_init_writes_a_canonical_marker(url: str) -> None:
    store = init_store(url)
    raw = marker_bytes(url)
    data = json.loads(raw)
    assert data["format"] == 1
    assert data["hash"] == "xxh3-128"
    assert re.fullmatch(r"[0-9a-f]{32}", data["id"])
    assert data["fanout"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["created"])
    assert raw == canonical_json(data)
    assert store.id == data["id"]


def test_init_twice_keeps_the_id_and_the_marker(url: str) -> None:
    first = init_store(url)
    raw = marker_bytes(url)
    second = init_store(url)
    assert second.id == first.id
    assert marker_bytes(url) == raw
    assert open_store(url).id == first.id


def test_each_store_gets_its_own_id(tmp_path: Path) -> None:
    ids = {init_store(str(tmp_path / f"store{i}")).id for i in range(5)}
    assert len(ids) == 5


def test_open_store_reads_the_marker(tmp_path: Path) -> None:
    url = write_marker(tmp_path, good_marker())
    store = open_store(url)
    assert store.id == "0123456789abcdef0123456789abcdef"
    assert store.marker == StoreFormat(
        format=1, hash="xxh3-128", id=store.id, created="2026-01-01T00:00:00Z", fanout=2
    )


def test_marker_encode_parse_round_trip() -> None:
    marker = StoreFormat.new()
    assert parse_marker(marker.encode(), "here") == marker


# -- refusing what is not a store we can read ----------------------------------------------------


@pytest.mark.parametrize("exists", [True, False])
def test_open_without_marker_is_not_a_store(tmp_path: Path, exists: bool) -> None:
    folder = tmp_path / "plain"
    if exists:
        folder.mkdir()
        (folder / "data.csv").write_text("a,b\n")
    with pytest.raises(NotAStoreError) as info:
        open_store(str(folder))
    message = str(info.value)
    assert "art init" in message
    assert str(folder) in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_open_memory_root_without_marker_is_not_a_store(memory_url: str) -> None:
    with pytest.raises(NotAStoreError, match="art init"):
        open_store(memory_url)


@pytest.mark.parametrize("opener", [open_store, init_store])
def test_newer_format_is_refused(tmp_path: Path, opener: Callable[[str], BlobStore]) -> None:
    url = write_marker(tmp_path, good_marker(format=2))
    before = (Path(url) / "artstore.json").read_bytes()
    with pytest.raises(UnsupportedFormatError) as info:
        opener(url)
    message = str(info.value)
    assert re.search(r"\bformat 2\b", message)
    assert re.search(r"\bformats 1\b", message)
    assert "upgrade" in message
    assert "\n" not in message
    assert info.value.exit_code == 2
    # Never a silent rewrite on open.
    assert (Path(url) / "artstore.json").read_bytes() == before


@pytest.mark.parametrize("value", [0, -1, "1", 1.0, 1.5, True, None, [1], 2.0])
def test_invalid_format_values_are_refused(tmp_path: Path, value: object) -> None:
    url = write_marker(tmp_path, good_marker(format=value))
    with pytest.raises(UnsupportedFormatError, match="format"):
        open_store(url)


def test_missing_format_is_refused(tmp_path: Path) -> None:
    marker = good_marker()
    del marker["format"]
    with pytest.raises(UnsupportedFormatError):
        open_store(write_marker(tmp_path, marker))


@pytest.mark.parametrize("hash_name", ["sha256", "xxh3-64", "XXH3-128", None])
def test_unknown_hash_is_refused(tmp_path: Path, hash_name: object) -> None:
    url = write_marker(tmp_path, good_marker(hash=hash_name))
    with pytest.raises(UnsupportedFormatError) as info:
        open_store(url)
    assert repr(hash_name) in str(info.value)
    assert "xxh3-128" in str(info.value)


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"\xff\xfe", b"[1]", b'"store"', b"[" * 100_000, b"1" * 5000],
    ids=["empty", "text", "binary", "list", "string", "deep", "long-integer"],
)
def test_unreadable_marker_is_refused(tmp_path: Path, raw: bytes) -> None:
    with pytest.raises(UnsupportedFormatError):
        open_store(write_marker(tmp_path, raw))


@pytest.mark.parametrize(
    "changes",
    [
        {"id": None},
        {"id": 5},
        {"id": "../../elsewhere"},
        {"id": "0123456789ABCDEF0123456789ABCDEF"},
        {"created": None},
        {"fanout": 3},
        {"fanout": 2.0},
    ],
    ids=["no-id", "int-id", "path-id", "upper-id", "no-created", "fanout-3", "fanout-float"],
)
def test_marker_fields_are_checked(tmp_path: Path, changes: dict[str, object]) -> None:
    marker = {k: v for k, v in good_marker(**changes).items() if v is not None}
    with pytest.raises(UnsupportedFormatError):
        open_store(write_marker(tmp_path, marker))


def test_parse_format_narrows() -> None:
    assert parse_format(1, "x") == 1
    with pytest.raises(UnsupportedFormatError, match="upgrade"):
        parse_format(7, "x")
    with pytest.raises(UnsupportedFormatError) as info:
        parse_format(0, "x")
    assert "upgrade" not in str(info.value)


# -- canonical JSON ----------------------------------------------------------------------------


def test_canonical_json_golden_bytes() -> None:
    value = {"b": 1, "a": ["é", "✓"], "c": {"z": None, "y": True}}
    expected = b'{"a":["\xc3\xa9","\xe2\x9c\x93"],"b":1,"c":{"y":true,"z":null}}'
    assert canonical_json(value) == expected
    assert b"\\u" not in canonical_json(value)
    assert b" " not in canonical_json(value)


@pytest.mark.parametrize("vector", VECTORS["canonical_json"], ids=lambda v: v["name"])
def test_canonical_json_vectors(vector: dict[str, object]) -> None:
    assert canonical_json(vector["value"]) == str(vector["expected"]).encode("utf-8")


def test_canonical_json_ignores_insertion_order() -> None:
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1}) == b'{"a":2,"b":1}'
