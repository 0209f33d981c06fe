"""Fixtures of the hostile-input tables."""

from __future__ import annotations

# The PostgreSQL catalog fixtures, for cases that need a real server.
from tests.lineage.conftest import pg_admin, pg_base_url, pg_catalog_url, pg_schema  # noqa: F401
