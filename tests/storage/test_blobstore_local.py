"""The blob store contract on the local disk, plus what only local roots promise."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fsspec.callbacks import Callback

from artstore.errors import FileAccessError
from artstore.storage import (
    BlobStore,
    Kind,
    LocalFile,
    _atomic,
    hash_bytes,
    init_store,
    open_store,
)
from tests.storage.contract import BlobStoreContract


class TestLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> BlobStore:
        store = init_store(str(tmp_path / "store"))
        assert store.backend.local
        return store

    def raw_write(self, key: str, data: bytes) -> None:
        fs, path = self.raw_fs(), self.raw_path(key)
        if fs.exists(path):
            # Placed objects are read-only; replace the file rather than writing through it.
            fs.rm_file(path)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, data)

    # -- local only --------------------------------------------------------------------------------

    def test_init_creates_the_local_folders(self, store: BlobStore) -> None:
        root = Path(store.root)
        assert {p.name for p in root.iterdir()} == {"artstore.json", "blobs", "manifests", "tmp"}

    def test_put_file_stages_under_tmp(self, store: BlobStore, tmp_path: Path) -> None:
        root = Path(store.root)
        seen: list[tuple[list[Path], list[Path]]] = []

        class Spy(Callback):  # type: ignore[misc]
            # Called while the bytes are copied: the object must be staged, not yet placed.
            def relative_update(self, inc: int = 1) -> None:
                staged = sorted(p for p in (root / "tmp").rglob("*") if p.is_file())
                placed = [p for p in (root / "blobs").rglob("*") if p.is_file()]
                seen.append((staged, placed))

        sources = [self.write_source(tmp_path, os.urandom(n), f"f{n}") for n in (10_000, 2 << 20)]
        results = store.put_files([LocalFile(str(p)) for p in sources], callback=Spy())
        assert len(seen) >= 2
        for staged, placed in seen:
            # One folder of its own for the put, holding its staging files until all are read.
            assert {p.parent.parent for p in staged} <= {root / "tmp"}
            assert all(p.name.startswith(".") and p.name.endswith(".partial") for p in staged)
            assert all(p.parent.name.endswith(".put") for p in staged)
            assert placed == [], "nothing is placed before every file is read"
        assert list((root / "tmp").iterdir()) == []
        for result in results:
            assert self.raw_exists(self.key(Kind.BLOB, result.digest))

    def test_the_put_folder_is_locked_while_the_put_runs(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        root = Path(store.root)
        held: list[bool] = []

        class Spy(Callback):  # type: ignore[misc]
            def relative_update(self, inc: int = 1) -> None:
                folders = list((root / "tmp").iterdir())
                held.extend(_atomic.held(f) for f in folders)
                for folder in folders:  # however old its files: a live put's are not debris
                    for path in folder.iterdir():
                        os.utime(path, (1, 1))
                assert store.debris() == []

        store.put_file(self.write_source(tmp_path, os.urandom(2 << 20)), callback=Spy())
        assert held == [True]

    @pytest.mark.parametrize("how", ["put_file", "put_bytes"])
    def test_staging_file_is_in_the_store_tmp_folder(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
    ) -> None:
        folders: list[Path] = []
        real = _atomic.partial_path

        def recording(folder: Path) -> Path:
            folders.append(folder)
            return real(folder)

        monkeypatch.setattr(_atomic, "partial_path", recording)
        if how == "put_file":
            store.put_file(self.write_source(tmp_path, b"staged data"))
        else:
            store.put_bytes(Kind.BLOB, b"staged data")
        assert len(folders) == 1
        assert Path(store.root) / "tmp" in (folders[0], folders[0].parent)
        assert list((Path(store.root) / "tmp").iterdir()) == []

    def test_placed_objects_are_read_only(self, store: BlobStore, tmp_path: Path) -> None:
        from_file = store.put_file(self.write_source(tmp_path, b"from a file")).digest
        from_bytes = store.put_bytes(Kind.BLOB, b"from bytes").digest
        manifest = store.put_bytes(Kind.MANIFEST, b"{}").digest
        for kind, digest in [
            (Kind.BLOB, from_file),
            (Kind.BLOB, from_bytes),
            (Kind.MANIFEST, manifest),
        ]:
            mode = stat.S_IMODE(os.stat(store.path(kind, digest)).st_mode)
            assert mode == 0o444, f"{kind} {digest}: {oct(mode)}"

    def test_sync_flushes_once_and_only_after_new_writes(
        self, store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[Path] = []
        monkeypatch.setattr(_atomic, "sync_filesystem", calls.append)
        store.sync()
        assert calls == []
        for i in range(5):
            store.put_bytes(Kind.BLOB, f"blob {i}".encode())
        store.sync()
        assert calls == [Path(store.root)]
        store.put_bytes(Kind.BLOB, b"blob 0")  # already stored: nothing new to flush
        store.sync()
        assert calls == [Path(store.root)]

    @pytest.mark.parametrize("error", [errno.EIO, errno.ENOSPC], ids=["EIO", "ENOSPC"])
    def test_a_failed_filesystem_sync_is_an_error_not_success(
        self, store: BlobStore, monkeypatch: pytest.MonkeyPatch, error: int
    ) -> None:
        # Only a kernel without syncfs falls back to sync(): a syncfs that ran and failed
        # (EIO: the disk lost written pages) means the bytes may not be on the disk.
        synced: list[int] = []
        monkeypatch.setattr(_atomic, "_syncfs", _failing_syncfs(error))
        monkeypatch.setattr(os, "sync", lambda: synced.append(1))
        with pytest.raises(OSError) as caught:
            _atomic.sync_filesystem(Path(store.root))
        assert (caught.value.errno, caught.value.filename) == (error, store.root)
        store.put_bytes(Kind.BLOB, b"a new blob")
        with pytest.raises(FileAccessError, match=os.strerror(error)) as refused:
            store.sync()
        assert refused.value.path == store.url
        assert synced == []

    def test_a_kernel_without_syncfs_syncs_everything(
        self, store: BlobStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        synced: list[int] = []
        monkeypatch.setattr(_atomic, "_syncfs", _failing_syncfs(errno.ENOSYS))
        monkeypatch.setattr(os, "sync", lambda: synced.append(1))
        _atomic.sync_filesystem(Path(store.root))
        assert synced == [1]

    def test_crash_between_staging_and_placement_leaves_nothing_visible(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        # What a writer killed after copying but before os.replace leaves behind.
        data = b"half-written object"
        digest = hash_bytes(data)
        self.raw_write(f"tmp/.{'f' * 32}.partial", data)
        self.raw_write(f"tmp/.{'e' * 32}.partial", data[:5])
        assert not store.has(Kind.BLOB, digest)
        assert list(store.iter_digests(Kind.BLOB)) == []
        assert list(store.iter_digests(Kind.MANIFEST)) == []
        assert [p for p in (Path(store.root) / "blobs").rglob("*") if p.is_file()] == []
        # The store still opens and the object can be written properly afterwards.
        reopened = open_store(store.url)
        assert reopened.put_bytes(Kind.BLOB, data).stored is True
        assert reopened.read_bytes(Kind.BLOB, digest) == data


def _failing_syncfs(error: int) -> Callable[[int], int]:
    def syncfs(fd: int) -> int:
        ctypes.set_errno(error)
        return -1

    return syncfs
