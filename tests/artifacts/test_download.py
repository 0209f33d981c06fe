"""Downloading versions: verified bytes, corrupt blobs, hostile manifests, default places."""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store
from artstore.artifacts.download import sqlite_files
from artstore.errors import CorruptBlobError, FileAccessError, NotFoundError, UnsafePathError
from artstore.storage import DEBRIS_GRACE, Kind, canonical_json, hash_bytes
from tests.conftest import record_version

FILES = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)), "sub/deep/c.txt": b"gamma\n"}


@pytest.fixture
def version(store, tmp_path):
    folder = tmp_path / "src"
    for rel, data in FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    artifact = Artifact("data", "dataset")
    artifact.add_dir(folder)
    return store.log_artifact(artifact)


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def corrupt_blob(store_url: str, data: bytes) -> Path:
    """Overwrite the stored blob holding ``data`` with other bytes of the same length."""
    digest = hash_bytes(data).hex
    blob = Path(store_url) / "blobs" / digest[:2] / digest[2:]
    assert blob.is_file()
    blob.chmod(blob.stat().st_mode | stat.S_IWUSR)
    blob.write_bytes(bytes(b ^ 0xFF for b in data))
    return blob


def test_download_writes_exact_bytes(version, tmp_path):
    out = version.download(tmp_path / "out")
    assert out == tmp_path / "out"
    assert all_files(out) == FILES


def test_download_default_root_is_artifacts_name_version(version):
    out = version.download()
    assert out == Path("artifacts") / "data-v0"
    assert all_files(Path.cwd() / "artifacts" / "data-v0") == FILES


def test_download_replaces_a_wrong_local_file(version, tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.txt").write_bytes(b"ALPHA\n")  # same size, other bytes
    version.download(out)
    assert all_files(out) == FILES


def test_files_lists_paths_sizes_and_digests(version):
    files = version.files()
    assert [f.path for f in files] == sorted(FILES)
    for entry in files:
        assert entry.size == len(FILES[entry.path])
        assert entry.digest == hash_bytes(FILES[entry.path])
    assert version.file_count == 3 and version.size == sum(map(len, FILES.values()))


def test_file_downloads_one_file(version, tmp_path):
    path = version.file("sub/b.bin", tmp_path / "one")
    assert path == tmp_path / "one" / "sub" / "b.bin"
    assert path.read_bytes() == FILES["sub/b.bin"]
    assert all_files(tmp_path / "one") == {"sub/b.bin": FILES["sub/b.bin"]}


def test_file_default_root(version):
    path = version.file("a.txt")
    assert path == Path("artifacts") / "data-v0" / "a.txt"
    assert path.read_bytes() == FILES["a.txt"]


def test_file_unknown_path_is_not_found(version, tmp_path):
    with pytest.raises(NotFoundError) as info:
        version.file("nope.txt", tmp_path / "x")
    assert "nope.txt" in str(info.value) and "data:v0" in str(info.value)
    assert "\n" not in str(info.value)


# -- acceptance 3: corrupt blobs -----------------------------------------------------------------


def test_corrupt_blob_raises_naming_artifact_and_path(version, store_url, tmp_path):
    corrupt_blob(store_url, FILES["sub/b.bin"])
    out = tmp_path / "out"
    with pytest.raises(CorruptBlobError) as info:
        version.download(out)
    error = info.value
    assert error.artifact == "data:v0" and error.path == "sub/b.bin"
    assert "data:v0" in str(error) and "sub/b.bin" in str(error)
    assert "\n" not in str(error)
    assert error.exit_code == 1
    # no partial or unverified file is left: only files that were verified are there
    left = all_files(out)
    assert "sub/b.bin" not in left
    assert all(FILES[p] == data for p, data in left.items())
    assert not [p for p in out.rglob("*") if "partial" in p.name]


def test_corrupt_blob_through_file(version, store_url, tmp_path):
    corrupt_blob(store_url, FILES["a.txt"])
    with pytest.raises(CorruptBlobError, match=r"a\.txt"):
        version.file("a.txt", tmp_path / "one")
    assert not (tmp_path / "one" / "a.txt").exists()
    assert not [p for p in (tmp_path / "one").rglob("*") if p.is_file()]


def test_corrupt_blob_does_not_replace_an_existing_file(version, store_url, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_bytes(b"mine")
    corrupt_blob(store_url, FILES["a.txt"])
    with pytest.raises(CorruptBlobError):
        version.download(out)
    assert (out / "a.txt").read_bytes() == b"mine"


# -- acceptance 3: hostile manifests -------------------------------------------------------------


def record_manifest(store, name: str, entries: dict[str, bytes]):
    """Store a hand-made manifest whose blobs exist, and a catalog row pointing at it."""
    manifest_entries = {}
    for path, data in entries.items():
        digest = store.blobs.put_bytes(Kind.BLOB, data).digest
        manifest_entries[path] = {"digest": digest.hex, "size": len(data)}
    raw = canonical_json({"entries": manifest_entries, "format": 1})
    result = store.blobs.put_bytes(Kind.MANIFEST, raw)
    record_version(
        store,
        name,
        result.digest.hex,
        size=sum(map(len, entries.values())),
        file_count=len(entries),
        who="attacker@host",
    )
    return store.artifact(name)


@pytest.mark.parametrize(
    "path", ["../escape.txt", "ok/../../escape.txt", "/tmp/escape.txt", "C:/escape.txt", "a\\b"]
)
def test_manifest_with_unsafe_path_is_refused_and_nothing_is_written(store, tmp_path, path):
    version = record_manifest(store, "evil", {"fine.txt": b"fine", path: b"pwned"})
    dest = tmp_path / "box" / "dest"
    dest.parent.mkdir()
    absolute = Path("/tmp/escape.txt")
    existed = absolute.exists()
    before = set(tmp_path.rglob("*"))
    with pytest.raises(UnsafePathError):
        version.download(dest)
    with pytest.raises(UnsafePathError):
        version.files()
    # nothing new anywhere, at most the (empty) destination folder itself
    assert set(tmp_path.rglob("*")) - before <= {dest}
    assert not dest.exists() or not any(dest.iterdir())
    assert absolute.exists() == existed


def test_manifest_path_through_a_link_in_the_destination_is_refused(store, tmp_path):
    version = record_manifest(store, "linky", {"out/x.txt": b"pwned"})
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        version.download(dest)
    assert list(outside.iterdir()) == []


def test_download_checks_manifest_digest(store, store_url, version, tmp_path):
    raw_path = Path(store_url) / "manifests" / version.digest[:2] / version.digest[2:]
    raw_path.chmod(raw_path.stat().st_mode | stat.S_IWUSR)
    raw_path.write_bytes(raw_path.read_bytes().replace(b'"format":1', b'"format": 1'))
    with pytest.raises(CorruptBlobError):
        store.artifact("data").download(tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- destinations checked before the first byte ---------------------------------------------------


def nothing_written(root: Path, before: set[Path]) -> bool:
    return set(root.rglob("*")) == before


def test_a_destination_inside_the_store_is_refused(store, store_url, version):
    root = Path(store_url)
    before = set(root.rglob("*"))
    for dest in (root, root / "blobs", root / "new" / "folder"):
        with pytest.raises(FileAccessError, match="inside the store's own folder"):
            version.download(dest)
        with pytest.raises(FileAccessError, match="inside the store's own folder"):
            version.file("a.txt", dest)
    assert nothing_written(root, before)


def test_a_version_holding_the_live_catalog_is_refused_before_any_byte(tmp_path):
    project = tmp_path / "proj"
    with Store.init(str(project / ".artstore")) as store:
        evil = record_manifest(
            store, "proj", {"a.txt": b"first", ".artstore/catalog.db": b"not a database"}
        )
        before = set(project.rglob("*"))
        with pytest.raises(FileAccessError, match="live catalog database") as info:
            evil.download(project)
        assert "\n" not in str(info.value) and ".artstore/catalog.db" in str(info.value)
        assert nothing_written(project, before), "not even the harmless a.txt was written"
        assert [a.name for a in store.artifacts()] == ["proj"]


def test_a_catalog_outside_the_store_is_protected_too(tmp_path):
    elsewhere = tmp_path / "db"
    elsewhere.mkdir()
    url = f"sqlite:///{elsewhere / 'cat.db'}"
    with Store.init(str(tmp_path / "store"), db=url) as store:
        for name in ("cat.db", "cat.db-wal", "cat.db-journal"):
            evil = record_manifest(store, "x", {name: b"junk " + name.encode()})
            with pytest.raises(FileAccessError, match="live catalog database"):
                evil.download(elsewhere)
        assert not (elsewhere / "cat.db-journal").exists()
        assert store.artifact("x:v2").number == 2


def test_a_promoted_version_protects_the_catalog_outside_the_store(tmp_path):
    elsewhere = tmp_path / "db"
    elsewhere.mkdir()
    with Store.init(str(tmp_path / "store"), db=f"sqlite:///{elsewhere / 'cat.db'}") as store:
        record_manifest(store, "x", {"cat.db": b"junk"})
        promoted = store.promote("x:v0", "production").version
        with pytest.raises(FileAccessError, match="live catalog database"):
            promoted.download(elsewhere)
        assert store.artifact("x:production").number == 0


def test_sqlite_files_of_catalog_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "c.db"
    files = (db, tmp_path / "c.db-wal", tmp_path / "c.db-shm", tmp_path / "c.db-journal")
    assert sqlite_files(f"sqlite:///{db}") == files
    assert sqlite_files("sqlite+pysqlite:///c.db?timeout=3") == files
    assert sqlite_files("sqlite:///file:c.db?mode=rw&uri=true") == files
    assert sqlite_files("sqlite://") == sqlite_files("sqlite:///:memory:") == ()
    assert sqlite_files("postgresql+psycopg://u@h/db") == ()


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda d: d.write_bytes(b"a file"), "it is a file; give a folder"),
        (lambda d: d.symlink_to(d.parent / "nowhere"), "which does not exist"),
    ],
    ids=["file", "dangling-link"],
)
def test_an_unusable_destination_is_refused_in_one_line(version, tmp_path, make, says):
    dest = tmp_path / "dest"
    make(dest)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(FileAccessError, match=says) as info:
        version.download(dest)
    assert "\n" not in str(info.value) and str(dest) in str(info.value)
    assert nothing_written(tmp_path, before)


def test_a_folder_where_a_file_must_go_is_refused_before_any_byte(version, tmp_path):
    dest = tmp_path / "out"
    (dest / "sub" / "b.bin").mkdir(parents=True)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(FileAccessError, match=r"it is a folder, where the file 'sub/b.bin'"):
        version.download(dest)
    assert nothing_written(tmp_path, before)


@pytest.mark.parametrize("blocker", ["sub", "sub/deep"])
def test_a_file_where_a_folder_must_go_is_refused_before_any_byte(version, tmp_path, blocker):
    dest = tmp_path / "out"
    (dest / blocker).parent.mkdir(parents=True, exist_ok=True)
    (dest / blocker).write_bytes(b"in the way")
    before = set(tmp_path.rglob("*"))
    with pytest.raises(FileAccessError, match="it is a file, where the folder of"):
        version.download(dest)
    assert nothing_written(tmp_path, before)


def test_a_dangling_link_where_a_folder_must_go_is_refused(version, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "sub").symlink_to(tmp_path / "missing")
    with pytest.raises(FileAccessError, match="which does not exist, where the folder"):
        version.download(dest)
    assert not (tmp_path / "missing").exists()


def test_a_path_longer_than_the_system_allows_is_refused_before_any_byte(store, tmp_path):
    deep = "/".join(["d" * 200] * 25) + "/f.txt"  # about 5 KB: over PATH_MAX
    evil = record_manifest(store, "long", {"a.txt": b"a", deep: b"deep"})
    dest = tmp_path / "out"
    with pytest.raises(FileAccessError, match=r"the path is \d+ bytes long; this system allows"):
        evil.download(dest)
    assert not dest.exists()


def test_a_read_only_destination_is_refused_before_any_byte(version, tmp_path, monkeypatch):
    # As root, permissions do not stop writes: the OS's answer is replaced at its boundary.
    dest = tmp_path / "ro"
    dest.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != dest and real_access(p, mode))
    with pytest.raises(FileAccessError, match="no permission to write in this folder"):
        version.download(dest)
    with pytest.raises(FileAccessError, match="no permission"):
        version.download(dest / "inner")
    assert list(dest.iterdir()) == []


def test_an_os_error_while_writing_is_one_line(version, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(version._blobs), "get_file", full)
    with pytest.raises(FileAccessError, match="the disk is full"):
        version.download(tmp_path / "out")


def test_stale_staging_files_of_interrupted_downloads_are_removed(version, tmp_path):
    dest = tmp_path / "out"
    (dest / "sub").mkdir(parents=True)
    old, fresh = dest / "sub" / f".{'1' * 32}.partial", dest / f".{'2' * 32}.partial"
    mine = dest / ".notes.partial"
    for path in (old, fresh, mine):
        path.write_bytes(b"partial")
    past = time.time() - DEBRIS_GRACE - 60
    os.utime(old, (past, past))
    os.utime(mine, (past, past))
    version.download(dest)
    assert not old.exists(), "an interrupted download's staging file older than the grace"
    assert fresh.exists(), "another download may be writing this one"
    assert mine.exists(), "only staging names are removed"


def test_a_missing_blob_names_artifact_version_and_file(version, store_url, tmp_path):
    digest = hash_bytes(FILES["sub/b.bin"]).hex
    (Path(store_url) / "blobs" / digest[:2] / digest[2:]).unlink()
    with pytest.raises(NotFoundError) as info:
        version.download(tmp_path / "out")
    message = str(info.value)
    assert "'sub/b.bin' of data:v0" in message and digest in message and "\n" not in message


def test_a_missing_manifest_names_the_version(store, store_url, version, tmp_path):
    (Path(store_url) / "manifests" / version.digest[:2] / version.digest[2:]).unlink()
    with pytest.raises(NotFoundError, match=rf"the manifest of data:v0 \({version.digest}\)"):
        store.artifact("data").download(tmp_path / "out")


def test_a_corrupt_manifest_names_the_version(store, store_url, version, tmp_path):
    raw_path = Path(store_url) / "manifests" / version.digest[:2] / version.digest[2:]
    raw_path.chmod(0o644)
    raw_path.write_bytes(b"{}")
    with pytest.raises(CorruptBlobError, match=r"the manifest of data:v0 .* is corrupt"):
        store.artifact("data").download(tmp_path / "out")


def test_a_file_inside_a_file_in_a_manifest_is_refused_before_download(store, tmp_path):
    raw = canonical_json(
        {
            "entries": {
                "a": {"digest": hash_bytes(b"1").hex, "size": 1},
                "a/b": {"digest": hash_bytes(b"2").hex, "size": 1},
            },
            "format": 1,
        }
    )
    store.blobs.put_bytes(Kind.BLOB, b"1")
    store.blobs.put_bytes(Kind.BLOB, b"2")
    digest = store.blobs.put_bytes(Kind.MANIFEST, raw).digest
    record_version(store, "clash", digest.hex, size=2, file_count=2, who="x@y")
    with pytest.raises(UnsafePathError, match="is a file and also the folder of 'a/b'"):
        store.artifact("clash").download(tmp_path / "out")
    assert not (tmp_path / "out").exists()
