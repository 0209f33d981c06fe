"""Logging artifacts: building them, deduplication, identical re-logs, types, the stat cache."""

from __future__ import annotations

import builtins
import errno
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fsspec.callbacks import Callback
from hypothesis import given, settings
from safetensors.numpy import save as safetensors_save

from artstore.artifacts import Artifact, Store
from artstore.errors import (
    ArtifactTypeError,
    FileAccessError,
    NotFoundError,
    SourceChangedError,
    UnsafePathError,
    UserError,
)
from artstore.settings import cache_root
from artstore.storage import (
    CHUNK_SIZE,
    DEBRIS_GRACE,
    BlobStore,
    SqliteStatCache,
    _atomic,
    stat_key,
)
from artstore.storage.chunker import CHUNKED_FROM
from tests.conftest import backdate, make_folder
from tests.hostile.harness import snapshot
from tests.strategies import manifests


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

    def refuse_puts() -> None:
        monkeypatch.setattr(BlobStore, "put_file", refuse_put)
        monkeypatch.setattr(
            BlobStore, "put_files", lambda self, files, **kw: refuse_put(self, files)
        )

    state["refuse_put"] = refuse_puts
    return state


def _put_twice_refusing_reads(store_url, folder, read_spy):
    """Put ``folder`` (backdated), then again with every read of its files refused."""
    for path in folder.iterdir():
        backdate(path)
    with Store(store_url) as store:
        first = store.log_artifact(folder_artifact(folder))

    read_spy["roots"].append(folder.resolve())
    read_spy["refuse"] = True
    read_spy["refuse_put"]()
    with Store(store_url) as store:
        again = store.log_artifact(folder_artifact(folder))
    return first, again


def test_reput_of_unchanged_folder_reads_no_file(store_url, tmp_path, read_spy):
    folder = make_folder(tmp_path / "d", {f"f{i}.bin": bytes([i]) * (100 + i) for i in range(5)})
    first, again = _put_twice_refusing_reads(store_url, folder, read_spy)
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


# -- files that change while they are read ---------------------------------------------------------


class OnFirstUpdate(Callback):  # type: ignore[misc]
    """A progress callback that acts once, on its first update: between two copy steps, so
    what it does to a file happens while the put reads it."""

    def __init__(self, action) -> None:
        super().__init__()
        self.action = action
        self.updates = 0

    def relative_update(self, inc: int = 1) -> None:
        self.updates += 1
        if self.updates == 1:
            self.action()


def _truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


def _append(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"appended while it was read")


def _rewrite(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(os.urandom(size))


CHANGES = {"truncate": _truncate, "append": _append, "rewrite": _rewrite}


def _cached_digests(keys) -> dict:
    return SqliteStatCache(cache_root() / "statcache.db").lookup(keys)


@pytest.fixture(params=["small", "kernel copy", "one pass"])
def put_path(request, tmp_path, monkeypatch):
    """A folder for the source file, the size that takes the path, for each way a file is
    read: whole (small), by the kernel with a side hash, or in one read/write pass (another
    filesystem than the store, as /dev/shm is here)."""
    if request.param == "small":
        return tmp_path / "src", 300_000
    if request.param == "kernel copy":
        monkeypatch.setattr(_atomic, "_KERNEL_STEP", 1 << 20)  # several steps for 3 MiB
        return tmp_path / "src", 3 << 20
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    folder = Path(tempfile.mkdtemp(dir=shm))
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder / "src", 3 * CHUNK_SIZE // 2  # two chunks: an update between them


@pytest.mark.parametrize("change", CHANGES)
def test_a_file_changed_while_it_is_read_is_refused_and_nothing_is_kept(
    store_url, put_path, change
):
    folder, size = put_path
    make_folder(folder, {"z-after.bin": b"read after" * 10, "model.bin": os.urandom(size)})
    model = folder / "model.bin"
    backdate(model)
    backdate(folder / "z-after.bin")
    keys = [stat_key(p.stat()) for p in folder.iterdir()]
    before = snapshot(Path(store_url))
    artifact = folder_artifact(folder)
    with Store(store_url) as store, pytest.raises(SourceChangedError) as info:
        store.log_artifact(artifact, callback=OnFirstUpdate(lambda: CHANGES[change](model)))
    assert str(model) in str(info.value) and "changed while it was read" in str(info.value)
    assert snapshot(Path(store_url)) == before, "no blob, staging file, manifest or row"
    keys.append(stat_key(model.stat()))
    assert _cached_digests(keys) == {}, "no stat cache entry, for the old stat or the new"
    # Once the file is left alone, it is logged as it is now.
    with Store(store_url) as store:
        version = store.log_artifact(folder_artifact(folder))
        out = version.download(folder.parent / "out")
    assert (out / "model.bin").read_bytes() == model.read_bytes()


def test_a_file_changed_after_the_listing_and_before_its_read_is_refused(store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.bin": b"a" * 100, "b.bin": b"b" * 100})
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(SourceChangedError, match=r"b\.bin"):
        # a.bin is read first; b.bin was already listed (stat) when it grows.
        store.log_artifact(
            folder_artifact(folder), callback=OnFirstUpdate(lambda: _append(folder / "b.bin"))
        )
    assert snapshot(Path(store_url)) == before


def test_every_file_of_a_refused_put_is_left_out_of_the_store(store_url, tmp_path):
    # The change comes last: the files read before it are not kept either.
    folder = make_folder(tmp_path / "d", {f"f{i}.bin": os.urandom(2000 + i) for i in range(5)})
    before = snapshot(Path(store_url))
    last = folder / "f4.bin"
    with Store(store_url) as store, pytest.raises(SourceChangedError):
        store.log_artifact(folder_artifact(folder), callback=OnFirstUpdate(lambda: _append(last)))
    assert snapshot(Path(store_url)) == before


def test_a_file_rewritten_within_its_mtime_tick_is_never_stored_under_another_digest(
    store_url, tmp_path, monkeypatch
):
    # A write within the clock tick of the file's last one leaves its stat as it was, so the
    # stat check cannot see it; the kernel copy and the side hash then read different bytes.
    monkeypatch.setattr(_atomic, "_KERNEL_STEP", 1 << 20)  # several steps for 3 MiB
    hashed = threading.Event()
    real_hash = _atomic._hash_fd

    def hash_then_signal(fd: int):
        try:
            return real_hash(fd)
        finally:
            hashed.set()

    monkeypatch.setattr(_atomic, "_hash_fd", hash_then_signal)
    folder = make_folder(tmp_path / "d", {"model.bin": os.urandom(3 << 20)})
    model = folder / "model.bin"

    def rewrite_keeping_its_stat() -> None:
        assert hashed.wait(30)  # the side hash has read the old bytes; the copy has not
        st = model.stat()
        _rewrite(model)
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))

    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(SourceChangedError, match=r"model\.bin"):
        store.log_artifact(
            folder_artifact(folder), callback=OnFirstUpdate(rewrite_keeping_its_stat)
        )
    assert snapshot(Path(store_url)) == before


# -- links checked when a file is read ---------------------------------------------------------


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_file_replaced_by_a_link_outside_after_add_dir_is_refused(store_url, tmp_path, what):
    outside = make_folder(tmp_path / "outside", {"secret.bin": b"SECRET", "sub/x.bin": b"SECRET"})
    folder = make_folder(tmp_path / "d", {"ok.bin": b"ok", "sub/x.bin": b"x"})
    artifact = folder_artifact(folder)
    if what == "file":
        (folder / "ok.bin").unlink()
        (folder / "ok.bin").symlink_to(outside / "secret.bin")
        named = "ok.bin"
    else:
        shutil.rmtree(folder / "sub")
        (folder / "sub").symlink_to(outside / "sub", target_is_directory=True)
        named = "sub"
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(UnsafePathError) as info:
        store.log_artifact(artifact)
    assert named in str(info.value) and "outside" in str(info.value)
    assert snapshot(Path(store_url)) == before


def test_a_link_swapped_in_while_the_put_reads_is_refused(store_url, tmp_path):
    # b.bin is stat'ed as a regular file inside the folder, then becomes a link to a file
    # outside before it is opened: the file opened is not the file listed.
    outside = make_folder(tmp_path / "outside", {"secret.bin": b"SECRET" * 20})
    folder = make_folder(tmp_path / "d", {"a.bin": b"a" * 100, "b.bin": b"b" * 120})

    def swap() -> None:
        (folder / "b.bin").unlink()
        (folder / "b.bin").symlink_to(outside / "secret.bin")

    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(UnsafePathError, match=r"b\.bin"):
        store.log_artifact(folder_artifact(folder), callback=OnFirstUpdate(swap))
    assert snapshot(Path(store_url)) == before


def test_a_link_that_still_leads_inside_is_followed_at_read_time(store, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.bin": b"a", "real/b.bin": b"b"})
    artifact = folder_artifact(folder)
    (folder / "a.bin").unlink()
    (folder / "a.bin").symlink_to(folder / "real" / "b.bin")
    version = store.log_artifact(artifact)
    assert {e.path: e.size for e in version.files()} == {"a.bin": 1, "real/b.bin": 1}


def test_add_dir_does_not_stat_every_file(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "d", {f"f{i}": b"x" for i in range(50)})
    calls = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda *a, _real=real, **k: calls.append(a) or _real(*a, **k))
    Artifact("a", "dataset").add_dir(folder)
    assert len(calls) < 10


# -- ordinary bad input: one typed error, nothing kept --------------------------------------------


def test_a_file_removed_between_add_and_log_is_refused(store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.bin": b"a", "gone.bin": b"g"})
    artifact = folder_artifact(folder)
    (folder / "gone.bin").unlink()
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(NotFoundError, match=r"gone\.bin no longer"):
        store.log_artifact(artifact)
    assert snapshot(Path(store_url)) == before


def test_an_unreadable_file_is_refused_and_leaves_no_blob(store_url, tmp_path, monkeypatch):
    # Root reads anything, so the refusal is made at the OS boundary: os.open says EACCES.
    folder = make_folder(tmp_path / "d", {"a.bin": b"readable", "locked.bin": b"no access"})
    real_open = os.open

    def deny(path, flags, *args, **kwargs):
        if str(path).endswith("locked.bin"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(FileAccessError, match=r"locked\.bin"):
        store.log_artifact(folder_artifact(folder))
    assert snapshot(Path(store_url)) == before


def test_a_type_mismatch_is_refused_before_anything_is_stored(store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"x": b"x"})
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder, type="dataset"))
    (folder / "x").write_bytes(os.urandom(3 << 20))
    (folder / "y").write_bytes(b"new small file")
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(ArtifactTypeError):
        store.log_artifact(folder_artifact(folder, type="model"))
    assert snapshot(Path(store_url)) == before


# -- the store never contains itself ---------------------------------------------------------------


def test_a_folder_holding_the_store_is_logged_without_it(tmp_path, caplog):
    project = make_folder(tmp_path / "proj", {"train.py": b"print(1)", "data/x.csv": b"1,2"})
    with Store.init(str(project / ".artstore")) as store:
        store.log_artifact(folder_artifact(project, "first"))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="artstore"):
            version = store.log_artifact(folder_artifact(project, "proj"))
    assert sorted(e.path for e in version.files()) == ["data/x.csv", "train.py"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str((project / ".artstore").resolve()) in warnings[0]


def test_a_catalog_inside_the_folder_is_left_out_too(tmp_path, caplog):
    project = make_folder(tmp_path / "proj", {"train.py": b"print(1)"})
    catalog = project / "meta" / "catalog.sqlite"
    catalog.parent.mkdir()
    with Store.init(str(tmp_path / "store"), db=f"sqlite:///{catalog}") as store:
        store.log_artifact(folder_artifact(project, "first"))  # the catalog has a WAL now
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="artstore"):
            version = store.log_artifact(folder_artifact(project, "proj"))
    assert [e.path for e in version.files()] == ["train.py"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "catalog.sqlite" in warnings[0]


def test_a_folder_that_is_only_the_store_is_refused(tmp_path):
    with Store.init(str(tmp_path / "s")) as store:
        store.log_artifact(folder_artifact(make_folder(tmp_path / "d", {"x": b"x"})))
        before = snapshot(tmp_path / "s")
        with pytest.raises(UserError, match="a store never contains itself"):
            store.log_artifact(folder_artifact(tmp_path / "s", "self"))
    assert snapshot(tmp_path / "s") == before


# -- a put heals damaged blobs ---------------------------------------------------------------------


def _damage(store_url: str, digest: str, how: str) -> Path:
    blob = Path(store_url) / "blobs" / digest[:2] / digest[2:]
    if how == "missing":  # as `art verify --repair` leaves it: moved to quarantine/
        blob.unlink()
    else:
        blob.chmod(0o644)
        blob.write_bytes(b"short")
    return blob


@pytest.mark.parametrize("how", ["missing", "wrong size"])
@pytest.mark.parametrize("path", ["unchanged folder", "stat cache", "another folder"])
def test_a_put_stores_a_damaged_blob_again(store_url, tmp_path, how, path):
    data = {"model.bin": os.urandom(3 << 20), "small.txt": b"small" * 100, "other": b"o"}
    folder = make_folder(tmp_path / "d", data)
    for file in folder.iterdir():
        backdate(file)
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
        entries = {e.path: e.digest for e in store.artifact("data").files()}
    blobs = [_damage(store_url, entries[name].hex, how) for name in ("model.bin", "small.txt")]
    if path == "stat cache":
        backdate(folder / "other", seconds=1800)  # the folder changed; these two did not
    elif path == "another folder":
        folder = make_folder(tmp_path / "copy", data)
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
        assert store.verify().ok
    assert [b.read_bytes() for b in blobs] == [data["model.bin"], data["small.txt"]]


# -- debris ------------------------------------------------------------------------------------


def test_a_put_removes_old_staging_files_and_keeps_young_ones(store, store_url, tmp_path):
    tmp = Path(store_url) / "tmp"
    old, young = tmp / ".old.partial", tmp / ".young.partial"
    old.write_bytes(b"x" * 1000)
    young.write_bytes(b"y")
    then = time.time() - DEBRIS_GRACE - 1
    os.utime(old, (then, then))
    store.log_artifact(folder_artifact(make_folder(tmp_path / "d", {"x": b"x"})))
    assert not old.exists() and young.exists()


# -- large files, stored in pieces -------------------------------------------------------------


def _safetensors(path: Path, seed: int, changed: int | None = None) -> None:
    """A 10 MiB safetensors model of 10 tensors; ``changed`` gives one tensor other values."""
    rng = np.random.default_rng(seed)
    tensors = {f"layer{i}": rng.standard_normal(256 * 1024, dtype=np.float32) for i in range(10)}
    if changed is not None:
        tensors[f"layer{changed}"] = tensors[f"layer{changed}"] + 1
    path.write_bytes(safetensors_save(tensors))


def _pieces(store: Store, name: str, path: str):
    (entry,) = [e for e in store.artifact(name).files() if e.path == path]
    return entry


def test_a_large_file_is_logged_in_pieces_and_a_fine_tune_stores_only_its_change(
    store_url, tmp_path
):
    folder = make_folder(tmp_path / "d", {"config.json": b"{}"})
    _safetensors(folder / "model.safetensors", 1)
    with Store(store_url) as store:
        first = store.log_artifact(folder_artifact(folder, "m", type="model"))
        entry = _pieces(store, "m", "model.safetensors")
    assert [c.tensor for c in entry.chunks] == [None, *(f"layer{i}" for i in range(10))]
    assert first.new_bytes == first.size
    raw = (Path(store_url) / "manifests" / first.digest[:2] / first.digest[2:]).read_bytes()
    assert b'"format":2' in raw and b'"tensor":"layer3"' in raw
    _safetensors(folder / "model.safetensors", 1, changed=3)
    with Store(store_url) as store:
        second = store.log_artifact(folder_artifact(folder, "m", type="model"))
    assert second.version == "v1"
    assert second.new_bytes == 256 * 1024 * 4, "the changed tensor alone"
    with Store(store_url) as store:
        assert store.artifact("m:v1").new_bytes == second.new_bytes, "as its put recorded"


def test_a_folder_of_small_files_keeps_its_format_1_manifest(store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.bin": b"a" * 100, "b.bin": os.urandom(1 << 20)})
    with Store(store_url) as store:
        version = store.log_artifact(folder_artifact(folder))
    raw = (Path(store_url) / "manifests" / version.digest[:2] / version.digest[2:]).read_bytes()
    assert raw.endswith(b'},"format":1}') and b"chunks" not in raw


@pytest.mark.parametrize("change", CHANGES)
def test_a_large_file_changed_while_its_pieces_are_read_is_refused_and_nothing_is_kept(
    store_url, tmp_path, change
):
    folder = make_folder(tmp_path / "d", {"z-after.bin": b"read after" * 10})
    model = folder / "model.bin"
    model.write_bytes(os.urandom(CHUNKED_FROM + (3 << 20)))
    backdate(model)
    backdate(folder / "z-after.bin")
    keys = [stat_key(p.stat()) for p in folder.iterdir()]
    before = snapshot(Path(store_url))
    with Store(store_url) as store, pytest.raises(SourceChangedError) as info:
        store.log_artifact(
            folder_artifact(folder), callback=OnFirstUpdate(lambda: CHANGES[change](model))
        )
    assert str(model) in str(info.value) and "changed while it was read" in str(info.value)
    assert snapshot(Path(store_url)) == before, "no piece, staging file, manifest or row"
    keys.append(stat_key(model.stat()))
    assert _cached_digests(keys) == {}, "no stat cache entry, for the old stat or the new"


def test_reput_of_unchanged_large_files_reads_no_file(store_url, tmp_path, read_spy):
    folder = make_folder(tmp_path / "d", {"big.bin": os.urandom(CHUNKED_FROM + 1000)})
    _safetensors(folder / "model.safetensors", 2)
    first, again = _put_twice_refusing_reads(store_url, folder, read_spy)
    assert read_spy["opened"] == []
    assert (again.created, again.digest, again.new_bytes) == (False, first.digest, 0)
    with Store(store_url) as store:
        recorded = store.artifact("data:v0").new_bytes
    assert recorded == first.new_bytes == first.size, "as its put recorded"


@pytest.mark.parametrize("first_off", [True, False])
def test_an_unchanged_folder_is_put_again_when_chunking_is_switched(
    store_url, tmp_path, monkeypatch, first_off
):
    # The folder's remembered manifest holds piece lists, or none: it is not reused when
    # ARTSTORE_CHUNKING changes how large files are stored.
    folder = make_folder(tmp_path / "d", {"big.bin": os.urandom(CHUNKED_FROM + 1000)})
    backdate(folder / "big.bin")
    versions = []
    for off in (first_off, not first_off, first_off):
        if off:
            monkeypatch.setenv("ARTSTORE_CHUNKING", "off")
        else:
            monkeypatch.delenv("ARTSTORE_CHUNKING", raising=False)
        with Store(store_url) as store:
            versions.append(store.log_artifact(folder_artifact(folder)))
            chunks = _pieces(store, "data", "big.bin").chunks
        assert bool(chunks) is not off
    assert versions[0].digest != versions[1].digest
    assert (versions[2].digest, versions[2].version) == (versions[0].digest, "v2")


def test_an_unchanged_large_file_is_not_read_when_its_folder_changed(
    store_url, tmp_path, read_spy
):
    folder = make_folder(tmp_path / "d", {"big.bin": os.urandom(CHUNKED_FROM + 1000)})
    (folder / "note.txt").write_bytes(b"one")
    for path in folder.iterdir():
        backdate(path)
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
    (folder / "note.txt").write_bytes(b"two")
    backdate(folder / "note.txt", seconds=1800)
    read_spy["roots"].append(folder.resolve())
    with Store(store_url) as store:
        again = store.log_artifact(folder_artifact(folder))
    assert set(read_spy["opened"]) == {(folder / "note.txt").resolve()}
    assert (again.version, again.new_bytes) == ("v1", 3)
    with Store(store_url) as store:
        assert store.artifact("data:v1").new_bytes == 3


@pytest.mark.parametrize("how", ["missing", "wrong size"])
@pytest.mark.parametrize("path", ["unchanged folder", "stat cache", "another folder"])
def test_a_put_stores_a_damaged_piece_again(store_url, tmp_path, how, path):
    data = {"model.bin": os.urandom(CHUNKED_FROM + 1000), "other": b"o"}
    folder = make_folder(tmp_path / "d", data)
    for file in folder.iterdir():
        backdate(file)
    with Store(store_url) as store:
        store.log_artifact(folder_artifact(folder))
        chunks = _pieces(store, "data", "model.bin").chunks
    blob = _damage(store_url, chunks[1].digest.hex, how)
    if path == "stat cache":
        backdate(folder / "other", seconds=1800)  # the folder changed; the model did not
    elif path == "another folder":
        folder = make_folder(tmp_path / "copy", data)
    with Store(store_url) as store:
        version = store.log_artifact(folder_artifact(folder))
    assert version.new_bytes == chunks[1].size
    start = sum(c.size for c in chunks[:1])
    assert blob.read_bytes() == data["model.bin"][start : start + chunks[1].size]


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(manifests())
def test_the_re_put_check_names_the_blobs_blob_refs_names(manifest):
    # _blob_sizes reads manifest JSON by hand for speed; it must name what blob_refs() does.
    from artstore.artifacts.log import _blob_sizes

    expected = [(c.digest.hex, c.size) for entry in manifest for c in entry.blob_refs()]
    assert sorted(_blob_sizes(manifest.encode())) == sorted(expected)
