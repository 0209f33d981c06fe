"""Lineage test set-up: assertion messages for the shared contract, and PostgreSQL fixtures.

Any lineage test may ask for ``pg_catalog_url``: a fresh, empty schema in the shared test
database (see :func:`tests.services.postgres_url`), dropped after the test. Without a server
the test is skipped, or fails where ``ARTSTORE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.services import postgres_url, require_service, schema_url

pytest.register_assert_rewrite("tests.lineage.contract")

# DROP SCHEMA waits for the locks of a leaked connection: fail the teardown instead of hanging.
_DROP_LOCK_TIMEOUT = "10s"


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """The URL of the shared PostgreSQL test database; skips (fails in CI) without a server."""
    url, reason = postgres_url()
    if url is None:
        require_service("PostgreSQL", reason)
    return url


@pytest.fixture(scope="session")
def pg_admin(pg_base_url: str) -> Iterator[sa.Engine]:
    """An engine on the shared database that creates and drops the per-test schemas."""
    engine = sa.create_engine(pg_base_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_admin: sa.Engine) -> Iterator[str]:
    """The name of a new, empty schema, dropped with everything in it after the test."""
    schema = f"t_{secrets.token_hex(6)}"
    with pg_admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield schema
    with pg_admin.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT}'")
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_catalog_url(pg_base_url: str, pg_schema: str) -> str:
    """A catalog URL whose connections see only a new, empty schema."""
    return schema_url(pg_base_url, pg_schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("pg_catalog_url")
    return url
