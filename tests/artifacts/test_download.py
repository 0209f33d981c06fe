"""Downloading versions: verified bytes, corrupt blobs, hostile manifests, default places."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from artstore.artifacts import Artifact
from artstore.errors import CorruptBlobError, NotFoundError, UnsafePathError
from artstore.storage import Kind, canonical_json, hash_bytes

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
    store.catalog.record_version(
        name=name,
        type="dataset",
        description=None,
        digest=result.digest.hex,
        size=sum(map(len, entries.values())),
        file_count=len(entries),
        metadata={},
        who="attacker@host",
        run_id=None,
        aliases=[],
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
