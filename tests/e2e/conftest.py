"""End-to-end fixtures: each scenario runs on the SQLite catalog inside the store and on a
PostgreSQL catalog (a fresh schema of the test server; see tests/lineage/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lineage.conftest import pg_admin, pg_base_url, pg_catalog_url, pg_schema  # noqa: F401

ART = Path(sys.executable).with_name("art")


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest) -> str | None:
    """None for the SQLite catalog inside the store, else a PostgreSQL catalog URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_catalog_url")
    return url


@pytest.fixture
def env(catalog_url: str | None, tmp_path: Path) -> dict[str, str]:
    """The environment of every process: a new store (``art init``), and its catalog."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["ARTSTORE_URL"] = str(tmp_path / "store")
    if catalog_url is not None:
        env["ARTSTORE_DB"] = catalog_url
    done = subprocess.run([ART, "init", env["ARTSTORE_URL"]], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    return env
