"""Staging files left in tmp/ by interrupted writes: listed and removed after a grace period."""

from __future__ import annotations

import os
import time
from pathlib import Path

from artstore.storage import DEBRIS_GRACE, BlobStore, Kind, _atomic, init_store


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _leave_partial(store: BlobStore, data: bytes, age: float) -> Path:
    staged = Path(store.root) / "tmp" / f".{os.urandom(16).hex()}.partial"
    staged.write_bytes(data)
    _age(staged, age)
    return staged


def test_only_files_older_than_the_grace_are_debris(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    old = _leave_partial(store, b"x" * 100, DEBRIS_GRACE + 60)
    _leave_partial(store, b"young", DEBRIS_GRACE - 60)
    assert store.debris() == [(f"tmp/{old.name}", 100)]
    assert store.debris(grace=0) and len(store.debris(grace=0)) == 2


def test_remove_debris_counts_what_it_removes_and_keeps_young_files(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    old = [_leave_partial(store, b"y" * n, DEBRIS_GRACE * 2) for n in (10, 20)]
    young = _leave_partial(store, b"live put", 5)
    blob = store.put_bytes(Kind.BLOB, b"kept")
    assert store.remove_debris() == (2, 30)
    assert not any(p.exists() for p in old)
    assert young.exists()
    assert store.has(Kind.BLOB, blob.digest)
    assert store.debris() == [] and store.remove_debris() == (0, 0)


def test_read_only_staging_files_are_removed_too(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    staged = _leave_partial(store, b"z", DEBRIS_GRACE + 1)
    staged.chmod(0o444)
    assert store.remove_debris() == (1, 1)


def test_a_store_without_tmp_has_no_debris(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    (Path(store.root) / "tmp").rmdir()
    assert store.debris() == [] and store.remove_debris() == (0, 0)


def test_object_stores_have_no_debris(memory_url: str) -> None:
    store = init_store(memory_url)
    assert store.debris(grace=0) == [] and store.remove_debris(grace=0) == (0, 0)


def test_a_dead_puts_folder_is_removed_with_its_old_files(tmp_path: Path) -> None:
    # What a put killed before placing leaves: its own folder under tmp/, no longer locked.
    store = init_store(str(tmp_path / "s"))
    folder = Path(store.root) / "tmp" / "0123abcd.put"
    folder.mkdir()
    staged = folder / ".x.partial"
    staged.write_bytes(b"a" * 7)
    _age(staged, DEBRIS_GRACE + 5)
    assert store.debris() == [(f"tmp/0123abcd.put/{staged.name}", 7)]
    assert store.remove_debris() == (1, 7)
    assert list((Path(store.root) / "tmp").iterdir()) == []


def test_an_empty_folder_of_a_dead_put_goes_once_old(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    folder = Path(store.root) / "tmp" / "0123abcd.put"
    folder.mkdir()
    assert store.remove_debris() == (0, 0) and folder.exists(), "young: maybe a put starting"
    _age(folder, DEBRIS_GRACE + 5)
    assert store.debris() == [], "no file to count"
    store.remove_debris()
    assert not folder.exists()


def test_a_running_puts_folder_is_never_debris(tmp_path: Path) -> None:
    store = init_store(str(tmp_path / "s"))
    with _atomic.StagingArea(Path(store.root) / "tmp") as folder:
        staged = folder / ".x.partial"
        staged.write_bytes(b"live")
        _age(staged, DEBRIS_GRACE * 10)
        assert store.debris() == [] and store.remove_debris() == (0, 0)
        assert staged.exists()
    assert list((Path(store.root) / "tmp").iterdir()) == [], "the put removes its own folder"
