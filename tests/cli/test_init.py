"""``art init``: create a store, or check the one there."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import json_out, one_error_line


def test_init_creates_a_store(art, tmp_path):
    target = tmp_path / "new"
    result = art("init", str(target), store=None)
    assert result.exit_code == 0, result.stderr
    marker = json.loads((target / "artstore.json").read_text())
    assert marker["format"] == 1 and marker["id"] in result.stdout
    # a second init keeps the store
    data = json_out(art("init", str(target), "--json", store=None))
    assert data["id"] == marker["id"]
    assert set(data) >= {"url", "id", "catalog"}


def test_init_default_is_dot_artstore(art):
    assert art("init", store=None).exit_code == 0
    assert (Path(".artstore") / "artstore.json").is_file()


def test_uninitialised_explicit_store_is_refused(art, tmp_path):
    line = one_error_line(art("ls", store=str(tmp_path / "typo")))
    assert "art init" in line
    assert not (tmp_path / "typo").exists()


def test_no_store_anywhere(art):
    assert "art init" in one_error_line(art("ls", store=None))
