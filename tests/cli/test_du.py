"""``art du``: the bytes a store holds (each blob once), unique and shared per artifact."""

from __future__ import annotations

import pytest

from artstore.artifacts import Store
from tests.artifacts.chunked import log_chunked
from tests.cli.conftest import json_out, one_error_line

P1, P2, P3, P4 = b"1" * 1000, b"2" * 200, b"3" * 30, b"4" * 4


@pytest.fixture
def shared(store_url):
    """``model`` v0 = P1+P2, v1 = P1+P4 (chunked); ``other`` = P1+P3 and a whole file P2."""
    with Store(store_url) as store:
        log_chunked(store, "model", {"w.bin": [P1, P2]})
        log_chunked(store, "model", {"w.bin": [P1, P4]})
        log_chunked(store, "other", {"w.bin": [P1, P3], "copy.bin": [P2]}, type="dataset")
        yield store


def test_store_usage_counts_each_blob_once(shared):
    usage = shared.usage()
    assert (usage.versions, usage.blobs, usage.unreadable) == (3, 4, 0)
    assert usage.stored == len(P1 + P2 + P3 + P4)
    assert usage.logical == len(P1 + P2) + len(P1 + P4) + len(P1 + P3) + len(P2)
    assert usage.dedup_ratio == usage.logical / usage.stored
    model, other = usage.artifacts
    assert (model.name, model.versions, model.logical) == ("model", 2, 2204)
    assert (model.stored, model.unique, model.shared) == (1204, 4, 1200)
    assert (other.stored, other.unique, other.shared) == (1230, 30, 1200)
    (only,) = shared.usage("other").artifacts
    assert only == other


def test_du_json_and_table(art, shared):
    data = json_out(art("du", "--json"))
    assert data["stored"] == 1234 and data["blobs"] == 4 and data["versions"] == 3
    assert [(a["name"], a["unique"], a["shared"]) for a in data["artifacts"]] == [
        ("model", 4, 1200),
        ("other", 30, 1200),
    ]
    assert set(data["artifacts"][0]) == {
        "name",
        "type",
        "versions",
        "logical",
        "stored",
        "unique",
        "shared",
    }
    result = art("du")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "VERSIONS", "LOGICAL", "STORED", "UNIQUE", "SHARED"]
    assert lines[1].split()[:3] == ["model", "model", "2"]
    assert lines[-1].startswith("store: 1.2 KiB in 4 blobs for ")
    one = json_out(art("du", "model", "--json"))
    assert [a["name"] for a in one["artifacts"]] == ["model"]


def test_du_of_an_unknown_artifact_is_refused(art, shared):
    assert "nope" in one_error_line(art("du", "nope"))


def test_du_of_an_empty_store(art):
    data = json_out(art("du", "--json"))
    assert (data["stored"], data["logical"], data["dedup_ratio"], data["artifacts"]) == (
        0,
        0,
        1.0,
        [],
    )
