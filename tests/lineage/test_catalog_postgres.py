"""The catalog contract on PostgreSQL, plus what only PostgreSQL has.

Each test gets a fresh, empty schema in one shared database (``search_path`` set through the
libpq ``options`` parameter of the URL), dropped afterwards: much faster than a database per
test. The fixtures are in ``tests/lineage/conftest.py``; the server comes from
:func:`tests.services.postgres_url`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from artstore.errors import ConfigError
from artstore.lineage import Catalog
from tests.lineage.contract import CatalogContract, log


class TestCatalogPostgres(CatalogContract):
    @pytest.fixture
    def catalog_url(self, pg_catalog_url):
        return pg_catalog_url

    def test_tables_live_in_the_test_schema_only(self, catalog, raw, pg_schema):
        log(catalog)
        with raw.connect() as conn:
            assert conn.execute(sa.text("SELECT current_schema()")).scalar() == pg_schema
            schemas = conn.execute(
                sa.text("SELECT DISTINCT schemaname FROM pg_tables WHERE tablename = 'versions'")
            ).scalars()
            assert pg_schema in set(schemas)
        with raw.connect() as conn:
            count = conn.execute(sa.text(f'SELECT count(*) FROM "{pg_schema}".versions')).scalar()
        assert count == 1

    def test_sizes_use_bigint_and_times_timestamptz(self, catalog, raw, pg_schema):
        with raw.connect() as conn:
            types = dict(
                conn.execute(
                    sa.text(
                        "SELECT table_name || '.' || column_name, data_type"
                        " FROM information_schema.columns WHERE table_schema = :schema"
                    ),
                    {"schema": pg_schema},
                ).all()
            )
        assert types["versions.size"] == "bigint"
        for column in ("artifacts.created_at", "versions.created_at", "alias_history.at"):
            assert types[column] == "timestamp with time zone", column


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections at once (bound, never listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _assert_one_line_without(message: str, secret: str) -> None:
    assert secret not in message
    assert "\n" not in message
    assert message.startswith("cannot open catalog database postgresql+psycopg://")
    assert ":***@" in message
    assert "--db" in message


def test_wrong_password_is_a_config_error_without_the_password(pg_base_url):
    secret = "wr0ng-s3cret"
    url = sa.make_url(pg_base_url).set(password=secret).render_as_string(hide_password=False)
    with pytest.raises(ConfigError) as info:
        Catalog.open(url)
    message = str(info.value)
    _assert_one_line_without(message, secret)
    assert "password authentication failed" in message


def test_nothing_listening_is_a_config_error_without_the_password(refused_port):
    secret = "wr0ng-s3cret"
    url = f"postgresql+psycopg://alice:{secret}@127.0.0.1:{refused_port}/artstore_test"
    with pytest.raises(ConfigError) as info:
        Catalog.open(url)
    message = str(info.value)
    _assert_one_line_without(message, secret)
    assert f"port {refused_port} failed" in message
