"""Migration 5 (the bytes each version's put stored) from schema 4, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from artstore.lineage import SCHEMA_VERSION, Actor, Catalog, NewVersion, migrations

GOLDEN = Path(__file__).parents[1] / "data" / "store-v1"
ACTOR = Actor("a@h", None, None, None)


def new(digest: str, new_bytes: int | None = None) -> NewVersion:
    return NewVersion("m", "model", None, digest, 100, 1, {}, new_bytes=new_bytes)


def _schema_4(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        Catalog.open(url).close()
    engine = sa.create_engine(url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("versions")}
        assert "new_bytes" not in columns, "schema 4 has no such column"
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO artifacts (name, type, created_at) VALUES ('m', 'model', :t)"),
                {"t": "2026-11-01 12:00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO versions (artifact_id, number, digest, size, file_count, "
                    "metadata, created_by_user, created_at) VALUES (1, 0, :d, 100, 1, '{}', "
                    "'a@h', :t)"
                ),
                {"d": "a" * 32, "t": "2026-11-01 12:00:00"},
            )
    finally:
        engine.dispose()


def test_schema_4_migrates_to_5(db_url, monkeypatch):
    _schema_4(db_url, monkeypatch)
    with Catalog.open(db_url) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION >= 5
        assert catalog.versions.get("m", "v0").new_bytes is None, "logged before: unknown"
        result = catalog.versions.record(new("b" * 32, new_bytes=40), ACTOR)
        assert result.version.new_bytes == 40
        assert catalog.versions.get("m", "v1").new_bytes == 40
    engine = sa.create_engine(db_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("versions")}
        assert columns == {c.name for c in SQLModel.metadata.tables["versions"].columns}
    finally:
        engine.dispose()


def test_a_new_catalog_records_new_bytes_and_an_unchanged_log_keeps_them(db_url):
    with Catalog.open(db_url) as catalog:
        first = catalog.versions.record(new("c" * 32, new_bytes=100), ACTOR)
        again = catalog.versions.record(new("c" * 32, new_bytes=0), ACTOR)
        assert (first.created, again.created) == (True, False)
        assert again.version.new_bytes == 100
        assert catalog.versions.record(new("d" * 32), ACTOR).version.new_bytes is None


def test_golden_store_opens_with_unknown_new_bytes(tmp_path):
    copy = tmp_path / "store-v1"
    shutil.copytree(GOLDEN, copy)
    with Catalog.open(f"sqlite:///{copy / 'catalog.db'}") as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        for artifact in catalog.versions.artifacts():
            for version in catalog.versions.of(artifact.name):
                assert version.new_bytes is None
