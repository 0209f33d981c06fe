"""Logging artifacts: building them, deduplication, identical re-logs, types, the stat cache."""

from __future__ import annotations

import builtins
import logging
import os
import stat
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store
from artstore.errors import ArtifactTypeError, NotFoundError, UnsafePathError
from artstore.storage import BlobStore
from tests.conftest import backdate, make_folder


def blob_stats(store_url: str) -> tuple[int, int]:
    """(number of files, total bytes) under ``<store>/blobs/``."""
    files = [p for p in (Path(store_url) / "blobs").rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def folder_artifact(folder: Path, name: str = "data", **kwargs) -> Artifact:
    artifact = Artifact(name, kwargs.pop("type", "dataset"), **kwargs)
    artifact.add_dir(folder)
    return artifact


# -- acceptance 1: deduplication ---------------------------------------------------------------


def test_same_folder_twice_is_one_version_and_bytes_are_stored_once(store, store_url, tmp_path):
    folder = make_folder(
        tmp_path / "d", {"a.txt": b"alpha" * 100, "b/b.txt": b"beta" * 50, "c.bin": b"alpha" * 100}
    )
    first = store.log_artifact(folder_artifact(folder))
    after_first = blob_stats(store_url)
    # a.txt and c.bin have the same bytes: one blob for both
    assert after_first == (2, 500 + 200)

    second = store.log_artifact(folder_artifact(folder))
    assert (first.version, first.created) == ("v0", True)
    assert (second.version, second.created) == ("v0", False)
    assert second.digest == first.digest
    assert [v.version for v in store.versions("data")] == ["v0"]
    assert blob_stats(store_url) == after_first


def test_changing_one_file_stores_only_its_new_bytes(store, store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.txt": b"a" * 1000, "b.txt": b"b" * 2000})
    store.log_artifact(folder_artifact(folder))
    count, size = blob_stats(store_url)

    (folder / "b.txt").write_bytes(b"B" * 2345)
    v1 = store.log_artifact(folder_artifact(folder))

    assert (v1.version, v1.created) == ("v1", True)
    assert blob_stats(store_url) == (count + 1, size + 2345)
    assert {e.path: e.size for e in v1.files()} == {"a.txt": 1000, "b.txt": 2345}


# -- identical re-logs, older content, types ----------------------------------------------------


def test_identical_relog_returns_same_version_applies_aliases_and_warns(store, tmp_path, caplog):
    folder = make_folder(tmp_path / "d", {"x": b"x"})
    store.log_artifact(folder_artifact(folder, metadata={"acc": 0.9, "epochs": 3, "same": 1}))
    with caplog.at_level(logging.WARNING, logger="artstore"):
        again = store.log_artifact(
            folder_artifact(folder, metadata={"acc": 0.95, "epochs": 3, "same": 1, "new": "k"}),
            aliases=["candidate"],
        )
    assert (again.version, again.created) == ("v0", False)
    assert set(again.aliases) == {"latest", "candidate"}
    assert again.metadata == {"acc": 0.9, "epochs": 3, "same": 1}
    assert store.artifact("data:candidate").version == "v0"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "acc" in warnings[0] and "new" in warnings[0]
    assert "epochs" not in warnings[0] and "same" not in warnings[0]


def test_identical_relog_with_same_metadata_does_not_warn(store, tmp_path, caplog):
    folder = make_folder(tmp_path / "d", {"x": b"x"})
    store.log_artifact(folder_artifact(folder, metadata={"acc": 0.9}))
    with caplog.at_level(logging.WARNING, logger="artstore"):
        store.log_artifact(folder_artifact(folder, metadata={"acc": 0.9}))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_content_equal_to_an_older_version_makes_a_new_version(store, store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"x": b"one"})
    v0 = store.log_artifact(folder_artifact(folder))
    (folder / "x").write_bytes(b"two")
    store.log_artifact(folder_artifact(folder))
    blobs = blob_stats(store_url)
    (folder / "x").write_bytes(b"one")
    v2 = store.log_artifact(folder_artifact(folder))
    assert (v2.version, v2.created) == ("v2", True)
    assert v2.digest == v0.digest
    assert blob_stats(store_url) == blobs
    assert store.artifact("data").version == "v2"


def test_type_is_fixed_by_the_first_version(store, tmp_path):
    folder = make_folder(tmp_path / "d", {"x": b"x"})
    store.log_artifact(folder_artifact(folder, type="dataset"))
    (folder / "x").write_bytes(b"y")
    with pytest.raises(ArtifactTypeError) as info:
        store.log_artifact(folder_artifact(folder, type="model"))
    assert "dataset" in str(info.value) and "model" in str(info.value)
    assert [v.version for v in store.versions("data")] == ["v0"]


# -- the Artifact builder ------------------------------------------------------------------------


def test_add_file_default_name_and_explicit_name(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"m")
    artifact = Artifact("m", "model")
    assert artifact.add_file(tmp_path / "model.bin") == "model.bin"
    assert (
        artifact.add_file(tmp_path / "model.bin", name="weights/final.bin") == "weights/final.bin"
    )
    assert set(artifact.files) == {"model.bin", "weights/final.bin"}


def test_add_file_refuses_missing_and_unsafe(tmp_path):
    (tmp_path / "f").write_bytes(b"f")
    artifact = Artifact("m", "model")
    with pytest.raises(NotFoundError):
        artifact.add_file(tmp_path / "missing")
    with pytest.raises(UnsafePathError):
        artifact.add_file(tmp_path / "f", name="../escape")
    with pytest.raises(UnsafePathError):
        artifact.add_file(tmp_path / "f", name="/abs")


def test_add_dir_with_name_and_exclude_globs(tmp_path):
    folder = make_folder(
        tmp_path / "d",
        {
            "keep.txt": b"k",
            "skip.log": b"s",
            "sub/keep.csv": b"c",
            "sub/deep.log": b"l",
            "cache/x": b"x",
        },
    )
    artifact = Artifact("a", "dataset")
    count = artifact.add_dir(folder, name="data", exclude=["*.log", "cache/*"])
    assert count == 2
    assert set(artifact.files) == {"data/keep.txt", "data/sub/keep.csv"}


def test_add_dir_follows_links_inside_and_skips_empty_folders(store, tmp_path):
    folder = make_folder(tmp_path / "d", {"real/file.txt": b"content"})
    (folder / "empty" / "nested").mkdir(parents=True)
    (folder / "link.txt").symlink_to(folder / "real" / "file.txt")
    (folder / "linkdir").symlink_to(folder / "real", target_is_directory=True)
    artifact = Artifact("a", "dataset")
    artifact.add_dir(folder)
    assert set(artifact.files) == {"real/file.txt", "link.txt", "linkdir/file.txt"}
    version = store.log_artifact(artifact)
    out = version.download(tmp_path / "out")
    assert (out / "link.txt").read_bytes() == b"content"
    assert not (out / "link.txt").is_symlink()
    assert not (out / "empty").exists()


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_add_dir_refuses_links_pointing_outside(tmp_path, kind):
    outside = make_folder(tmp_path / "outside", {"secret": b"s"})
    folder = make_folder(tmp_path / "d", {"ok": b"ok"})
    if kind == "file":
        (folder / "escape").symlink_to(outside / "secret")
    else:
        (folder / "escape").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError) as info:
        Artifact("a", "dataset").add_dir(folder)
    assert "escape" in str(info.value)


def test_add_dir_refuses_missing_folder(tmp_path):
    with pytest.raises(NotFoundError):
        Artifact("a", "dataset").add_dir(tmp_path / "nope")


def test_new_file_text_and_binary(store, tmp_path):
    artifact = Artifact("notes", "text")
    with artifact.new_file("notes/readme.txt") as f:
        f.write("héllo")
    with artifact.new_file("raw.bin", mode="wb") as f:
        f.write(b"\x00\x01")
    version = store.log_artifact(artifact)
    out = version.download(tmp_path / "out")
    assert (out / "notes" / "readme.txt").read_bytes() == "héllo".encode()
    assert (out / "raw.bin").read_bytes() == b"\x00\x01"


def test_new_file_refuses_unsafe_names():
    with pytest.raises(UnsafePathError), Artifact("a", "t").new_file("../x"):
        pass


def test_executable_bit_is_kept_through_download(store, tmp_path):
    folder = make_folder(tmp_path / "d", {"run.sh": b"#!/bin/sh\necho hi\n", "data.txt": b"d"})
    (folder / "run.sh").chmod(0o755)
    version = store.log_artifact(folder_artifact(folder))
    assert {e.path: e.executable for e in version.files()} == {"data.txt": False, "run.sh": True}
    out = version.download(tmp_path / "out")
    assert os.stat(out / "run.sh").st_mode & stat.S_IXUSR
    assert not os.stat(out / "data.txt").st_mode & stat.S_IXUSR


def test_executable_bit_changes_the_digest(store, tmp_path):
    folder = make_folder(tmp_path / "d", {"run.sh": b"echo\n"})
    v0 = store.log_artifact(folder_artifact(folder))
    (folder / "run.sh").chmod(0o755)
    v1 = store.log_artifact(folder_artifact(folder))
    assert v1.version == "v1" and v1.digest != v0.digest


# -- acceptance 6: the stat cache ----------------------------------------------------------------


@pytest.fixture
def read_spy(monkeypatch):
    """Record every open of a file under a watched folder; optionally refuse it."""
    state = {"roots": [], "opened": [], "refuse": False}
    real_open, real_os_open = builtins.open, os.open

    def watched(path) -> bool:
        try:
            resolved = Path(os.fsdecode(path)).resolve()
        except (TypeError, ValueError):
            return False
        return any(resolved.is_relative_to(r) for r in state["roots"])

    def check(path):
        if isinstance(path, (str, bytes, os.PathLike)) and watched(path):
            state["opened"].append(Path(os.fsdecode(path)).resolve())
            if state["refuse"]:
                raise AssertionError(f"re-read {path}")

    def spy_open(file, *args, **kwargs):
        check(file)
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        check(path)
        return real_os_open(path, *args, **kwargs)

    def refuse_put(self, source, *args, **kwargs):
        raise AssertionError(f"put_file({source}) on an unchanged file")

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    state["refuse_put"] = lambda: monkeypatch.setattr(BlobStore, "put_file", refuse_put)
    return state


def test_reput_of_unchanged_folder_reads_no_file(store_url, tmp_path, read_spy):
    folder = make_folder(tmp_path / "d", {f"f{i}.bin": bytes([i]) * (100 + i) for i in range(5)})
    for path in folder.iterdir():
        backdate(path)
    with Store(store_url) as store:
        first = store.log_artifact(folder_artifact(folder))

    read_spy["roots"].append(folder.resolve())
    read_spy["refuse"] = True
    read_spy["refuse_put"]()
    with Store(store_url) as store:
        again = store.log_artifact(folder_artifact(folder))
    assert read_spy["opened"] == []
    assert (again.version, again.created, again.digest) == ("v0", False, first.digest)


def test_touching_one_file_reads_only_that_file(store_url, tmp_path, read_spy):
    folder = make_folder(tmp_path / "d", {f"f{i}.bin": bytes([i]) * 1000 for i in range(5)})
    for path in folder.iterdir():
        backdate(path)
    with Store(store_url) as store:
        first = store.log_artifact(folder_artifact(folder))

    touched = folder / "f3.bin"
    backdate(touched, seconds=-1800)  # new mtime, still outside the racy window
    read_spy["roots"].append(folder.resolve())
    with Store(store_url) as store:
        again = store.log_artifact(folder_artifact(folder))
    assert set(read_spy["opened"]) == {touched.resolve()}
    assert (again.version, again.created, again.digest) == ("v0", False, first.digest)


def test_stat_cache_is_not_trusted_for_just_written_files(store_url, tmp_path, read_spy):
    # A file modified within the racy window must be hashed again on the next put.
    folder = make_folder(tmp_path / "d", {"fresh.bin": b"fresh"})
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
    read_spy["roots"].append(folder.resolve())
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
    assert read_spy["opened"] == [(folder / "fresh.bin").resolve()]


def test_add_dir_link_back_up_the_tree_does_not_loop(tmp_path):
    folder = make_folder(tmp_path / "d", {"sub/f.txt": b"f"})
    (folder / "sub" / "up").symlink_to(folder, target_is_directory=True)
    artifact = Artifact("a", "dataset")
    artifact.add_dir(folder)
    assert set(artifact.files) == {"sub/f.txt"}
