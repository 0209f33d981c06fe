"""The blob store contract on buckets: S3 (s3fs on ``moto_server``) and GCS (gcsfs on
``gcp-storage-emulator``), both servers started by the tests."""

from __future__ import annotations

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

    def _path(self, key: str) -> str:
        return f"{self.raw_store.root}/{key}"

    def raw_write(self, key: str, data: bytes) -> None:
        self.bucket.fs.pipe_file(self._path(key), data)

    def raw_read(self, key: str) -> bytes:
        return bytes(self.bucket.fs.cat_file(self._path(key)))

    def raw_exists(self, key: str) -> bool:
        return bool(self.bucket.fs.isfile(self._path(key)))

    def raw_delete(self, key: str) -> None:
        self.bucket.fs.rm_file(self._path(key))
