"""Fixtures shared by the storage tests."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

# contract.py is not a test module, so ask pytest to rewrite its asserts for useful failure output.
pytest.register_assert_rewrite("tests.storage.contract")


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A ``memory://`` URL with a root no other test uses; the memory filesystem is wiped after."""
    yield f"memory://artstore-test-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A new folder on another filesystem than ``tmp_path`` (where the tests put their stores):
    under ``/dev/shm``; the test is skipped where that is the same filesystem or missing."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        yield Path(folder)
