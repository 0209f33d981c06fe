"""The shortcuts of logging stay exact: the hand-written manifest encoder and the file-set
entry of the stat cache never change what gets stored."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from artstore.artifacts import Artifact, Store
from artstore.artifacts.manifest import FileEntry, Manifest, encode_entries
from artstore.storage import canonical_json
from tests.conftest import backdate
from tests.strategies import digests, safe_relpaths


def _no_file_is_a_folder(files: dict) -> bool:
    folders = {p.rsplit("/", 1)[0] for p in files if "/" in p}
    return not any(f == p or f.startswith(p + "/") for f in folders for p in files)


@given(
    st.dictionaries(
        safe_relpaths, st.tuples(digests, st.integers(0, 2**63 - 1), st.booleans()), max_size=20
    ).filter(_no_file_is_a_folder)
)
def test_encoder_matches_canonical_json(files: dict) -> None:
    manifest = Manifest.build(
        FileEntry(path, digest, size, exe) for path, (digest, size, exe) in files.items()
    )
    generic = canonical_json(
        {"entries": {p: e.manifest_object() for p, e in manifest.entries.items()}, "format": 1}
    )
    rows = [(e.path, e.digest.hex, e.size, e.executable) for e in manifest]
    assert encode_entries(rows) == generic
    assert manifest.encode() == generic


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "sub").mkdir()
    for name, data in {"a.bin": b"alpha", "sub/b.bin": b"beta", "sub/c.bin": b"gamma"}.items():
        (root / name).write_bytes(data)
    for path in root.rglob("*.bin"):
        backdate(path)
    return root


def _log(store: Store, folder: Path) -> tuple[str, list[str]]:
    artifact = Artifact("data", "dataset")
    artifact.add_dir(folder)
    version = store.log_artifact(artifact)
    return version.version, [e.path for e in version.files()]


def test_unchanged_folder_skips_per_file_lookups(store: Store, tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path / "data")
    assert _log(store, folder)[0] == "v0"
    from artstore.storage import SqliteStatCache

    def fail(*_args: object) -> None:
        raise AssertionError("per-file lookup on an unchanged folder")

    monkeypatch.setattr(SqliteStatCache, "lookup", fail)
    assert _log(store, folder)[0] == "v0"


def test_rename_changes_the_set_key(store: Store, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "data")
    _log(store, folder)
    os.rename(folder / "a.bin", folder / "renamed.bin")  # same inode, size and mtime
    version, paths = _log(store, folder)
    assert version == "v1"
    assert paths == ["renamed.bin", "sub/b.bin", "sub/c.bin"]


def test_exec_bit_changes_the_set_key(store: Store, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "data")
    _log(store, folder)
    st = (folder / "a.bin").stat()
    os.chmod(folder / "a.bin", 0o755)
    os.utime(folder / "a.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # chmod keeps mtime anyway
    assert _log(store, folder)[0] == "v1"
    assert store.artifact("data:v1").manifest().entries["a.bin"].executable


def test_set_entry_for_another_store_is_not_trusted(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "data")
    first, second = Store.init(str(tmp_path / "one")), Store.init(str(tmp_path / "two"))
    _log(first, folder)
    # Same machine cache, different store: its manifest is absent there, so files are put.
    version, paths = _log(second, folder)
    assert version == "v0" and len(paths) == 3
    assert second.verify().ok
    downloaded = second.artifact("data").download(tmp_path / "out")
    assert (downloaded / "sub" / "c.bin").read_bytes() == b"gamma"
