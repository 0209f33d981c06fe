"""``art runs files`` and the files and alerts ``art runs show`` reports."""

from __future__ import annotations

import pytest

import artstore
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.tracker.conftest import FAST


@pytest.fixture
def kept(store_url, tmp_path, monkeypatch):
    """Run ``k`` keeps ``ckpt/model.pt`` and ``notes.txt`` and raises two alerts; run ``e``
    keeps nothing."""
    monkeypatch.delenv("ARTSTORE_ALERT_WEBHOOK", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.pt").write_bytes(b"weights")
    (tmp_path / "notes.txt").write_text("notes")
    with artstore.init(store=store_url, id="k", **FAST) as run:
        run.save("ckpt/*.pt", policy="now")
        run.save("notes.txt", policy="end")
        run.log({"acc": 0.2})
        run.alert("Low accuracy", "acc 0.2\nbelow 0.3", level="WARN")
        run.alert("Done", "")
    with artstore.init(store=store_url, id="e", **FAST):
        pass
    return store_url


def test_runs_files_json(art, kept):
    files = json_out(art("runs", "files", "k", "--json"))
    assert [f["name"] for f in files] == ["ckpt/model.pt", "notes.txt"]
    model = files[0]
    assert (model["size"], model["policy"], len(model["digest"])) == (7, "now", 32)
    assert ISO_Z.fullmatch(model["saved_at"])
    assert json_out(art("runs", "files", "e", "--json")) == []


def test_runs_files_text(art, kept):
    result = art("runs", "files", "k")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "SAVED", "POLICY", "DIGEST"]
    assert lines[1].split()[:2] == ["ckpt/model.pt", "7"] and "now" in lines[1]


def test_runs_files_of_an_unknown_run(art, kept):
    assert "no run" in one_error_line(art("runs", "files", "nope0001"))


def test_runs_show_json_lists_files_and_alerts(art, kept):
    k = json_out(art("runs", "show", "k", "--json"))
    assert [f["name"] for f in k["files"]] == ["ckpt/model.pt", "notes.txt"]
    assert [(a["level"], a["title"], a["text"], a["step"]) for a in k["alerts"]] == [
        ("WARN", "Low accuracy", "acc 0.2\nbelow 0.3", 0),
        ("INFO", "Done", "", 0),
    ]
    assert ISO_Z.fullmatch(k["alerts"][0]["time"])
    assert k["entity"] is None
    e = json_out(art("runs", "show", "e", "--json"))
    assert (e["files"], e["alerts"]) == ([], [])


def test_runs_show_text_counts_files_and_lists_alerts(art, kept):
    out = art("runs", "show", "k").stdout
    assert "files:    2 (art runs files k)\n" in out
    assert "alerts:   2\n" in out
    assert "WARN   step 0  Low accuracy: acc 0.2 below 0.3\n" in out
    assert "INFO   step 0  Done\n" in out
    empty = art("runs", "show", "e").stdout
    assert "files:    -\n" in empty and "alerts:   -\n" in empty
