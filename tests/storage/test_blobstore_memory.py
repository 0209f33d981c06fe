"""The blob store contract on fsspec's ``memory://`` filesystem (an object-store stand-in)."""

from __future__ import annotations

import fsspec
import pytest

from artstore.storage import BlobStore, Kind, init_store
from tests.storage.contract import BlobStoreContract


class TestMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, memory_url: str) -> BlobStore:
        store = init_store(memory_url)
        assert not store.backend.local
        return store

    def test_no_staging_folder_on_object_stores(self, store: BlobStore) -> None:
        store.put_bytes(Kind.BLOB, b"straight to the final key")
        assert not self.raw_exists("tmp")
        assert store.fs.find(f"{store.root}/tmp") == []


def test_memory_roots_are_isolated(memory_url: str) -> None:
    first = init_store(memory_url)
    other = init_store(memory_url + "-other")
    digest = first.put_bytes(Kind.BLOB, b"only in the first root").digest
    assert first.has(Kind.BLOB, digest)
    assert not other.has(Kind.BLOB, digest)
    assert first.id != other.id


def test_memory_state_is_cleared_between_tests(memory_url: str) -> None:
    # The fixture wipes the shared memory filesystem after each test, so only this root exists.
    init_store(memory_url)
    roots = {path.split("/")[1] for path in fsspec.filesystem("memory").store}
    assert roots == {memory_url.removeprefix("memory://")}
