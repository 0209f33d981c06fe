"""Sweep test set-up: the catalog fixtures of the lineage tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.lineage.conftest import (  # noqa: F401
    db_url,
    pg_admin,
    pg_base_url,
    pg_catalog_url,
    pg_schema,
)
