"""The blob store contract on buckets: S3 (s3fs on ``moto_server``) and GCS (gcsfs on
``gcp-storage-emulator``), both servers started by the tests."""

from __future__ import annotations

from typing import Any

import pytest

from artstore.storage import BlobStore, init_store
from tests.conftest import Bucket
from tests.storage.contract import BlobStoreContract


class TestBucketBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, bucket: Bucket) -> BlobStore:
        # A prefix inside the bucket: the store's root is not the bucket's root.
        store = init_store(f"{bucket.url}/team/store", storage_options=bucket.storage_options)
        assert not store.backend.local
        assert store.backend.protocol == bucket.url.split("://")[0]
        self.storage_options = bucket.storage_options
        self.bucket = bucket
        return store

    def raw_fs(self) -> Any:
        return self.bucket.fs
