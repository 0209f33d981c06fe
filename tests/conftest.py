"""Fixtures shared by every test: an isolated environment, a fresh local store, and buckets on
S3 and GCS emulators (started once per test process, see :mod:`tests.services`)."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Store
from artstore.lineage import Actor, NewVersion
from tests.services import require_service, start_gcs_emulator, start_moto_server

_ENV = ("ARTSTORE_URL", "ARTSTORE_DB", "ARTSTORE_MODE", "ARTSTORE_PROJECT", "ARTSTORE_RUN_ID")
# init() reads these when the artstore variables are unset (a W&B habit).
_WANDB_ENV = ("WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR", "WANDB_ENTITY")
_CI_ENV = ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_BUILD_ID", "BUILD_ID")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's stores, caches or CI variables, or leaves files in the repo."""
    for name in (*_ENV, *_WANDB_ENV, *_CI_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def restore_artstore_logger() -> Iterator[None]:
    """The CLI configures the ``artstore`` logger; undo it so other tests see their records."""
    logger = logging.getLogger("artstore")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


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


# -- buckets on object-store emulators ------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """A new, empty bucket on an emulator, deleted after the test.

    Attributes:
        name: the bucket's name (unique per test).
        url: ``s3://<name>`` or ``gs://<name>``.
        storage_options: what artstore needs to reach the emulator (endpoint, credentials).
        fs: a filesystem on the same server for planting and inspecting objects behind the
            store's back. It is not the store's instance and keeps no listings cache, so it
            behaves like another client: what it writes is not announced to the store.
    """

    name: str
    url: str
    storage_options: dict[str, Any]
    fs: Any


def _bucket_name() -> str:
    # S3 and GCS both accept 3-63 lowercase letters, digits and hyphens.
    return f"artstore-test-{uuid.uuid4().hex[:20]}"


@pytest.fixture(scope="session")
def s3_options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Storage options for s3fs on a ``moto_server`` of this test process."""
    try:
        import s3fs  # noqa: F401
    except ImportError as exc:
        require_service("S3 (s3fs)", f"s3fs does not import: {exc}")
    server, reason = start_moto_server(tmp_path_factory.mktemp("moto"))
    if server is None:
        require_service("S3 (moto_server)", reason)
    yield {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": server.url, "region_name": "us-east-1"},
    }
    server.stop()


@pytest.fixture(scope="session")
def s3_raw_fs(s3_options: dict[str, Any]) -> Any:
    """An s3fs filesystem on moto that is not the stores' and caches no listings.

    One per test process: a new client costs about 0.15 s (botocore loads its service model).
    """
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **s3_options)


@pytest.fixture
def s3_bucket(s3_options: dict[str, Any], s3_raw_fs: Any) -> Iterator[Bucket]:
    """A new bucket on moto, with the options to reach it and a raw filesystem."""
    fs = s3_raw_fs
    name = _bucket_name()
    # Not fs.mkdir: it sends the region as the location constraint, which us-east-1 refuses.
    fs.call_s3("create_bucket", Bucket=name)
    yield Bucket(name, f"s3://{name}", s3_options, fs)
    fs.rm(name, recursive=True)


# gcsfs reads this when it is imported: left "true", gcsfs probes each bucket's type over gRPC,
# which the emulator does not serve, and waits 60 s per bucket. Set before any test can import
# gcsfs (a gs:// URL resolved by fsspec does), whichever test a worker runs first.
_GCSFS_HNS = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
if "gcsfs" not in sys.modules:
    os.environ[_GCSFS_HNS] = "false"


@pytest.fixture(scope="session")
def gcs_options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Storage options for gcsfs on a ``gcp-storage-emulator`` of this test process."""
    try:
        import gcsfs
        import gcsfs.core
    except ImportError as exc:
        require_service("GCS (gcsfs)", f"gcsfs does not import: {exc}")
    if gcsfs.GCSFileSystem is not gcsfs.core.GCSFileSystem:
        require_service("GCS (gcsfs)", f"gcsfs was imported before {_GCSFS_HNS}=false was set")
    server, reason = start_gcs_emulator(tmp_path_factory.mktemp("gcs"))
    if server is None:
        require_service("GCS (gcp-storage-emulator)", reason)
    yield {"project": "test", "token": "anon", "endpoint_url": server.url}
    server.stop()


@pytest.fixture(scope="session")
def gcs_raw_fs(gcs_options: dict[str, Any]) -> Any:
    """A gcsfs filesystem on the emulator that is not the stores' and caches no listings."""
    import gcsfs

    return gcsfs.GCSFileSystem(skip_instance_cache=True, use_listings_cache=False, **gcs_options)


@pytest.fixture
def gcs_bucket(gcs_options: dict[str, Any], gcs_raw_fs: Any) -> Iterator[Bucket]:
    """A new bucket on the GCS emulator, with the options to reach it and a raw filesystem."""
    fs = gcs_raw_fs
    name = _bucket_name()
    fs.mkdir(name)
    yield Bucket(name, f"gs://{name}", gcs_options, fs)
    fs.rm(name, recursive=True)


@pytest.fixture(params=["s3", "gcs"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """A new bucket on each emulator in turn."""
    found: Bucket = request.getfixturevalue(f"{request.param}_bucket")
    return found


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) under ``root``; return ``root``."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def record_version(
    store: Store,
    name: str,
    digest: str,
    *,
    size: int,
    file_count: int,
    type: str = "dataset",
    who: str = "tests@host",
) -> None:
    """Record a catalog version of ``name`` naming manifest ``digest`` behind the checks a put
    makes, for tests of what readers make of hand-made, damaged or hostile versions."""
    new = NewVersion(
        name=name,
        type=type,
        description=None,
        digest=digest,
        size=size,
        file_count=file_count,
        metadata={},
        aliases=[],
    )
    store.catalog.versions.record(new, Actor(who))
