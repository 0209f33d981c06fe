"""Whole-store verification of what runs keep: the media blobs their histories reference and
their saved files, each problem naming the run and the key and step (or the file), read from
the catalog in one query for the whole store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import artstore
from artstore.artifacts import Store
from artstore.cli import cli
from artstore.lineage.catalog_runs import CatalogRuns
from artstore.storage import Digest, Kind
from tests.lineage.conftest import pg_admin, pg_base_url, pg_catalog_url, pg_schema  # noqa: F401
from tests.tracker.conftest import FAST


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, list[str]]]:
    """A new store whose catalog is its own SQLite file or a PostgreSQL schema, and the ``art``
    options that open it."""
    db = None if request.param == "sqlite" else request.getfixturevalue("pg_catalog_url")
    url = str(tmp_path / "store")
    Store.init(url, db=db).close()
    with Store(url, db=db) as store:
        yield store, ["--store", url] + ([] if db is None else ["--db", db])


def _blob(store: Store, ref: dict[str, Any]) -> Path:
    return Path(store.blobs.path(Kind.BLOB, Digest.parse(ref["digest"])))


def _overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def _log_media(store: Store, tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    (tmp_path / "notes.txt").write_text("kept")
    with artstore.init(store=store, capture_console=False, **FAST) as run:
        run.log({"preds": artstore.Table(columns=["a"], data=[[1]])})  # step 0
        run.log({"preds": artstore.Table(columns=["a"], data=[[2]]), "loss": 0.5})  # step 1
        run.log({"page": artstore.Html("<p>same</p>")})  # step 2
        run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path), policy="now")
    rows = store.run(run.id).history()
    return run.id, [rows[0]["preds"], rows[1]["preds"], rows[2]["page"]]


def test_deleted_and_corrupted_media_blobs_name_the_run_key_and_step(
    catalog_store: tuple[Store, list[str]], tmp_path: Path
) -> None:
    store, options = catalog_store
    run_id, (first, second, page) = _log_media(store, tmp_path)
    clean = store.verify(deep=True)
    assert clean.ok, clean.problems
    assert (clean.run_files, clean.media, clean.blobs) == (1, 3, 4)

    _blob(store, first).unlink()
    good = _blob(store, second).read_bytes()
    _overwrite(_blob(store, second), bytes(reversed(good)))  # the same size

    plain = store.verify()
    assert [(p.run, p.key, p.step, p.kind) for p in plain.problems] == [
        (run_id, "preds", 0, "missing")
    ]
    deep = store.verify(deep=True)
    assert [(p.run, p.key, p.step, p.kind) for p in deep.problems] == [
        (run_id, "preds", 0, "missing"),
        (run_id, "preds", 1, "corrupt"),
    ]
    assert str(deep.problems[1]).startswith(f"run {run_id} 'preds' step 1: corrupt (blob ")
    assert store.run(run_id).history()[2]["page"] == page  # untouched, not reported

    result = CliRunner().invoke(cli, [*options, "verify", "--deep", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and (data["media"], data["run_files"]) == (3, 1)
    assert [(p["run"], p["key"], p["step"], p["path"]) for p in data["problems"]] == [
        (run_id, "preds", 0, "preds"),
        (run_id, "preds", 1, "preds"),
    ]


def test_the_whole_store_is_read_without_a_catalog_read_per_run(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        (tmp_path / str(n)).mkdir()
        _log_media(store, tmp_path / str(n))

    def per_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a catalog read per run")

    for name in ("files", "history", "history_page", "get", "newest_first"):
        monkeypatch.setattr(CatalogRuns, name, per_run)
    report = store.verify(deep=True)
    assert report.ok and (report.run_files, report.media) == (3, 9)


def test_a_malformed_media_reference_is_a_problem_not_a_crash(store: Store, tmp_path: Path) -> None:
    run_id, _ = _log_media(store, tmp_path)

    engine = sa.create_engine(f"sqlite:///{store.url}/catalog.db")
    with engine.begin() as connection:
        connection.execute(
            sa.text('UPDATE metrics SET media = \'{"_type": "nope"}\' WHERE step = 2')
        )
    engine.dispose()
    report = store.verify()
    assert [(p.run, p.key, p.step, p.kind, p.digest) for p in report.problems] == [
        (run_id, "page", 2, "bad-reference", None)
    ]
    assert str(report.problems[0]).startswith(f"run {run_id} 'page' step 2: media reference _type")
