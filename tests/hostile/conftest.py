"""Fixtures of the hostile-input tables."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# The PostgreSQL catalog fixtures, for cases that need a real server.
from tests.lineage.conftest import pg_admin, pg_base_url, pg_catalog_url, pg_schema  # noqa: F401


@pytest.fixture(autouse=True)
def restore_artstore_logger() -> Iterator[None]:
    """The CLI configures the ``artstore`` logger; undo it so other tests see their records."""
    logger = logging.getLogger("artstore")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]
