"""``run.save``: files kept with a run as blobs, online and offline + sync, and what is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import (
    FileAccessError,
    InvalidArgumentError,
    InvalidSpoolError,
    NotFoundError,
    RunStateError,
    SourceChangedError,
    UnsafePathError,
    UnsupportedFormatError,
)
from artstore.storage import Digest, Kind, blobstore, open_store
from artstore.tracker import sync_spool
from artstore.tracker.spool import SPOOL_FILE
from tests.tracker.conftest import FAST


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _files(store_url: str, run_id: str) -> dict[str, bytes]:
    with Store(store_url) as store:
        info = store.run(run_id)
        out = Path(store_url).parent / f"out-{run_id}"
        return {f.name: f.download(out, replace=True).read_bytes() for f in info.files()}


def test_now_live_end_online(store_url, workdir):
    (workdir / "ckpt").mkdir()
    (workdir / "ckpt" / "a.pt").write_bytes(b"a0")
    (workdir / "notes.txt").write_text("n0")
    run = artstore.init(store=store_url, **FAST)
    assert run.save("ckpt/*.pt") == ["ckpt/a.pt"]  # live
    assert run.save("notes.txt", policy="now") == ["notes.txt"]
    assert run.save("final.bin", policy="end") == []  # may not exist yet
    (workdir / "ckpt" / "a.pt").write_bytes(b"a1")  # changed: kept again at the end
    (workdir / "ckpt" / "b.pt").write_bytes(b"b1")  # new: the live glob finds it at the end
    (workdir / "notes.txt").write_text("n1")  # "now": not looked at again
    (workdir / "final.bin").write_bytes(b"end")
    run.finish()
    assert _files(store_url, run.id) == {
        "ckpt/a.pt": b"a1",
        "ckpt/b.pt": b"b1",
        "final.bin": b"end",
        "notes.txt": b"n0",
    }
    with Store(store_url) as store:
        kept = {f.name: f for f in store.run(run.id).files()}
        assert kept["final.bin"].policy == "end" and kept["notes.txt"].policy == "now"
        assert kept["final.bin"].size == 3 and len(kept["final.bin"].digest) == 32


def test_unchanged_file_is_recorded_once(store_url, workdir):
    (workdir / "m.pt").write_bytes(b"m")
    run = artstore.init(store=store_url, **FAST)
    run.save("m.pt", policy="now")
    run.save("m.pt", policy="now")
    run.save("m.pt")
    run.finish()
    with Store(store_url) as store:
        assert len(store.repository.catalog.runs.files(run.id)) == 1


def test_names_are_relative_to_base_path(store_url, workdir):
    (workdir / "out" / "sub").mkdir(parents=True)
    (workdir / "out" / "sub" / "w.bin").write_bytes(b"w")
    with artstore.init(store=store_url, **FAST) as run:
        assert run.save("out/sub/*.bin", base_path="out", policy="now") == ["sub/w.bin"]
        absolute = str(workdir / "out" / "sub" / "w.bin")
        # As wandb.save: an absolute path without base_path keeps its folder's name.
        assert run.save(absolute, policy="now") == ["sub/w.bin"]


@pytest.mark.parametrize(
    ("glob", "base", "error"),
    [
        ("../x", None, UnsafePathError),
        ("/etc/passwd", ".", UnsafePathError),
        ("a\x00b", None, InvalidArgumentError),
        ("s3://bucket/x", None, InvalidArgumentError),
        (None, None, InvalidArgumentError),
        (".", None, InvalidArgumentError),
    ],
)
def test_hostile_globs_are_refused(store_url, workdir, glob, base, error):
    (workdir / "x").write_text("x")
    blobs = _blobs(store_url)
    with artstore.init(store=store_url, **FAST) as run, pytest.raises(error):
        run.save(glob, base_path=base, policy="now")
    assert _blobs(store_url) == blobs
    with Store(store_url) as store:
        assert store.run(run.id).files() == []


def _blobs(store_url: str) -> list[str]:
    return sorted(str(p) for p in (Path(store_url) / "blobs").rglob("*"))


def test_unknown_policy_is_refused(store_url, workdir):
    with artstore.init(store=store_url, **FAST) as run, pytest.raises(InvalidArgumentError):
        run.save("x", policy="sometimes")


def test_link_leaving_base_path_is_refused(store_url, workdir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    os.symlink(secret, workdir / "link.txt")
    with artstore.init(store=store_url, **FAST) as run:
        with pytest.raises(UnsafePathError):
            run.save("link.txt", policy="now")
        assert run.save("*.none", policy="now") == []
    with Store(store_url) as store:
        assert store.run(run.id).files() == []


def test_a_file_changed_while_saved_is_refused(store_url, workdir, monkeypatch):
    target = workdir / "grow.bin"
    target.write_bytes(b"x" * 1000)
    real = blobstore.open_source
    run = artstore.init(store=store_url, **FAST)
    monkeypatch.setattr(blobstore, "open_source", _growing(target))
    with pytest.raises(SourceChangedError):
        run.save("grow.bin", policy="now")
    monkeypatch.setattr(blobstore, "open_source", real)
    run.finish()
    with Store(store_url) as store:
        assert store.run(run.id).files() == []


def test_a_file_that_cannot_be_kept_at_the_end_does_not_stop_finish(
    store_url, workdir, caplog, monkeypatch
):
    target = workdir / "end.bin"
    target.write_bytes(b"e" * 1000)
    run = artstore.init(store=store_url, **FAST)
    run.save("end.bin", policy="end")
    monkeypatch.setattr(blobstore, "open_source", _growing(target))
    run.finish()
    assert "end.bin was not kept" in caplog.text and "changed while it was read" in caplog.text
    with Store(store_url) as store:
        assert store.run(run.id).state == "finished"
        assert store.run(run.id).files() == []


def _growing(target: Path):
    real = blobstore.open_source

    def changing(file):
        source = real(file)
        with open(target, "ab") as f:
            f.write(b"more")
        return source

    return changing


def test_save_after_finish_is_refused(store_url, workdir):
    run = artstore.init(store=store_url, **FAST)
    run.finish()
    with pytest.raises(RunStateError):
        run.save("x")


def test_module_level_save(store_url, workdir):
    (workdir / "m.txt").write_text("m")
    with artstore.init(store=store_url, **FAST) as run:
        assert artstore.save("m.txt", policy="now") == ["m.txt"]
    assert _files(store_url, run.id) == {"m.txt": b"m"}


def test_download_checks(store_url, workdir):
    (workdir / "m.txt").write_text("m")
    with artstore.init(store=store_url, **FAST) as run:
        run.save("m.txt", policy="now")
    with Store(store_url) as store:
        info = store.run(run.id)
        with pytest.raises(NotFoundError, match="art runs files"):
            info.file("other.txt")
        kept = info.file("m.txt")
        out = workdir / "dl"
        assert kept.download(out).read_text() == "m"
        with pytest.raises(FileAccessError, match="replace=True"):
            kept.download(out)
        assert kept.download(out, exist_ok=True) == out / "m.txt"
        with pytest.raises(FileAccessError, match="store's own folder"):
            kept.download(store_url)


def test_disabled_run_keeps_nothing(store_url, workdir):
    (workdir / "m.txt").write_text("m")
    with artstore.init(store=store_url, mode="disabled", **FAST) as run:
        assert run.save("m.txt") == ["m.txt"]


# -- offline ----------------------------------------------------------------------------------


def _offline(store_url, workdir, **kwargs):
    (workdir / "model.pt").write_bytes(b"weights")
    run = artstore.init(store=store_url, mode="offline", dir=workdir, **FAST, **kwargs)
    run.save("model.pt", policy="now")
    run.finish()
    return run


def test_offline_files_sync_once(store_url, workdir):
    run = _offline(store_url, workdir)
    with Store(store_url) as store:
        first = sync_spool(run.dir, store)
        again = sync_spool(run.dir, store)
    assert (first.new_files, again.new_files) == (1, 0)
    assert _files(store_url, run.id) == {"model.pt": b"weights"}


def _rewrite(spool: Path, kind: str, change) -> None:
    path = spool / SPOOL_FILE
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["type"] == kind:
            change(record)
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r.update(name="../x"), "name"),
        (lambda r: r.update(name="/abs"), "name"),
        (lambda r: r.update(name="a\x00b"), "name"),
        (lambda r: r.update(digest="0" * 32), "lacks"),
        (lambda r: r.update(size=r["size"] + 1), "size"),
        (lambda r: r.update(policy="often"), "policy"),
        (lambda r: r.update(format=1), "format"),
        (lambda r: r.update(extra=1), "extra"),
    ],
)
def test_hostile_file_records_are_refused(store_url, workdir, change, match):
    run = _offline(store_url, workdir)
    _rewrite(run.dir, "file", change)
    with Store(store_url) as store, pytest.raises(InvalidSpoolError, match=match):
        sync_spool(run.dir, store)


def test_a_format_1_reader_refuses_a_file_record(store_url, workdir, monkeypatch):
    from artstore.tracker import _spool_read

    run = _offline(store_url, workdir)
    monkeypatch.setattr(_spool_read, "SPOOL_FORMATS", (1,))
    with Store(store_url) as store, pytest.raises(UnsupportedFormatError, match="format 2"):
        sync_spool(run.dir, store)


def test_a_run_without_entity_spools_format_1(store_url, workdir):
    run = artstore.init(store=store_url, mode="offline", dir=workdir, **FAST)
    run.finish()
    records = [json.loads(x) for x in (run.dir / SPOOL_FILE).read_text().splitlines()]
    assert {r["format"] for r in records} == {1}
    assert "entity" not in records[0]["fields"]


@pytest.mark.parametrize("folder", ["runs[x]", "a*b", "what?"])
def test_a_glob_character_in_the_base_folder_is_not_a_glob(
    store_url, tmp_path, monkeypatch, folder
):
    base = tmp_path / folder
    base.mkdir()
    (base / "model.pt").write_bytes(b"m")
    monkeypatch.chdir(base)
    with artstore.init(store=store_url, **FAST) as run:
        assert run.save("model.pt", policy="now") == ["model.pt"]
        assert run.save(str(base / "*.pt"), base_path=str(base), policy="now") == ["model.pt"]
    assert _files(store_url, run.id) == {"model.pt": b"m"}


def test_a_live_glob_matching_nothing_warns(store_url, workdir, caplog):
    with artstore.init(store=store_url, **FAST) as run:
        assert run.save("*.ckpt") == []
        assert run.save("*.none", policy="end") == []
    assert "save('*.ckpt', policy='live') matched no file" in caplog.text
    assert "*.none" not in caplog.text


def test_a_refused_name_keeps_the_other_matches(store_url, workdir, caplog):
    (workdir / "a.txt").write_text("a")
    (workdir / "b\\c.txt").write_text("bad")
    with artstore.init(store=store_url, **FAST) as run:
        assert run.save("*.txt", policy="live") == ["a.txt"]
        assert "a match was not kept" in caplog.text and "backslashes" in caplog.text
        (workdir / "a.txt").write_text("a2")
        caplog.clear()
    assert "at the end of the run: a match was not kept" in caplog.text
    assert _files(store_url, run.id) == {"a.txt": b"a2"}


def test_a_live_glob_is_matched_at_the_end_even_if_a_file_failed(store_url, workdir, monkeypatch):
    (workdir / "a.bin").write_bytes(b"a" * 100)
    target = workdir / "b.bin"
    target.write_bytes(b"b" * 100)
    real = blobstore.open_source
    run = artstore.init(store=store_url, **FAST)

    def changing_b(file):
        source = real(file)
        if file.path.endswith("b.bin"):
            with open(target, "ab") as f:
                f.write(b"more")
        return source

    monkeypatch.setattr(blobstore, "open_source", changing_b)
    with pytest.raises(SourceChangedError):
        run.save("*.bin", policy="live")
    monkeypatch.setattr(blobstore, "open_source", real)
    run.finish()
    kept = _files(store_url, run.id)
    assert kept == {"a.bin": b"a" * 100, "b.bin": target.read_bytes()}


def test_a_corrupt_spooled_file_is_the_spools_fault_and_stores_nothing(store_url, workdir):
    run = _offline(store_url, workdir)
    [record] = [
        json.loads(line)
        for line in (run.dir / SPOOL_FILE).read_text().splitlines()
        if json.loads(line)["type"] == "file"
    ]
    spool_store = open_store(str(run.dir / "store"))
    blob = Path(spool_store.path(Kind.BLOB, Digest.parse(record["digest"])))
    blob.chmod(0o644)
    blob.write_bytes(b"WEIGHTS")  # the same size: only its digest tells
    before = _blobs(store_url)
    with Store(store_url) as store, pytest.raises(InvalidSpoolError) as caught:
        sync_spool(run.dir, store)
    message = str(caught.value)
    assert str(run.dir / SPOOL_FILE) in message and "is corrupt" in message
    assert "art verify" not in message
    assert _blobs(store_url) == before


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_large_file_is_kept_whole_and_downloads(store_url, workdir, monkeypatch, mode):
    from artstore.storage import chunker

    monkeypatch.setattr(chunker, "CHUNKED_FROM", 1024)  # large enough to be cut, if it were
    data = os.urandom(3 * 1024 * 1024)  # more than one piece by content
    (workdir / "big.bin").write_bytes(data)
    run = artstore.init(store=store_url, mode=mode, dir=str(workdir), **FAST)
    run.save("big.bin", policy="now")
    run.finish()
    if mode == "offline":
        with Store(store_url) as store:
            sync_spool(run.dir, store)
    assert _files(store_url, run.id) == {"big.bin": data}
    with Store(store_url) as store:
        assert store.verify().ok
