"""Fixtures shared by every test: an isolated environment and a fresh local store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artstore.artifacts import Store

_ENV = ("ARTSTORE_URL", "ARTSTORE_DB", "ARTSTORE_MODE", "ARTSTORE_PROJECT", "ARTSTORE_RUN_ID")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's stores, caches or CI variables, or leaves files in the repo."""
    for name in (*_ENV, "GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_BUILD_ID", "BUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """The URL of a new, initialised local store."""
    url = str(tmp_path / "store")
    Store.init(url).close()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A new local store with a SQLite catalog."""
    with Store(store_url) as s:
        yield s


def backdate(path: Path, seconds: float = 3600) -> None:
    """Move a file's mtime into the past, out of the stat cache's racy window."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))
