"""A read-only catalog (``Catalog.open(read_only=True)``, what ``art ui`` opens): the database
itself refuses writes on its connections, on SQLite and PostgreSQL, and nothing is created."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from artstore.errors import ConfigError
from artstore.lineage import Catalog, MetricRecord


def test_the_database_refuses_writes_on_a_read_only_catalog(db_url):
    with Catalog.open(db_url) as writer:
        writer.runs.create(id="ro000001", project="p", user="u")
        writer.runs.write_batch(
            "ro000001", [MetricRecord("ro000001", 0, "x", 1.0, None, 1.0)], [], {}
        )
    with Catalog.open(db_url, read_only=True) as reader:
        assert reader.runs.get("ro000001").project == "p"
        assert reader.runs.series("ro000001", "x").ys == (1.0,)
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.?only|readonly"):
            reader.runs.create(id="ro000002", project="p", user="u")
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.?only|readonly"):
            reader.runs.update("ro000001", status="crashed")
        assert reader.runs.get("ro000001").status == "running"
    with Catalog.open(db_url) as writer:
        assert [r.id for r in writer.runs.newest_first()] == ["ro000001"]


def test_a_missing_sqlite_catalog_is_not_created(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Catalog.open(f"sqlite:///{tmp_path / 'c.db'}", read_only=True)
    assert not (tmp_path / "c.db").exists()


def test_an_empty_database_is_not_a_catalog(pg_catalog_url):
    with pytest.raises(ConfigError, match="not an artstore catalog"):
        Catalog.open(pg_catalog_url, read_only=True)
