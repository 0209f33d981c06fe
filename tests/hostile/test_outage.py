"""A bucket's server that does not answer is one line (exit 2), never a traceback, and a put
that meets the outage halfway records nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Artifact, Store
from artstore.errors import StoreUnavailableError
from tests.conftest import make_folder
from tests.hostile.harness import api, art, check_refused
from tests.services import require_service, start_moto_server

# Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
NOBODY = "http://127.0.0.1:9"


def catalog_rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def test_an_s3_endpoint_that_does_not_answer_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOBODY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    outcome = art("--store", "s3://no-answer/store", "--db", catalog, "ls")
    check_refused(outcome, code=2, says=r"cannot reach the store at s3://no-answer/store")


@pytest.fixture
def private_s3(tmp_path: Path) -> Any:
    """A moto server of this test alone, so the test may stop it."""
    pytest.importorskip("s3fs")
    (tmp_path / "moto").mkdir()
    server, reason = start_moto_server(tmp_path / "moto")
    if server is None:
        require_service("S3 (moto_server)", reason)
    yield server
    server.stop()


def store_in_new_bucket(server: Any, bucket: str, catalog: Path) -> tuple[str, dict[str, Any], Any]:
    """Create ``bucket`` on ``server`` and a store in it with a SQLite ``catalog``; return
    the store's URL, its storage options and a raw filesystem on the same server."""
    import s3fs

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": server.url, "region_name": "us-east-1"},
        "skip_instance_cache": True,
        # One attempt per request: an outage here is certain, and retries only make it slow.
        "config_kwargs": {"retries": {"max_attempts": 1}},
    }
    raw = s3fs.S3FileSystem(**options)
    raw.call_s3("create_bucket", Bucket=bucket)
    url = f"s3://{bucket}/store"
    Store.init(url, db=f"sqlite:///{catalog}", **options).close()
    return url, options, raw


def test_an_outage_in_the_middle_of_a_put_records_nothing(private_s3: Any, tmp_path: Path) -> None:
    catalog_path = tmp_path / "catalog.db"
    url, options, _ = store_in_new_bucket(private_s3, "outage", catalog_path)
    first = make_folder(tmp_path / "v0", {"a.bin": b"first"})
    second = make_folder(tmp_path / "v1", {"a.bin": b"second", "b.bin": b"more"})
    with Store(url, db=f"sqlite:///{catalog_path}", storage_options=options) as store:
        logged = Artifact("data", type="dataset")
        logged.add_dir(first)
        store.log_artifact(logged)
        before = catalog_rows(catalog_path)

        private_s3.stop()  # the server goes away while the store is open
        artifact = Artifact("data", type="dataset")
        artifact.add_dir(second)
        outcome = api(lambda: store.log_artifact(artifact))
        check_refused(outcome, code=2, says="cannot reach the store", error=StoreUnavailableError)
        outcome = api(lambda: store.artifact("data:v0").download(tmp_path / "out"))
        check_refused(outcome, code=2, says="cannot reach the store", error=StoreUnavailableError)
    assert catalog_rows(catalog_path) == before


def test_a_bucket_that_refuses_an_upload_is_one_line(private_s3: Any, tmp_path: Path) -> None:
    catalog_path = tmp_path / "catalog.db"
    url, options, raw = store_in_new_bucket(private_s3, "gone", catalog_path)
    folder = make_folder(tmp_path / "data", {"a.bin": b"bytes the bucket will refuse"})
    with Store(url, db=f"sqlite:///{catalog_path}", storage_options=options) as store:
        store.artifacts()  # open the store while its bucket is there
        raw.rm("gone", recursive=True)  # then the bucket is deleted behind its back
        before = catalog_rows(catalog_path)
        artifact = Artifact("data", type="dataset")
        artifact.add_dir(folder)
        outcome = api(lambda: store.log_artifact(artifact))
        check_refused(outcome, code=2, says="refused to store", error=StoreUnavailableError)
    assert catalog_rows(catalog_path) == before
