"""Migration 3 (a run's entity, run files, alerts) from schema 2, and the catalog's run files
and alerts, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from artstore.errors import NotFoundError
from artstore.lineage import (
    SCHEMA_VERSION,
    Actor,
    Catalog,
    RunAlert,
    RunFile,
    RunImport,
    migrations,
)

GOLDEN = Path(__file__).parents[1] / "data" / "store-v1"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _schema_2(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        Catalog.open(url).close()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO runs (id, project, status, config, summary, tags, "user", '
                    "created_at, heartbeat_at, heartbeat_timeout) VALUES ('old00001', 'p', "
                    "'finished', '{}', '{}', '[]', 'a@h', :t, :t, 30.0)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
    finally:
        engine.dispose()


def _start(catalog: Catalog, run_id: str = "run00001", **fields) -> None:
    catalog.runs.create(id=run_id, project="p", user="a@h", **fields)


def test_schema_2_migrates_to_3(db_url, monkeypatch):
    _schema_2(db_url, monkeypatch)
    with Catalog.open(db_url) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION >= 3
        old = catalog.runs.get("old00001")
        assert old.entity is None and old.status == "finished"
        assert catalog.runs.files("old00001") == [] and catalog.runs.alerts("old00001") == []
        catalog.runs.update("old00001", entity="team")
        assert catalog.runs.get("old00001").entity == "team"
    engine = sa.create_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        for name in ("runs", "run_files", "alerts"):
            columns = {c["name"] for c in inspector.get_columns(name)}
            assert columns == {c.name for c in SQLModel.metadata.tables[name].columns}, name
    finally:
        engine.dispose()


def test_golden_store_opens_and_migrates(tmp_path):
    copy = tmp_path / "store-v1"
    shutil.copytree(GOLDEN, copy)
    with Catalog.open(f"sqlite:///{copy / 'catalog.db'}") as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        assert catalog.versions.artifacts()


def test_entity_is_kept(db_url):
    with Catalog.open(db_url) as catalog:
        _start(catalog, entity="my-team")
        _start(catalog, "run00002")
        assert catalog.runs.get("run00001").entity == "my-team"
        assert catalog.runs.get("run00002").entity is None


def test_files_newest_per_name(db_url):
    with Catalog.open(db_url) as catalog:
        _start(catalog)
        first = RunFile("model.pt", "a" * 32, 3, "live", T0)
        second = RunFile("model.pt", "b" * 32, 4, "live", T0 + timedelta(seconds=5))
        other = RunFile("cfg/a.yaml", "c" * 32, 1, "now", T0 + timedelta(seconds=1))
        for kept in (first, other, second):
            catalog.runs.add_file("run00001", kept)
        assert catalog.runs.files("run00001") == [other, second]


def test_alerts_in_time_order(db_url):
    with Catalog.open(db_url) as catalog:
        _start(catalog)
        late = RunAlert(T0 + timedelta(seconds=2), "ERROR", "t2", "", 9)
        early = RunAlert(T0, "INFO", "t1", "text", 0)
        catalog.runs.add_alert("run00001", late)
        catalog.runs.add_alert("run00001", early)
        assert catalog.runs.alerts("run00001") == [early, late]


def test_rows_of_an_unknown_run_are_refused(db_url):
    with Catalog.open(db_url) as catalog:
        with pytest.raises(NotFoundError, match="nope0001"):
            catalog.runs.add_file("nope0001", RunFile("a", "a" * 32, 1, "now", T0))
        with pytest.raises(NotFoundError, match="nope0001"):
            catalog.runs.add_alert("nope0001", RunAlert(T0, "INFO", "t", "", 0))
        with pytest.raises(NotFoundError):
            catalog.runs.files("nope0001")
        with pytest.raises(NotFoundError):
            catalog.runs.alerts("nope0001")


def test_import_merges_files_and_alerts_once(db_url):
    kept = RunFile("model.pt", "a" * 32, 3, "end", T0)
    raised = RunAlert(T0, "WARN", "slow", "", 4)
    spec = RunImport(
        run_id="run00009",
        columns={"project": "p", "user": "a@h", "created_at": T0, "heartbeat_at": T0},
        metrics=[],
        console=[],
        lineage=[],
        actor=Actor("a@h", run_id="run00009"),
        files=[kept, kept],
        alerts=[raised],
    )
    with Catalog.open(db_url) as catalog:
        first = catalog.runs.import_run(spec)
        again = catalog.runs.import_run(spec)
        assert (first.new_files, first.new_alerts) == (1, 1)
        assert (again.new_files, again.new_alerts) == (0, 0)
        assert catalog.runs.files("run00009") == [kept]
        assert catalog.runs.alerts("run00009") == [raised]
