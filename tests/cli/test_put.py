"""``art put``: folders, several paths, names, aliases, metadata, excludes, --json."""

from __future__ import annotations

import os

import pytest

from artstore.artifacts import Store
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder

FIELDS = {
    "name",
    "version",
    "number",
    "type",
    "digest",
    "size",
    "files",
    "aliases",
    "metadata",
    "created_by",
    "created_by_user",
    "created_at",
    "created",
}


def paths_of(store_url: str, ref: str) -> set[str]:
    with Store(store_url) as store:
        return {e.path for e in store.artifact(ref).files()}


def test_put_single_folder_puts_contents_at_root(art, store_url, tmp_path):
    folder = make_folder(tmp_path / "mnist", {"train.csv": b"t", "sub/test.csv": b"s"})
    result = art("put", str(folder), "--type", "dataset")
    assert result.exit_code == 0, result.stderr
    assert "mnist:v0" in result.stdout
    assert paths_of(store_url, "mnist:v0") == {"train.csv", "sub/test.csv"}


def test_put_several_paths_go_under_their_base_names(art, store_url, tmp_path):
    one = make_folder(tmp_path / "one", {"a.txt": b"a"})
    two = make_folder(tmp_path / "two", {"b/c.txt": b"c"})
    (tmp_path / "model.bin").write_bytes(b"m")
    result = art("put", str(one), str(two), str(tmp_path / "model.bin"), "-t", "bundle")
    assert result.exit_code == 0, result.stderr
    assert paths_of(store_url, "one") == {"one/a.txt", "two/b/c.txt", "model.bin"}


def test_put_name_alias_meta_exclude_json(art, store_url, tmp_path):
    folder = make_folder(tmp_path / "d", {"keep.txt": b"k", "skip.log": b"s", "x/y.log": b"y"})
    data = json_out(
        art(
            "put",
            str(folder),
            "--name",
            "my-data",
            "-t",
            "dataset",
            "--alias",
            "prod",
            "-a",
            "candidate",
            "--meta",
            "acc=0.9",
            "-m",
            "note=hello world",
            "-m",
            "n=3",
            "-m",
            "ok=true",
            "-m",
            "ver=1.2.3",
            "--exclude",
            "*.log",
            "--json",
        )
    )
    assert set(data) >= FIELDS
    assert (data["name"], data["version"], data["number"], data["created"]) == (
        "my-data",
        "v0",
        0,
        True,
    )
    assert data["metadata"] == {
        "acc": 0.9,
        "note": "hello world",
        "n": 3,
        "ok": True,
        "ver": "1.2.3",
    }
    assert isinstance(data["metadata"]["acc"], float)
    assert sorted(data["aliases"]) == ["candidate", "latest", "prod"]
    assert data["files"] == 1 and data["size"] == 1
    assert ISO_Z.fullmatch(data["created_at"])
    assert paths_of(store_url, "my-data:prod") == {"keep.txt"}


def test_put_identical_content_reports_unchanged(art, tmp_path):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    assert json_out(art("put", str(folder), "-t", "t", "--json"))["created"] is True
    again = json_out(art("put", str(folder), "-t", "t", "-a", "prod", "--json"))
    assert (again["version"], again["created"]) == ("v0", False)
    assert "prod" in again["aliases"]
    (folder / "a").write_bytes(b"b")
    assert json_out(art("put", str(folder), "-t", "t", "--json"))["version"] == "v1"


def test_put_identical_content_warns_about_ignored_metadata(art, tmp_path):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    art("put", str(folder), "-t", "t", "-m", "acc=0.9")
    result = art("put", str(folder), "-t", "t", "-m", "acc=0.8", "--json")
    assert json_out(result)["metadata"] == {"acc": 0.9}
    assert "acc" in result.stderr and "warning" in result.stderr


@pytest.mark.parametrize("alias", ["v3", "latest", "bad alias", "-x"])
def test_put_refuses_bad_alias(art, tmp_path, alias):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    line = one_error_line(art("put", str(folder), "-t", "t", "--alias", alias))
    assert alias in line


@pytest.mark.parametrize("name", ["-bad", "bad name", "a/b", "é"])
def test_put_refuses_bad_name(art, tmp_path, name):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    line = one_error_line(art("put", str(folder), "-t", "t", "--name", name))
    assert "invalid artifact name" in line


def test_put_refuses_bad_meta(art, tmp_path):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    assert "KEY=VALUE" in one_error_line(art("put", str(folder), "-t", "t", "-m", "novalue"))


def test_put_missing_path(art, tmp_path):
    line = one_error_line(art("put", str(tmp_path / "nope"), "-t", "t"))
    assert "nope" in line


def test_put_type_mismatch(art, tmp_path):
    folder = make_folder(tmp_path / "d", {"a": b"a"})
    art("put", str(folder), "-t", "dataset")
    (folder / "a").write_bytes(b"b")
    line = one_error_line(art("put", str(folder), "-t", "model"))
    assert "dataset" in line and "model" in line


def test_put_json_failure_writes_error_object_to_stderr(art, tmp_path):
    import json

    folder = make_folder(tmp_path / "d", {"a": b"a"})
    result = art("put", str(folder), "-t", "t", "-a", "v1", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    first, second = result.stderr.splitlines()
    assert first.startswith("art: ")
    error = json.loads(second)
    assert error["code"] == 2 and "v1" in error["error"]
    assert set(error) == {"error", "code"}


def test_put_of_a_project_holding_its_store_leaves_the_store_out(art, tmp_path, monkeypatch):
    # Scenario 1 of issue 7: `art put .` where ./.artstore lives, then `art get` into the project.
    project = make_folder(tmp_path / "proj", {"train.py": b"print(1)", "data/x.csv": b"1,2"})
    monkeypatch.chdir(project)
    first = art("put", ".", "-t", "code", "-n", "proj", store=None)
    assert first.exit_code == 0, first.stderr
    (project / "train.py").write_bytes(b"print(2)")
    second = art("put", ".", "-t", "code", "-n", "proj", "--json", store=None)
    warnings = second.stderr.splitlines()
    assert len(warnings) == 1, second.stderr
    assert warnings[0].startswith("art: warning: left ")
    assert str((project / ".artstore").resolve()) in warnings[0]
    assert json_out(second)["files"] == 2
    assert paths_of(str(project / ".artstore"), "proj:v1") == {"train.py", "data/x.csv"}
    # Getting it back into the project rewrites the project's files, never the store's.
    got = art("get", "proj:v0", ".", store=None)
    assert got.exit_code == 0, got.stderr
    assert (project / "train.py").read_bytes() == b"print(1)"
    assert art("verify", store=None).exit_code == 0
    with Store(str(project / ".artstore")) as store:
        assert [v.version for v in store.versions("proj")] == ["v0", "v1"]


def test_put_of_a_fifo_says_it_is_not_a_regular_file(art, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    line = one_error_line(art("put", str(tmp_path / "pipe"), "-t", "model"))
    assert "it is a FIFO (named pipe), not a file" in line


def test_put_reports_the_new_bytes_it_stored_and_the_share_deduplicated(art, tmp_path):
    data = bytearray(os.urandom(12 << 20))
    model = tmp_path / "model.bin"
    model.write_bytes(data)
    first = json_out(art("put", str(model), "-t", "model", "--json"))
    assert (first["size"], first["new_bytes"], first["deduplicated"]) == (12 << 20, 12 << 20, 0.0)
    data[6 << 20 : (6 << 20) + 10] = b"0123456789"
    model.write_bytes(data)
    second = json_out(art("put", str(model), "-t", "model", "--json"))
    assert second["version"] == "v1" and 0 < second["new_bytes"] <= 4 << 20
    assert second["deduplicated"] == round(1 - second["new_bytes"] / (12 << 20), 4) >= 0.66
    again = art("put", str(model), "-t", "model")
    assert again.exit_code == 0, again.stderr
    assert "unchanged, still model.bin:v1: 1 files, 12.0 MiB, 0 B new (100% deduplicated)" in (
        again.stdout
    )
