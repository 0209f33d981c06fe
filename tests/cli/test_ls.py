"""``art ls``: artifacts, versions, a version's files; tables and --json."""

from __future__ import annotations

import pytest

from artstore.artifacts import Store
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder, record_version


@pytest.fixture
def filled(art, tmp_path):
    folder = make_folder(tmp_path / "data", {"a.txt": b"aaa", "sub/b.txt": b"bb"})
    art("put", str(folder), "-t", "dataset", "-d", "training data")
    (folder / "a.txt").write_bytes(b"AAAA")
    art("put", str(folder), "-t", "dataset", "-a", "prod")
    (tmp_path / "model.bin").write_bytes(b"weights")
    art("put", str(tmp_path / "model.bin"), "-t", "model", "--name", "net")
    return folder


def test_ls_artifacts_table(art, filled):
    result = art("ls")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "VERSIONS", "LATEST", "SIZE", "DESCRIPTION"]
    assert lines[1].split()[:4] == ["data", "dataset", "2", "v1"]
    assert "training data" in lines[1]
    assert lines[2].split()[:4] == ["net", "model", "1", "v0"]


def test_ls_artifacts_json(art, filled):
    data = json_out(art("ls", "--json"))
    assert [(a["name"], a["type"], a["versions"], a["latest"], a["size"]) for a in data] == [
        ("data", "dataset", 2, "v1", 6),
        ("net", "model", 1, "v0", 7),
    ]
    assert data[0]["description"] == "training data"
    assert all(ISO_Z.fullmatch(a["created_at"]) for a in data)


def test_ls_type_filter(art, filled):
    assert [a["name"] for a in json_out(art("ls", "--type", "model", "--json"))] == ["net"]
    assert json_out(art("ls", "-t", "nothing", "--json")) == []
    result = art("ls", "--type", "model")
    assert "net" in result.stdout and "data" not in result.stdout


def test_ls_versions(art, filled):
    result = art("ls", "data")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["v0", "v1"]
    assert rows[1][1] == "latest,prod"
    data = json_out(art("ls", "data", "--json"))
    assert [(v["version"], v["number"], sorted(v["aliases"])) for v in data] == [
        ("v0", 0, []),
        ("v1", 1, ["latest", "prod"]),
    ]
    assert all(isinstance(v["number"], int) and ISO_Z.fullmatch(v["created_at"]) for v in data)


def test_ls_version_files(art, filled):
    data = json_out(art("ls", "data:v0", "--json"))
    assert [(f["path"], f["size"], f["executable"]) for f in data] == [
        ("a.txt", 3, False),
        ("sub/b.txt", 2, False),
    ]
    assert all(len(f["digest"]) == 32 for f in data)
    result = art("ls", "data:prod")
    assert result.stdout.split()[:3] == ["PATH", "SIZE", "DIGEST"]
    assert "a.txt" in result.stdout and "sub/b.txt" in result.stdout


@pytest.mark.parametrize(
    ("target", "words"),
    [("nope", ["nope"]), ("data:v9", ["v9"]), ("data:staging", ["staging", "prod"])],
)
def test_ls_not_found(art, filled, target, words):
    line = one_error_line(art("ls", target))
    assert all(w in line for w in words)


def test_ls_bad_reference(art, filled):
    assert "invalid" in one_error_line(art("ls", "bad name:v1"))


def test_ls_versions_shows_the_bytes_each_put_stored(art, store_url, tmp_path):
    folder = make_folder(tmp_path / "m", {"a.bin": b"a" * 3000, "b.bin": b"b" * 2000})
    art("put", str(folder), "-t", "model")
    (folder / "b.bin").write_bytes(b"B" * 100)
    art("put", str(folder), "-t", "model")
    with Store(store_url) as store:  # a version recorded before stored bytes were
        record_version(
            store, "m", store.artifact("m:v0").digest, size=5000, file_count=2, type="model"
        )
    lines = art("ls", "m").stdout.splitlines()
    assert lines[0].split()[:5] == ["VERSION", "ALIASES", "FILES", "SIZE", "NEW"]
    # v0 and v1 have no alias: their rows have one column less.
    stored = [lines[1].split()[4:6], lines[2].split()[4:6], lines[3].split()[5:6]]
    assert stored == [["4.9", "KiB"], ["100", "B"], ["-"]]
