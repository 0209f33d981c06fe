"""Verification finds missing and corrupt blobs, names the versions and files, repairs nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from artstore.artifacts import Artifact, Store
from artstore.cli import cli
from artstore.storage import Kind


def _log(store: Store, folder: Path, files: dict[str, bytes], name: str = "data") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    artifact = Artifact(name, "dataset")
    artifact.add_dir(folder)
    store.log_artifact(artifact)


def _blob_path(store: Store, data_digest: str) -> Path:
    from artstore.storage import Digest

    return Path(store.blobs.path(Kind.BLOB, Digest(data_digest)))


def test_clean_store_verifies(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"one", "y.bin": b"two"})
    report = store.verify()
    assert report.ok
    assert (report.versions, report.files, report.blobs, report.bytes) == (1, 2, 2, 6)


def test_shared_blob_is_hashed_once_but_reported_per_version(store: Store, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"shared", "y.bin": b"v0"})
    _log(store, tmp_path / "a", {"x.bin": b"shared", "y.bin": b"v1"})
    entry = store.artifact("data:v0").manifest().entries["x.bin"]
    blob = _blob_path(store, entry.digest.hex)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"rotten")

    report = store.verify("data")
    assert report.blobs == 3
    assert [(p.version, p.path, p.kind) for p in report.problems] == [
        ("data:v0", "x.bin", "corrupt"),
        ("data:v1", "x.bin", "corrupt"),
    ]
    assert blob.read_bytes() == b"rotten", "verify must not repair or delete"


def test_missing_blob_and_cli_exit_codes(store: Store, store_url: str, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"gone"})
    entry = store.artifact("data").manifest().entries["x.bin"]
    _blob_path(store, entry.digest.hex).unlink()

    runner = CliRunner()
    result = runner.invoke(cli, ["--store", store_url, "verify", "data:v0", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["problems"] == [
        {
            "version": "data:v0",
            "path": "x.bin",
            "kind": "missing",
            "digest": entry.digest.hex,
            "actual": None,
        }
    ]

    text = runner.invoke(cli, ["--store", store_url, "verify"])
    assert text.exit_code == 1
    assert "data:v0 'x.bin': missing" in text.stderr


def test_cli_verify_clean_exits_zero(store: Store, store_url: str, tmp_path: Path) -> None:
    _log(store, tmp_path / "a", {"x.bin": b"fine"})
    result = CliRunner().invoke(cli, ["--store", store_url, "verify"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith(": ok")
