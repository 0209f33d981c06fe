"""The real ``art`` executable: exit codes and what goes to stdout and stderr."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from artstore.storage import hash_bytes

ART = Path(sys.executable).with_name("art")


def art(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    return subprocess.run(
        [str(ART), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def work(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_bytes(b"alpha")
    return tmp_path


def test_process_success_and_json_streams(work):
    assert art("init", "s", cwd=work).returncode == 0
    put = art("--store", "s", "put", "data", "-t", "dataset", "-m", "acc=0.9", "--json", cwd=work)
    assert put.returncode == 0, put.stderr
    assert put.stderr == ""
    data = json.loads(put.stdout)
    assert (data["version"], data["number"], data["metadata"]) == ("v0", 0, {"acc": 0.9})
    ls = art("--store", "s", "ls", "--json", cwd=work)
    assert (ls.returncode, ls.stderr) == (0, "")
    assert [a["name"] for a in json.loads(ls.stdout)] == ["data"]


def test_process_bad_input_exits_2_with_one_line(work):
    art("init", "s", cwd=work)
    for args in (
        ["put", "data", "-t", "dataset", "--alias", "v3"],
        ["put", "data", "-t", "dataset", "--name", "bad name"],
        ["get", "data:v0"],
        ["alias", "set", "data:v0", "latest"],
    ):
        result = art("--store", "s", *args, cwd=work)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("art: "), (args, result.stderr)


def test_process_json_failure(work):
    result = art("--store", "missing", "ls", "--json", cwd=work)
    assert result.returncode == 2 and result.stdout == ""
    first, second = result.stderr.splitlines()
    assert first.startswith("art: ") and "art init" in first
    assert json.loads(second) == {"error": first.removeprefix("art: "), "code": 2}


def test_process_usage_error_exits_2(work):
    result = art("put", "data", cwd=work)  # no --type
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--type" in result.stderr


def test_process_corrupt_download_exits_1(work):
    art("init", "s", cwd=work)
    assert art("--store", "s", "put", "data", "-t", "dataset", cwd=work).returncode == 0
    digest = hash_bytes(b"alpha").hex
    blob = work / "s" / "blobs" / digest[:2] / digest[2:]
    blob.chmod(blob.stat().st_mode | stat.S_IWUSR)
    blob.write_bytes(b"ALPHA")
    result = art("--store", "s", "get", "data", "out", cwd=work)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("art: ")
    assert "data:v0" in lines[0] and "a.txt" in lines[0]
    assert not (work / "out" / "a.txt").exists()
