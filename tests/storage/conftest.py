"""Fixtures shared by the storage tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
