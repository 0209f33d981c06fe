"""The catalog contract on SQLite files, plus what only SQLite has."""

from __future__ import annotations

import sqlite3

import pytest

from artstore.errors import ConfigError
from artstore.lineage import Catalog
from tests.lineage.contract import CatalogContract, log


class TestCatalogSqlite(CatalogContract):
    @pytest.fixture
    def catalog_url(self, tmp_path):
        return f"sqlite:///{tmp_path / 'catalog.db'}"

    def test_connection_pragmas(self, catalog, tmp_path):
        log(catalog)
        with catalog._engine.connect() as conn:  # internal: pragmas are per connection
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
            }
        assert pragma == {
            "journal_mode": "wal",
            "busy_timeout": 1000,  # one attempt; the catalog retries up to its lock limit
            "synchronous": 1,
            "foreign_keys": 1,
        }
        raw = sqlite3.connect(tmp_path / "catalog.db")
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            raw.close()


def test_unopenable_path_is_a_config_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}"
    with pytest.raises(ConfigError) as info:
        Catalog.open(url)
    message = str(info.value)
    assert message.startswith(f"cannot open catalog database {url}: ")
    assert "--db" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:s3cret@127.0.0.1:1/db",  # no driver, or nothing listening
        "nosuchdb://alice:s3cret@host/db",  # unknown dialect
        "postgresql://alice:s3cret@host:notaport/db",  # unparseable
        "post gres://alice:s3cret@host/db",  # unparseable
    ],
)
def test_bad_url_error_hides_the_password(url):
    with pytest.raises(ConfigError) as info:
        Catalog.open(url)
    message = str(info.value)
    assert "s3cret" not in message
    assert "alice" in message
    assert "\n" not in message
