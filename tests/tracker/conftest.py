"""Fixtures for the tracker tests: runs with short intervals, and no run left behind."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Artifact, ArtifactVersion, Store
from artstore.tracker import Run, current

# PostgreSQL catalogs for tracker tests: ``pg_catalog_url`` (a fresh schema per test).
from tests.lineage.conftest import pg_admin, pg_base_url, pg_catalog_url, pg_schema  # noqa: F401

# Short intervals keep the suite fast; a test that needs other values passes its own.
FAST: dict[str, Any] = {"flush_interval": 0.05, "heartbeat_interval": 0.2}


@pytest.fixture(autouse=True)
def no_run_left_behind() -> Iterator[None]:
    """Each test starts without a current run, and one it leaves open is finished."""
    assert current() is None
    stdout, stderr = sys.stdout, sys.stderr
    yield
    run = current()
    if run is not None:
        run.finish()
    sys.stdout, sys.stderr = stdout, stderr


@pytest.fixture(autouse=True)
def artstore_logs_propagate() -> Iterator[None]:
    """``caplog`` sees artstore's warnings even after a CLI call configured the logger."""
    logger = logging.getLogger("artstore")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    logger.propagate, logger.level = True, logging.NOTSET
    yield
    logger.handlers[:], logger.propagate, logger.level = saved


@pytest.fixture
def start(store_url: str) -> Callable[..., Run]:
    """``start(**kwargs)``: ``artstore.init`` against the test store, with short intervals."""

    def make(**kwargs: Any) -> Run:
        return artstore.init(**{"store": store_url, **FAST, **kwargs})

    return make


def log_files(
    store: Store, name: str, files: dict[str, bytes], folder: Path, **kw: Any
) -> ArtifactVersion:
    """Log ``files`` (written under ``folder``) as the next version of ``name``."""
    return store.log_artifact(make_artifact(name, files, folder, **kw))


def make_artifact(
    name: str, files: dict[str, bytes], folder: Path, type: str = "dataset", **kw: Any
) -> Artifact:
    """An artifact of ``files``, written under ``folder`` first."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    artifact = Artifact(name, type, **kw)
    artifact.add_dir(folder)
    return artifact


def version_key(version: ArtifactVersion) -> tuple[str, str, str]:
    """What identifies a version across stores: name, version, digest."""
    return (version.name, version.version, version.digest)


def wait_for(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {check}")
        time.sleep(every)
