"""Verification: every version checked, every problem named with its version, path, digests
and sizes; ``deep`` re-hashes; ``repair`` sets damaged objects aside and removes debris."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import artstore
from artstore.artifacts import Artifact, Store
from artstore.cli import cli
from artstore.storage import Digest, Kind, canonical_json, hash_bytes, init_store
from tests.artifacts.test_download import record_manifest
from tests.conftest import record_version


def _log(store: Store, folder: Path, files: dict[str, bytes], name: str = "data") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    artifact = Artifact(name, "dataset")
    artifact.add_dir(folder)
    store.log_artifact(artifact)


def _blob_path(store: Store, data: bytes) -> Path:
    return Path(store.blobs.path(Kind.BLOB, hash_bytes(data)))


def _overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def _stale(path: Path, data: bytes = b"x" * 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    old = time.time() - 2 * 3600
    os.utime(path, (old, old))
    return path


def test_clean_store_verifies(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"one", "y.bin": b"two"})
    for deep in (False, True):
        report = store.verify(deep=deep)
        assert report.ok and report.deep is deep
        assert (report.versions, report.files, report.blobs, report.bytes) == (1, 2, 2, 6)


def test_same_size_corruption_is_found_by_deep_only_and_reported_per_version(
    store: Store, tmp_path: Path
) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"shared", "y.bin": b"v0"})
    _log(store, tmp_path / "a", {"x.bin": b"shared", "y.bin": b"v1"})
    blob = _blob_path(store, b"shared")
    _overwrite(blob, b"rotten")

    assert store.verify("data").ok, "the plain check reads sizes, not bytes"
    report = store.verify("data", deep=True)
    assert report.blobs == 3
    assert [(p.version, p.path, p.kind) for p in report.problems] == [
        ("data:v0", "x.bin", "corrupt"),
        ("data:v1", "x.bin", "corrupt"),
    ]
    problem = report.problems[0]
    assert problem.digest == hash_bytes(b"shared").hex
    assert problem.actual == hash_bytes(b"rotten").hex
    assert f"blob {problem.digest} hashes to {problem.actual}" in str(problem)
    assert blob.read_bytes() == b"rotten", "verify without --repair changes nothing"


def test_a_truncated_blob_is_a_wrong_size_without_hashing(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"0123456789"})
    _overwrite(_blob_path(store, b"0123456789"), b"01234")
    (problem,) = store.verify().problems
    assert (problem.kind, problem.path, problem.size, problem.actual_size) == (
        "wrong-size",
        "x.bin",
        10,
        5,
    )
    assert problem.actual is None
    assert "holds 5 bytes, the manifest says 10" in str(problem)
    (deep,) = store.verify(deep=True).problems
    assert deep.actual == hash_bytes(b"01234").hex


def test_a_manifest_that_lies_about_a_size_fails_and_repair_keeps_the_good_blob(
    store: Store, tmp_path: Path
) -> None:
    good = store.blobs.put_bytes(Kind.BLOB, b"good bytes").digest
    raw = canonical_json({"entries": {"f.bin": {"digest": good.hex, "size": 99}}, "format": 1})
    digest = store.blobs.put_bytes(Kind.MANIFEST, raw).digest
    record_version(store, "liar", digest.hex, size=99, file_count=1, who="x@y")
    (problem,) = store.verify().problems
    assert (problem.kind, problem.size, problem.actual_size) == ("wrong-size", 99, 10)
    report = store.verify(repair=True)
    (problem,) = report.problems
    assert report.quarantined == [] and problem.quarantined is None
    assert problem.actual == good.hex and "the manifest is wrong" in str(problem)
    assert store.blobs.read_bytes(Kind.BLOB, good) == b"good bytes"


def test_an_unsafe_manifest_does_not_stop_the_other_versions(store: Store, tmp_path: Path) -> None:
    record_manifest(store, "evil", {"../escape": b"x"})
    _log(store, tmp_path / "a", {"x.bin": b"gone"}, name="zeta")
    _blob_path(store, b"gone").unlink()
    report = store.verify()
    assert report.versions == 2
    assert [(p.version, p.kind) for p in report.problems] == [
        ("evil:v0", "bad-manifest"),
        ("zeta:v0", "missing"),
    ]
    assert "unsafe path '../escape'" in str(report.problems[0].reason)


def test_missing_and_corrupt_manifests_are_named(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"a"}, name="gone")
    _log(store, tmp_path / "b", {"x.bin": b"b"}, name="rot")
    gone, rot = store.artifact("gone"), store.artifact("rot")
    Path(store.blobs.path(Kind.MANIFEST, Digest(gone.digest))).unlink()
    rot_path = Path(store.blobs.path(Kind.MANIFEST, Digest(rot.digest)))
    _overwrite(rot_path, b"{}")
    problems = store.verify().problems
    assert [(p.version, p.kind, p.reason) for p in problems] == [
        ("gone:v0", "bad-manifest", "missing"),
        ("rot:v0", "bad-manifest", f"corrupt: its content hashes to {hash_bytes(b'{}').hex}"),
    ]
    assert str(problems[0]) == f"gone:v0 manifest {gone.digest}: missing"

    report = store.verify(repair=True)
    (moved,) = report.quarantined
    assert moved.startswith(f"quarantine/manifests/{rot.digest}.")
    assert (Path(store.url) / moved).read_bytes() == b"{}"
    assert not rot_path.exists()


def test_repair_never_moves_a_good_blob_even_for_a_moment(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(store, tmp_path / "a", {"f.bin": b"good bytes"})
    good = hash_bytes(b"good bytes")
    raw = canonical_json({"entries": {"f.bin": {"digest": good.hex, "size": 99}}, "format": 1})
    lying = store.blobs.put_bytes(Kind.MANIFEST, raw).digest
    record_version(store, "liar", lying.hex, size=99, file_count=1, who="x@y")
    moved: list[Digest] = []
    monkeypatch.setattr(store.blobs, "quarantine", lambda kind, digest: moved.append(digest))
    for deep in (False, True):
        (problem,) = store.verify(deep=deep, repair=True).problems
        assert (problem.kind, problem.actual) == ("wrong-size", good.hex)
    assert moved == [], "a kill between moving it out and back would leave it in quarantine/"


def test_repair_moves_a_corrupt_blob_aside_and_never_deletes_it(
    store: Store, tmp_path: Path
) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"shared", "y.bin": b"fine"})
    _log(store, tmp_path / "b", {"x.bin": b"shared"}, name="other")
    blob = _blob_path(store, b"shared")
    _overwrite(blob, b"rotten")

    report = store.verify(deep=True, repair=True)
    assert not report.ok, "what was moved stays a problem until the good file is put again"
    (moved,) = report.quarantined
    assert moved.startswith(f"quarantine/blobs/{hash_bytes(b'shared').hex}.")
    assert (Path(store.url) / moved).read_bytes() == b"rotten"
    assert not blob.exists()
    assert [(p.version, p.kind, p.quarantined) for p in report.problems] == [
        ("data:v0", "corrupt", moved),
        ("other:v0", "corrupt", moved),
    ]
    assert "put the good file again to heal the store" in str(report.problems[0])
    assert [p.kind for p in store.verify().problems] == ["missing", "missing"]


def test_repair_moves_a_wrong_sized_blob_found_without_hashing(
    store: Store, tmp_path: Path
) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"0123456789"})
    _overwrite(_blob_path(store, b"0123456789"), b"01234")
    report = store.verify(repair=True)
    assert len(report.quarantined) == 1
    assert report.problems[0].quarantined == report.quarantined[0]


def test_quarantine_puts_back_bytes_that_are_good(store: Store) -> None:
    digest = store.blobs.put_bytes(Kind.BLOB, b"healthy").digest
    assert store.blobs.quarantine(Kind.BLOB, digest) is None
    assert store.blobs.read_bytes(Kind.BLOB, digest) == b"healthy"
    assert store.blobs.quarantine(Kind.BLOB, hash_bytes(b"absent")) is None
    quarantine = Path(store.url) / "quarantine" / "blobs"
    assert not quarantine.exists() or not list(quarantine.iterdir())


def test_quarantine_on_a_filesystem_without_renames() -> None:
    blobs = init_store(f"memory://quarantine-{os.getpid()}-{time.time_ns()}")
    digest = blobs.put_bytes(Kind.BLOB, b"payload").digest
    assert blobs.quarantine(Kind.BLOB, digest) is None and blobs.has(Kind.BLOB, digest)
    blobs.fs.pipe_file(blobs.path(Kind.BLOB, digest), b"damaged")
    moved = blobs.quarantine(Kind.BLOB, digest)
    assert moved is not None and moved.startswith(f"quarantine/blobs/{digest.hex}.")
    assert not blobs.has(Kind.BLOB, digest)
    assert blobs.fs.cat_file(f"{blobs.root}/{moved}") == b"damaged"


def test_debris_is_counted_and_removed_by_repair(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"one"})
    tmp = Path(store.url) / "tmp"
    old = _stale(tmp / f".{'a' * 32}.partial", b"y" * 100)
    fresh = tmp / f".{'b' * 32}.partial"
    fresh.write_bytes(b"live")
    report = store.verify()
    assert report.ok and (report.debris, report.debris_bytes, report.debris_removed) == (1, 100, 0)
    assert store.verify("data").debris == 0, "debris belongs to the whole-store check"
    report = store.verify(repair=True)
    assert report.debris_removed == 1 and not old.exists() and fresh.exists()
    assert store.verify().debris == 0


def test_cli_json_lists_every_field(store: Store, store_url: str, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"gone"})
    digest = hash_bytes(b"gone").hex
    _blob_path(store, b"gone").unlink()

    runner = CliRunner()
    result = runner.invoke(cli, ["--store", store_url, "verify", "data:v0", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["deep"] is False
    assert (data["debris"], data["debris_bytes"], data["debris_removed"]) == (0, 0, 0)
    assert data["quarantined"] == []
    assert data["problems"] == [
        {
            "version": "data:v0",
            "path": "x.bin",
            "kind": "missing",
            "digest": digest,
            "actual": None,
            "size": None,
            "actual_size": None,
            "reason": None,
            "quarantined": None,
            "run": None,
            "key": None,
            "step": None,
        }
    ]
    assert data["run_files"] == 0 and data["media"] == 0

    text = runner.invoke(cli, ["--store", store_url, "verify"])
    assert text.exit_code == 1
    assert f"art: data:v0 'x.bin': missing (blob {digest})" in text.stderr.splitlines()


def test_cli_deep_repair_and_debris_lines(store: Store, store_url: str, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"fine", "y.bin": b"worn"})
    _overwrite(_blob_path(store, b"worn"), b"torn")
    _stale(Path(store_url) / "tmp" / f".{'c' * 32}.partial")
    runner = CliRunner()
    plain = runner.invoke(cli, ["--store", store_url, "verify"])
    assert plain.exit_code == 0, plain.stderr
    assert plain.stderr.splitlines() == [
        "art: warning: 1 staging file of interrupted writes in tmp/ (10 B); "
        "remove them with: art verify --repair"
    ]
    deep = runner.invoke(cli, ["--store", store_url, "verify", "--deep"])
    assert deep.exit_code == 1 and "hashed): 1 problem" in deep.stdout
    assert "'y.bin': corrupt" in deep.stderr
    fixed = runner.invoke(cli, ["--store", store_url, "verify", "--deep", "--repair"])
    assert fixed.exit_code == 1
    assert "moved 1 damaged object to quarantine/" in fixed.stdout
    assert "removed 1 staging file of interrupted writes (10 B)" in fixed.stdout


def test_cli_verify_clean_exits_zero(store: Store, store_url: str, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"fine"})
    result = CliRunner().invoke(cli, ["--store", store_url, "verify"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith(": ok")


def _keep_with_run(store: Store, tmp_path: Path, files: dict[str, bytes]) -> str:
    folder = tmp_path / "run-files"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with artstore.init(store=store.url, capture_console=False) as run:
        run.save(str(folder / "*"), base_path=str(folder), policy="now")
    return run.id


def test_files_kept_with_runs_are_verified(store: Store, tmp_path: Path) -> None:
    run_id = _keep_with_run(store, tmp_path, {"model.pt": b"weights", "log.txt": b"lines"})
    clean = store.verify(deep=True)
    assert clean.ok and (clean.versions, clean.files, clean.run_files, clean.blobs) == (0, 0, 2, 2)
    _overwrite(_blob_path(store, b"weights"), b"WEIGHTS")  # the same size
    _blob_path(store, b"lines").unlink()

    plain = store.verify()
    assert [(p.version, p.path, p.kind, p.run) for p in plain.problems] == [
        (f"run {run_id}", "log.txt", "missing", run_id)
    ]
    deep = store.verify(deep=True)
    assert [(p.path, p.kind) for p in deep.problems] == [
        ("log.txt", "missing"),
        ("model.pt", "corrupt"),
    ]
    assert f"run {run_id} 'model.pt': corrupt" in str(deep.problems[1])

    result = CliRunner().invoke(cli, ["--store", store.url, "verify", "--deep", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["run_files"] == 2
    assert [(p["run"], p["path"]) for p in data["problems"]] == [
        (run_id, "log.txt"),
        (run_id, "model.pt"),
    ]
    text = CliRunner().invoke(cli, ["--store", store.url, "verify"])
    assert "0 versions, 0 files, 2 run files, 2 blobs" in text.stdout
