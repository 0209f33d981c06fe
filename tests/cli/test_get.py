"""``art get``: download a version or one file, verified."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from artstore.storage import hash_bytes
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder

FILES = {"a.txt": b"alpha", "sub/b.bin": b"\x00\x01\x02" * 100}


@pytest.fixture
def logged(art, tmp_path):
    folder = make_folder(tmp_path / "data", FILES)
    assert art("put", str(folder), "-t", "dataset").exit_code == 0
    return folder


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_get_to_dest(art, logged, tmp_path):
    result = art("get", "data:v0", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert "data:v0" in result.stdout
    assert tree(tmp_path / "out") == FILES


def test_get_default_dest(art, logged):
    assert art("get", "data").exit_code == 0
    assert tree(Path("artifacts") / "data-v0") == FILES


def test_get_one_file(art, logged, tmp_path):
    data = json_out(art("get", "data", str(tmp_path / "one"), "--file", "sub/b.bin", "--json"))
    assert Path(data["path"]) == tmp_path / "one" / "sub" / "b.bin"
    assert tree(tmp_path / "one") == {"sub/b.bin": FILES["sub/b.bin"]}


def test_get_json(art, logged, tmp_path):
    data = json_out(art("get", "data:latest", str(tmp_path / "out"), "--json"))
    assert (data["name"], data["version"], data["number"]) == ("data", "v0", 0)
    assert data["path"] == str(tmp_path / "out")
    assert ISO_Z.fullmatch(data["created_at"])


def test_get_unknown_file(art, logged, tmp_path):
    line = one_error_line(art("get", "data", str(tmp_path / "x"), "-f", "nope.txt"))
    assert "nope.txt" in line


def test_get_unknown_artifact(art, logged):
    assert "nope" in one_error_line(art("get", "nope:v0"))


def test_get_corrupt_blob_exits_1_naming_artifact_and_file(art, store_url, logged, tmp_path):
    digest = hash_bytes(FILES["sub/b.bin"]).hex
    blob = Path(store_url) / "blobs" / digest[:2] / digest[2:]
    blob.chmod(blob.stat().st_mode | stat.S_IWUSR)
    blob.write_bytes(b"\xff" * len(FILES["sub/b.bin"]))
    out = tmp_path / "out"
    line = one_error_line(art("get", "data", str(out)), code=1)
    assert "data:v0" in line and "sub/b.bin" in line
    assert not (out / "sub" / "b.bin").exists()
    assert not [p for p in out.rglob("*") if p.is_file() and p.name != "a.txt"]

    result = art("get", "data", str(tmp_path / "out2"), "--json")
    assert result.exit_code == 1 and result.stdout == ""
    error = json.loads(result.stderr.splitlines()[1])
    assert error["code"] == 1 and "sub/b.bin" in error["error"]


def test_get_into_the_store_itself_is_refused(art, store_url, logged):
    before = sorted(Path(store_url).rglob("*"))
    line = one_error_line(art("get", "data:v0", store_url))
    assert "inside the store's own folder" in line
    assert sorted(Path(store_url).rglob("*")) == before


def test_get_onto_a_file_is_one_line_exit_2(art, logged, tmp_path):
    target = tmp_path / "taken"
    target.write_bytes(b"mine")
    line = one_error_line(art("get", "data", str(target)))
    assert line == f"art: cannot use {target}: it is a file; give a folder to download into"
    assert target.read_bytes() == b"mine"


def test_get_names_a_missing_blob_with_artifact_version_and_file(art, store_url, logged, tmp_path):
    digest = hash_bytes(FILES["a.txt"]).hex
    (Path(store_url) / "blobs" / digest[:2] / digest[2:]).unlink()
    line = one_error_line(art("get", "data", str(tmp_path / "out")))
    assert "'a.txt' of data:v0" in line and digest in line
