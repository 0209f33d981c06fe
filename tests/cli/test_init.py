"""``art init``: create a store, or check the one there."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

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


def test_init_on_a_file_is_refused_and_the_file_kept(art, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    line = one_error_line(art("init", str(target), store=None))
    assert "notes.txt" in line and "is a file" in line
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize(
    "db",
    [
        "bogus://x",
        "postgresql+psycopg://user:pw@127.0.0.1:1/catalog",
        "sqlite:////no/such/folder/catalog.db",
    ],
)
def test_init_with_a_catalog_that_cannot_open_creates_nothing(art, tmp_path, db):
    target = tmp_path / "new"
    line = one_error_line(art("--db", db, "init", str(target), store=None))
    assert "cannot open catalog database" in line
    assert not target.exists()


def test_init_with_a_catalog_elsewhere_creates_both(art, tmp_path):
    target, catalog = tmp_path / "new", tmp_path / "elsewhere.db"
    data = json_out(art("--db", f"sqlite:///{catalog}", "init", str(target), "--json", store=None))
    assert data["catalog"] == f"sqlite:///{catalog}"
    assert (target / "artstore.json").is_file() and catalog.is_file()
    assert not (target / "catalog.db").exists()


def test_a_store_outside_the_disk_without_a_catalog_is_not_created(art):
    url = f"memory://artstore-test-{uuid.uuid4().hex}"
    line = one_error_line(art("init", url, store=None))
    assert "needs a catalog database" in line
    assert "not an artstore store" in one_error_line(art("ls", store=url))


def test_a_missing_sqlite_catalog_is_refused_not_created(art, store_url, tmp_path):
    typo = tmp_path / "typo.db"
    line = one_error_line(art("--db", f"sqlite:///{typo}", "ls"))
    assert f"catalog database {typo} does not exist" in line
    assert not typo.exists()


def test_the_implicit_store_is_not_started_with_a_missing_catalog(art, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.txt").write_text("x")
    typo = tmp_path / "typo.db"
    result = art("--db", f"sqlite:///{typo}", "put", "f.txt", "-n", "f", "-t", "t", store=None)
    assert "does not exist" in one_error_line(result)
    assert not typo.exists() and not (tmp_path / ".artstore").exists()
