"""The behaviour every ``BlobStore`` backend must show, whatever filesystem it sits on.

A backend's test module subclasses :class:`BlobStoreContract` and supplies the ``store`` fixture
plus the ``raw_*`` helpers. The helpers go through the raw fsspec filesystem (``store.fs`` under
``store.root``), never through the store under test, so a test can plant or inspect bytes that
the store did not write itself (zarr ``StoreTests``, restic's backend suite).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xxhash
from fsspec.callbacks import Callback
from safetensors.numpy import save as safetensors_save

from artstore.errors import CorruptBlobError, NotAStoreError, NotFoundError, SourceChangedError
from artstore.storage import (
    CHUNK_SIZE,
    BlobStore,
    Chunk,
    Digest,
    Kind,
    LocalFile,
    _atomic,
    hash_bytes,
    hash_file,
    init_store,
    open_store,
    stat_key,
)
from artstore.storage import blobstore as blobstore_module
from artstore.storage.chunker import CHUNKED_FROM

__all__ = ["BlobStoreContract"]

ABSENT = Digest("0123456789abcdef0123456789abcdef")


def _no_hashing(*args: object, **kwargs: object) -> object:
    raise AssertionError("the source was hashed although its digest was given and the blob exists")


class ByteCounter(Callback):  # type: ignore[misc]
    """Counts the bytes a store reports through its progress callback."""

    def __init__(self) -> None:
        super().__init__()
        self.total_seen = 0

    def relative_update(self, inc: int = 1) -> None:
        self.total_seen += inc


class BlobStoreContract:
    """Tests shared by every backend. Subclasses provide the ``store`` fixture, and may change
    how the raw helpers reach the bytes."""

    # -- what a subclass supplies ----------------------------------------------------------------

    #: What ``init_store``/``open_store`` need besides the URL to reach the store (endpoints,
    #: credentials); a subclass whose filesystem needs them sets this in its ``store`` fixture.
    storage_options: dict[str, Any] | None = None

    @pytest.fixture
    def store(self) -> BlobStore:
        """A fresh, empty store made with ``artstore.storage.init_store(url)``."""
        raise NotImplementedError

    def raw_fs(self) -> Any:
        """The filesystem the raw helpers go through: the store's own, unless a subclass has
        another client (one that shares no cache with the store)."""
        return self.raw_store.fs

    def raw_path(self, key: str) -> str:
        """The full path of ``key`` (relative to the root)."""
        return f"{self.raw_store.root}/{key}"

    def raw_write(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` (relative to the root), bypassing the store."""
        self.raw_fs().pipe_file(self.raw_path(key), data)

    def raw_read(self, key: str) -> bytes:
        """The bytes at ``key`` (relative to the root), read without the store."""
        return bytes(self.raw_fs().cat_file(self.raw_path(key)))

    def raw_exists(self, key: str) -> bool:
        """Whether a file exists at ``key`` (relative to the root), asked without the store."""
        return bool(self.raw_fs().isfile(self.raw_path(key)))

    def raw_delete(self, key: str) -> None:
        """Delete the file at ``key`` (relative to the root), bypassing the store."""
        self.raw_fs().rm_file(self.raw_path(key))

    @pytest.fixture(autouse=True)
    def _bind_store(self, store: BlobStore) -> None:
        # pytest makes one instance per test, so the raw helpers can reach this test's store.
        self.raw_store = store

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def key(kind: Kind, digest: Digest) -> str:
        """The layout the format spec promises, written out here rather than imported."""
        return f"{kind.value}/{digest.hex[:2]}/{digest.hex[2:]}"

    @staticmethod
    def write_source(tmp_path: Path, data: bytes, name: str = "source.bin") -> Path:
        path = tmp_path / "sources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    # -- writing and reading -----------------------------------------------------------------------

    @pytest.mark.parametrize("kind", list(Kind))
    @pytest.mark.parametrize("data", [b"", b"hello artstore", bytes(range(256)) * 17])
    def test_put_bytes_read_bytes_round_trip(
        self, store: BlobStore, kind: Kind, data: bytes
    ) -> None:
        result = store.put_bytes(kind, data)
        assert result.digest == hash_bytes(data)
        assert result.size == len(data)
        assert result.stored is True
        assert store.read_bytes(kind, result.digest) == data

    def test_put_bytes_twice_stores_once(self, store: BlobStore) -> None:
        first = store.put_bytes(Kind.BLOB, b"same bytes")
        second = store.put_bytes(Kind.BLOB, b"same bytes")
        assert (first.stored, second.stored) == (True, False)
        assert first.digest == second.digest
        assert list(store.iter_digests(Kind.BLOB)) == [first.digest]

    def test_put_file_stores_once_then_dedups(self, store: BlobStore, tmp_path: Path) -> None:
        data = b"model weights" * 1000
        source = self.write_source(tmp_path, data, "a.bin")
        first = store.put_file(source)
        second = store.put_file(source)
        # A different file with the same content is found by existence, not stored again.
        copy = store.put_file(self.write_source(tmp_path, data, "b.bin"))
        assert first.stored is True
        assert second.stored is False
        assert copy.stored is False
        assert first.digest == second.digest == copy.digest
        assert second.size == copy.size == len(data)
        assert list(store.iter_digests(Kind.BLOB)) == [first.digest]
        assert self.raw_read(self.key(Kind.BLOB, first.digest)) == data

    def test_put_file_digest_equals_hash_file(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(100_000)
        source = self.write_source(tmp_path, data)
        result = store.put_file(source)
        assert (result.digest, result.size) == hash_file(source)
        assert result.digest.hex == xxhash.xxh3_128_hexdigest(data)

    def test_put_file_with_known_digest_skips_hashing(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = b"already stored" * 100
        source = self.write_source(tmp_path, data)
        digest = store.put_file(source).digest
        monkeypatch.setattr(blobstore_module, "hash_stream", _no_hashing)
        monkeypatch.setattr(blobstore_module, "hash_bytes", _no_hashing)
        monkeypatch.setattr(_atomic, "_hash_fd", _no_hashing)
        monkeypatch.setattr(_atomic, "copy_hashing", _no_hashing)
        progress = ByteCounter()
        result = store.put_file(source, digest=digest, callback=progress)
        assert progress.total_seen == len(data)
        assert result.stored is False
        assert result.digest == digest
        assert result.size == len(data)

    def test_put_file_reports_progress(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(50_000)
        source = self.write_source(tmp_path, data)
        first, again = ByteCounter(), ByteCounter()
        store.put_file(source, callback=first)
        store.put_file(source, callback=again)
        assert first.total_seen == len(data)
        assert again.total_seen == len(data)

    @pytest.mark.parametrize("size", [0, 1000, 3 * 1024 * 1024])
    def test_put_files_with_their_stats(self, store: BlobStore, tmp_path: Path, size: int) -> None:
        data = [os.urandom(size), os.urandom(size) + b"!", b"same" * 10, b"same" * 10]
        paths = [self.write_source(tmp_path, d, f"f{i}") for i, d in enumerate(data)]
        sources = [LocalFile(str(p), stat_key(p.stat())) for p in paths]
        results = store.put_files(sources)
        assert [r.digest for r in results] == [hash_bytes(d) for d in data]
        assert [r.size for r in results] == [len(d) for d in data]
        assert [r.stored for r in results] == [True, True, True, False]
        for r, d in zip(results, data, strict=True):
            assert store.read_bytes(Kind.BLOB, r.digest) == d
        again = store.put_files(sources)
        assert [r.stored for r in again] == [False] * 4

    @pytest.mark.parametrize("size", [1000, 3 * 1024 * 1024])
    def test_a_file_changed_since_its_stat_is_refused_and_nothing_is_stored(
        self, store: BlobStore, tmp_path: Path, size: int
    ) -> None:
        first = self.write_source(tmp_path, os.urandom(size), "first.bin")
        source = self.write_source(tmp_path, os.urandom(size), "grew.bin")
        seen = stat_key(source.stat())
        with source.open("ab") as f:
            f.write(b"the file grew after it was listed")
        before = set(store.iter_digests(Kind.BLOB))
        with pytest.raises(SourceChangedError, match=r"grew\.bin"):
            store.put_files([LocalFile(str(first)), LocalFile(str(source), seen)])
        assert set(store.iter_digests(Kind.BLOB)) == before, "not even the good file's blob"

    def test_a_missing_or_wrong_sized_blob_is_stored_again(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = os.urandom(5000)
        source = self.write_source(tmp_path, data)
        digest = store.put_file(source).digest
        key = self.key(Kind.BLOB, digest)
        self.raw_write(key, data[:100])
        again = store.put_file(source, digest=digest)
        assert again.stored and self.raw_read(key) == data
        self.raw_fs().rm_file(self.raw_path(key))
        assert store.put_file(source, digest=digest).stored
        assert self.raw_read(key) == data

    # -- object stores: hashed first, uploaded after, checked against the stat --------------------

    def _object_store_only(self, store: BlobStore) -> None:
        if store.backend.local:
            pytest.skip("local roots stage and rename; uploads are an object-store path")

    def test_upload_of_a_file_changed_meanwhile_is_removed_and_refused(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self._object_store_only(store)
        source = self.write_source(tmp_path, os.urandom(4000), "moving.bin")
        real_put = store.fs.put_file

        def rewrite_then_upload(lpath: str, rpath: str, **kwargs: Any) -> Any:
            # Between the hash and the upload: the object gets bytes its key does not name.
            source.write_bytes(os.urandom(4000))
            return real_put(lpath, rpath, **kwargs)

        monkeypatch.setattr(store.fs, "put_file", rewrite_then_upload)
        with pytest.raises(SourceChangedError, match=r"moving\.bin changed while it was read"):
            store.put_file(source)
        assert list(store.iter_digests(Kind.BLOB)) == [], "the mismatched object is removed"

    def test_upload_that_still_matches_its_key_stays_but_the_put_is_refused(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        # Changed after the upload read it: the object holds the bytes hashed, a good object
        # another put may share, so it stays; the put is refused all the same.
        self._object_store_only(store)
        data = os.urandom(4000)
        source = self.write_source(tmp_path, data, "moving.bin")

        class AfterUpload(ByteCounter):
            def relative_update(self, inc: int = 1) -> None:
                source.write_bytes(b"changed")

        with pytest.raises(SourceChangedError, match="its size went from 4000 to 7 bytes"):
            store.put_file(source, callback=AfterUpload())
        assert list(store.iter_digests(Kind.BLOB)) == [hash_bytes(data)]

    def test_every_file_is_hashed_before_the_first_upload(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        self._object_store_only(store)
        good = self.write_source(tmp_path, b"good bytes", "a.bin")
        gone = tmp_path / "gone.bin"
        with pytest.raises(NotFoundError, match=r"gone\.bin no longer exists"):
            store.put_files([LocalFile(str(good)), LocalFile(str(gone))])
        assert list(store.iter_digests(Kind.BLOB)) == [], "not even the good file's"

    def test_has_and_missing(self, store: BlobStore) -> None:
        present = store.put_bytes(Kind.BLOB, b"present").digest
        manifest = store.put_bytes(Kind.MANIFEST, b'{"entries":{},"format":1}').digest
        assert store.has(Kind.BLOB, present)
        assert not store.has(Kind.BLOB, ABSENT)
        # Kinds are separate namespaces.
        assert not store.has(Kind.MANIFEST, present)
        assert not store.has(Kind.BLOB, manifest)
        assert store.missing(Kind.BLOB, [present, ABSENT, present]) == {ABSENT}
        assert store.missing(Kind.BLOB, []) == set()

    def test_size(self, store: BlobStore) -> None:
        digest = store.put_bytes(Kind.BLOB, b"x" * 1234).digest
        assert store.size(Kind.BLOB, digest) == 1234
        assert store.size(Kind.BLOB, store.put_bytes(Kind.BLOB, b"").digest) == 0

    def test_open_reads_the_stored_bytes(self, store: BlobStore) -> None:
        data = bytes(range(256)) * 40
        digest = store.put_bytes(Kind.BLOB, data).digest
        with store.open(Kind.BLOB, digest) as f:
            assert f.read() == data

    def test_get_file_writes_exact_bytes_and_no_partial(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = os.urandom(70_000)
        digest = store.put_bytes(Kind.BLOB, data).digest
        dest = tmp_path / "out" / "nested" / "weights.bin"
        store.get_file(digest, dest)
        assert dest.read_bytes() == data
        assert os.listdir(dest.parent) == ["weights.bin"]
        assert not list(tmp_path.rglob("*.partial"))

    def test_get_file_replaces_an_existing_destination(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        digest = store.put_bytes(Kind.BLOB, b"new content").digest
        dest = tmp_path / "out.bin"
        dest.write_bytes(b"old content that is longer than the new one")
        store.get_file(digest, dest)
        assert dest.read_bytes() == b"new content"

    # -- corruption --------------------------------------------------------------------------------

    def corrupt(self, store: BlobStore, data: bytes, bad: bytes) -> tuple[Digest, str]:
        digest = store.put_bytes(Kind.BLOB, data).digest
        key = self.key(Kind.BLOB, digest)
        self.raw_write(key, bad)
        assert self.raw_read(key) == bad
        return digest, key

    def test_get_file_of_corrupt_blob_raises_and_writes_nothing(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        digest, key = self.corrupt(store, b"good bytes" * 100, b"evil bytes" * 100)
        dest = tmp_path / "out" / "file.bin"
        with pytest.raises(CorruptBlobError) as info:
            store.get_file(digest, dest)
        err = info.value
        actual = hash_bytes(b"evil bytes" * 100).hex
        assert err.expected == digest.hex
        assert err.actual == actual
        assert digest.hex in str(err) and actual in str(err)
        assert "\n" not in str(err)
        assert err.exit_code == 1
        assert not dest.exists()
        assert not list(tmp_path.rglob("*.partial"))
        assert list((tmp_path / "out").iterdir()) == []
        # The stored blob is reported, never silently deleted: `art verify` must still see it.
        assert self.raw_exists(key)
        assert self.raw_read(key) == b"evil bytes" * 100
        assert store.has(Kind.BLOB, digest)

    def test_get_file_of_corrupt_blob_keeps_an_existing_destination(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        digest, _ = self.corrupt(store, b"good", b"bad!")
        dest = tmp_path / "out" / "file.bin"
        dest.parent.mkdir()
        dest.write_bytes(b"previous")
        with pytest.raises(CorruptBlobError):
            store.get_file(digest, dest)
        assert dest.read_bytes() == b"previous"
        assert os.listdir(dest.parent) == ["file.bin"]

    def test_get_file_of_truncated_blob_raises(self, store: BlobStore, tmp_path: Path) -> None:
        digest, _ = self.corrupt(store, b"0123456789", b"01234")
        with pytest.raises(CorruptBlobError):
            store.get_file(digest, tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists()

    @pytest.mark.parametrize("kind", list(Kind))
    def test_read_bytes_of_corrupt_object_raises(self, store: BlobStore, kind: Kind) -> None:
        digest = store.put_bytes(kind, b"original").digest
        self.raw_write(self.key(kind, digest), b"tampered")
        with pytest.raises(CorruptBlobError) as info:
            store.read_bytes(kind, digest)
        assert info.value.expected == digest.hex
        assert info.value.actual == hash_bytes(b"tampered").hex
        assert self.raw_read(self.key(kind, digest)) == b"tampered"

    def test_verify_reports_the_actual_digest(self, store: BlobStore) -> None:
        digest, _ = self.corrupt(store, b"good", b"bad!")
        good = store.put_bytes(Kind.BLOB, b"fine").digest
        assert store.verify(Kind.BLOB, digest) == hash_bytes(b"bad!")
        assert store.verify(Kind.BLOB, good) == good

    # -- missing objects ---------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "operation",
        [
            pytest.param(lambda s, tmp: s.read_bytes(Kind.BLOB, ABSENT), id="read_bytes"),
            pytest.param(lambda s, tmp: s.read_bytes(Kind.MANIFEST, ABSENT), id="read_manifest"),
            pytest.param(lambda s, tmp: s.open(Kind.BLOB, ABSENT), id="open"),
            pytest.param(lambda s, tmp: s.size(Kind.BLOB, ABSENT), id="size"),
            pytest.param(lambda s, tmp: s.verify(Kind.BLOB, ABSENT), id="verify"),
            pytest.param(lambda s, tmp: s.get_file(ABSENT, tmp / "out.bin"), id="get_file"),
        ],
    )
    def test_missing_object_raises_not_found_in_one_line(
        self, store: BlobStore, tmp_path: Path, operation: Callable[[BlobStore, Path], object]
    ) -> None:
        store.put_bytes(Kind.BLOB, b"something else")
        with pytest.raises(NotFoundError) as info:
            operation(store, tmp_path)
        message = str(info.value)
        assert isinstance(info.value, LookupError)
        assert info.value.exit_code == 2
        assert "\n" not in message
        assert ABSENT.hex in message
        assert not (tmp_path / "out.bin").exists()
        assert not list(tmp_path.rglob("*.partial"))

    # -- the root: marker and settings -------------------------------------------------------------

    def test_init_again_and_open_find_the_same_store(self, store: BlobStore) -> None:
        digest = store.put_bytes(Kind.BLOB, b"written before reopening").digest
        marker = self.raw_read("artstore.json")
        again = init_store(store.url, storage_options=self.storage_options)
        opened = open_store(store.url, storage_options=self.storage_options)
        assert again.id == opened.id == store.id
        assert self.raw_read("artstore.json") == marker
        assert opened.root == store.root
        assert opened.has(Kind.BLOB, digest)
        assert opened.read_bytes(Kind.BLOB, digest) == b"written before reopening"

    def test_open_where_no_store_was_made_is_refused(self, store: BlobStore) -> None:
        elsewhere = store.url.rstrip("/") + "-elsewhere"
        with pytest.raises(NotAStoreError) as info:
            open_store(elsewhere, storage_options=self.storage_options)
        assert "art init" in str(info.value) and elsewhere in str(info.value)

    def test_read_settings(self, store: BlobStore) -> None:
        assert store.read_settings() is None
        text = "catalog: sqlite:////tmp/catalog.db\nprotected_aliases: [production]\n"
        self.raw_write("artstore.yaml", text.encode())
        assert store.read_settings() == text

    # -- listing and layout ------------------------------------------------------------------------

    def test_iter_digests_of_empty_store(self, store: BlobStore) -> None:
        assert list(store.iter_digests(Kind.BLOB)) == []
        assert list(store.iter_digests(Kind.MANIFEST)) == []

    def test_iter_digests_lists_exactly_what_was_put(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        blobs = {store.put_bytes(Kind.BLOB, f"blob {i}".encode()).digest for i in range(20)}
        blobs.add(store.put_file(self.write_source(tmp_path, b"from a file")).digest)
        manifests = {store.put_bytes(Kind.MANIFEST, f"m{i}".encode()).digest for i in range(3)}
        listed = list(store.iter_digests(Kind.BLOB))
        assert len(listed) == len(set(listed))
        assert set(listed) == blobs
        assert set(store.iter_digests(Kind.MANIFEST)) == manifests

    @pytest.mark.parametrize(
        "stray",
        [
            "blobs/README",
            "blobs/ab/notes.txt",
            "blobs/ab/0123456789abcdef0123456789abcd.partial",
            "blobs/ab/0123456789ABCDEF0123456789ABCD",
            # Digest-shaped when the last two parts are glued together, but not the layout.
            "blobs/abc/0123456789abcdef0123456789abc",
            "blobs/a/b0123456789abcdef0123456789abcd",
            "blobs/xx/ab/0123456789abcdef0123456789abcd",
            "blobs/manifests/ab/0123456789abcdef0123456789abcd",
        ],
    )
    def test_iter_digests_ignores_stray_files(self, store: BlobStore, stray: str) -> None:
        digest = store.put_bytes(Kind.BLOB, b"the only object").digest
        self.raw_write(stray, b"not an object")
        assert list(store.iter_digests(Kind.BLOB)) == [digest]

    @pytest.mark.parametrize("kind", list(Kind))
    def test_object_keys_follow_the_layout(self, store: BlobStore, kind: Kind) -> None:
        data = b"where do I live?"
        digest = store.put_bytes(kind, data).digest
        key = f"{kind.value}/{digest.hex[:2]}/{digest.hex[2:]}"
        assert len(digest.hex[:2]) == 2 and len(digest.hex[2:]) == 30
        assert self.raw_exists(key)
        assert self.raw_read(key) == data
        assert not self.raw_exists(f"{kind.value}/{digest.hex}")

    def test_object_planted_raw_is_found(self, store: BlobStore) -> None:
        data = b"written by another client"
        digest = hash_bytes(data)
        self.raw_write(self.key(Kind.BLOB, digest), data)
        assert store.has(Kind.BLOB, digest)
        assert store.read_bytes(Kind.BLOB, digest) == data
        assert list(store.iter_digests(Kind.BLOB)) == [digest]

    @pytest.mark.parametrize("question", ["has", "size", "open", "put_bytes"])
    def test_changes_by_another_client_after_a_listing_are_seen(
        self, store: BlobStore, question: str
    ) -> None:
        # Other processes add objects (logging) and delete them (`art gc`) while this store is
        # open. Object-store filesystems may cache the listings a walk made; answering from them
        # would call a collected blob present, and a version could then point at lost data.
        kept = store.put_bytes(Kind.BLOB, b"stays").digest
        gone_data = b"collected by another process"
        gone = store.put_bytes(Kind.BLOB, gone_data).digest
        # Planted beside `kept`, so that its folder is one the walk below has listed.
        planted_data = next(
            data
            for data in (f"written elsewhere {i}".encode() for i in range(100_000))
            if hash_bytes(data).hex[:2] == kept.hex[:2]
        )
        planted = hash_bytes(planted_data)
        assert set(store.iter_digests(Kind.BLOB)) == {kept, gone}

        self.raw_write(self.key(Kind.BLOB, planted), planted_data)
        self.raw_delete(self.key(Kind.BLOB, gone))

        # Each question comes first after the walk, in its own test: one that asks the
        # server also refreshes what the next question would see.
        if question == "has":
            assert store.has(Kind.BLOB, planted)
            assert not store.has(Kind.BLOB, gone)
        elif question == "size":
            assert store.size(Kind.BLOB, planted) == len(planted_data)
            with pytest.raises(NotFoundError):
                store.size(Kind.BLOB, gone)
        elif question == "open":
            with store.open(Kind.BLOB, planted) as f:
                assert f.read() == planted_data
            with pytest.raises(NotFoundError):
                store.open(Kind.BLOB, gone)
        else:
            assert store.put_bytes(Kind.BLOB, planted_data).stored is False
            # The collected bytes are stored again, not skipped on the word of a listing.
            assert store.put_bytes(Kind.BLOB, gone_data).stored is True
            assert self.raw_read(self.key(Kind.BLOB, gone)) == gone_data
        expected = {kept, planted, gone} if question == "put_bytes" else {kept, planted}
        assert set(store.iter_digests(Kind.BLOB)) == expected

    def test_large_file_round_trips(self, store: BlobStore, tmp_path: Path) -> None:
        size = 20 * 1024 * 1024
        assert size > CHUNK_SIZE
        data = np.random.default_rng(20240601).bytes(size)
        source = self.write_source(tmp_path, data, "large.bin")
        result = store.put_file(source, chunked=False)
        assert result.digest.hex == f"{xxhash.xxh3_128_intdigest(data):032x}"
        assert result.size == size
        assert store.size(Kind.BLOB, result.digest) == size
        dest = tmp_path / "large.out"
        store.get_file(result.digest, dest)
        assert dest.read_bytes() == data

    # -- large files, stored in pieces -------------------------------------------------------------

    def pieces_of(self, store: BlobStore, chunks: tuple[Chunk, ...]) -> bytes:
        """The file a piece list makes, read piece by piece, each checked against its digest."""
        return b"".join(store.read_bytes(Kind.BLOB, c.digest) for c in chunks)

    def test_a_large_file_is_stored_in_pieces_that_make_it(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = np.random.default_rng(7).bytes(CHUNKED_FROM + 3 * 1024 * 1024)
        source = self.write_source(tmp_path, data, "large.bin")
        progress = ByteCounter()
        result = store.put_file(source, callback=progress, chunked=True)
        assert (result.digest, result.size) == (hash_bytes(data), len(data))
        assert len(result.chunks) > 2 and all(c.tensor is None for c in result.chunks)
        assert self.pieces_of(store, result.chunks) == data
        assert (result.stored, result.new_bytes) == (True, len(data))
        assert progress.total_seen == len(data)
        assert set(store.iter_digests(Kind.BLOB)) == {c.digest for c in result.chunks}
        again = store.put_file(source, chunked=True)
        assert (again.stored, again.new_bytes, again.chunks) == (False, 0, result.chunks)

    def test_pieces_already_stored_are_not_written_again(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        rng = np.random.default_rng(8)
        data = rng.bytes(CHUNKED_FROM * 2)
        middle = len(data) // 2
        edited = data[:middle] + rng.bytes(100_000) + data[middle:]
        first = store.put_file(self.write_source(tmp_path, data, "a.bin"), chunked=True)
        second = store.put_file(self.write_source(tmp_path, edited, "b.bin"), chunked=True)
        assert self.pieces_of(store, second.chunks) == edited
        assert second.stored and 100_000 <= second.new_bytes < len(edited) // 5
        shared = {c.digest for c in first.chunks} & {c.digest for c in second.chunks}
        assert sum(c.size for c in second.chunks if c.digest not in shared) == second.new_bytes

    def test_a_safetensors_file_is_cut_at_its_tensors(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        rng = np.random.default_rng(9)
        tensors = {f"layer{i}": rng.standard_normal(256 * 1024, dtype=np.float32) for i in range(9)}
        data = safetensors_save(tensors)
        result = store.put_file(self.write_source(tmp_path, data, "model.bin"), chunked=True)
        assert [c.tensor for c in result.chunks] == [None, *sorted(tensors)]
        assert self.pieces_of(store, result.chunks) == data
        assert result.digest == hash_bytes(data)

    def test_a_large_file_with_its_known_pieces_intact_is_not_read(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = np.random.default_rng(10).bytes(CHUNKED_FROM + 1000)
        source = self.write_source(tmp_path, data)
        first = store.put_file(source, chunked=True)
        monkeypatch.setattr(blobstore_module, "cut", _no_hashing)
        monkeypatch.setattr(blobstore_module, "hash_stream", _no_hashing)
        known = LocalFile(str(source), digest=first.digest, chunks=first.chunks)
        (result,) = store.put_files([known], chunked=True)
        assert (result.digest, result.chunks, result.stored) == (first.digest, first.chunks, False)

    def test_a_large_file_with_a_known_piece_missing_is_read_again(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = np.random.default_rng(11).bytes(CHUNKED_FROM + 1000)
        source = self.write_source(tmp_path, data)
        first = store.put_file(source, chunked=True)
        lost = first.chunks[1]
        self.raw_delete(self.key(Kind.BLOB, lost.digest))
        known = LocalFile(str(source), digest=first.digest, chunks=first.chunks)
        (result,) = store.put_files([known], chunked=True)
        assert result.new_bytes == lost.size
        assert self.pieces_of(store, result.chunks) == data

    def test_chunked_off_stores_a_large_file_whole(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = os.urandom(CHUNKED_FROM + 10)
        monkeypatch.setenv("ARTSTORE_CHUNKING", "off")
        result = store.put_file(self.write_source(tmp_path, data))
        assert result.chunks == () and store.read_bytes(Kind.BLOB, result.digest) == data

    @pytest.mark.parametrize("change", ["grew", "rewritten"])
    def test_a_large_file_changed_since_its_stat_is_refused_and_nothing_is_stored(
        self, store: BlobStore, tmp_path: Path, change: str
    ) -> None:
        first = self.write_source(tmp_path, os.urandom(1000), "first.bin")
        source = self.write_source(tmp_path, os.urandom(CHUNKED_FROM + 5000), "grew.bin")
        seen = stat_key(source.stat())
        if change == "grew":
            with source.open("ab") as f:
                f.write(b"the file grew after it was listed")
        else:
            source.write_bytes(os.urandom(CHUNKED_FROM + 5000))
        with pytest.raises(SourceChangedError, match=r"grew\.bin"):
            store.put_files([LocalFile(str(first)), LocalFile(str(source), seen)], chunked=True)
        assert list(store.iter_digests(Kind.BLOB)) == [], "not even the good file's blob"

    def test_a_large_file_changed_while_its_pieces_are_read_is_refused(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source = self.write_source(tmp_path, os.urandom(CHUNKED_FROM * 2), "moving.bin")
        real_cut = blobstore_module.cut

        def cut_while_writing(file: Any, size: int, start: Any = None) -> Any:
            for i, piece in enumerate(real_cut(file, size, start)):
                if i == 2:
                    with open(source, "r+b") as f:
                        f.seek(size - 10)
                        f.write(b"0123456789")
                    os.utime(source, ns=(1, 1))
                yield piece

        monkeypatch.setattr(blobstore_module, "cut", cut_while_writing)
        with pytest.raises(SourceChangedError, match=r"moving\.bin"):
            store.put_file(source, chunked=True)
        if store.backend.local:
            assert list(store.iter_digests(Kind.BLOB)) == [], "nothing placed"

    def test_a_piece_changed_between_hash_and_upload_is_refused(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self._object_store_only(store)
        data = os.urandom(CHUNKED_FROM * 2)
        source = self.write_source(tmp_path, data, "moving.bin")
        real_absent = store._absent

        def absent_then_rewrite(chunks: Any) -> Any:
            # Between the hash and the uploads: same size, same mtime, other bytes.
            st = source.stat()
            with open(source, "r+b") as f:
                f.write(b"x" * 100)
            os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
            return real_absent(chunks)

        monkeypatch.setattr(store, "_absent", absent_then_rewrite)
        with pytest.raises(SourceChangedError, match=r"moving\.bin"):
            store.put_file(source, chunked=True)
        stored = set(store.iter_digests(Kind.BLOB))
        for digest in stored:  # whatever went up is named by its bytes
            assert store.verify(Kind.BLOB, digest) == digest
