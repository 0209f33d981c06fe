"""Every command's ``--json``: only JSON on stdout, with the fields docs/cli.md documents."""

from __future__ import annotations

import json

from tests.cli.conftest import ISO_Z, json_out
from tests.conftest import make_folder

VERSION = {
    "name": str,
    "version": str,
    "number": int,
    "type": str,
    "digest": str,
    "size": int,
    "files": int,
    "aliases": list,
    "metadata": dict,
    "created_by": (str, type(None)),
    "created_by_user": str,
    "created_at": str,
}
ARTIFACT = {
    "name": str,
    "type": str,
    "description": (str, type(None)),
    "versions": int,
    "latest": (str, type(None)),
    "size": int,
    "created_at": str,
}
FILE = {"path": str, "size": int, "digest": str, "executable": bool}
MOVE = {
    "name": str,
    "alias": str,
    "from": (str, type(None)),
    "to": (str, type(None)),
    "at": str,
    "who": str,
    "run_id": (str, type(None)),
    "ci_job": (str, type(None)),
    "reason": (str, type(None)),
}


def check(obj: dict, fields: dict) -> None:
    assert isinstance(obj, dict)
    for field, kind in fields.items():
        assert field in obj, field
        assert isinstance(obj[field], kind), (field, obj[field])
    for field in ("created_at", "at"):
        if field in obj:
            assert ISO_Z.fullmatch(obj[field]), obj[field]
    if "version" in obj:
        assert obj["version"] == f"v{obj['number']}"
    for field in ("from", "to", "latest"):
        if obj.get(field) is not None:
            assert obj[field][0] == "v" and obj[field][1:].isdigit()


def test_every_command_json(art, tmp_path):
    check(json_out(art("init", "--json")), {"url": str, "id": str, "catalog": str})

    folder = make_folder(tmp_path / "d", {"a.txt": b"a", "b/c.txt": b"cc"})
    put = json_out(art("put", str(folder), "-t", "dataset", "-a", "prod", "--json"))
    check(put, {**VERSION, "created": bool})
    (folder / "a.txt").write_bytes(b"A!")
    assert json_out(art("put", str(folder), "-t", "dataset", "--json"))["number"] == 1

    listing = json_out(art("ls", "--json"))
    assert isinstance(listing, list) and len(listing) == 1
    check(listing[0], ARTIFACT)
    versions = json_out(art("ls", "d", "--json"))
    assert [v["number"] for v in versions] == [0, 1]
    for version in versions:
        check(version, VERSION)
    files = json_out(art("ls", "d:prod", "--json"))
    assert [f["path"] for f in files] == ["a.txt", "b/c.txt"]
    for entry in files:
        check(entry, FILE)

    got = json_out(art("get", "d:v0", str(tmp_path / "out"), "--json"))
    check(got, {**VERSION, "path": str})
    one = json_out(art("get", "d", str(tmp_path / "one"), "-f", "a.txt", "--json"))
    check(one, {**VERSION, "path": str})

    moved = json_out(art("alias", "set", "d:v1", "prod", "-r", "why", "--json"))
    check(moved, MOVE)
    assert (moved["from"], moved["to"], moved["reason"]) == ("v0", "v1", "why")
    removed = json_out(art("alias", "rm", "d", "prod", "--json"))
    check(removed, MOVE)
    assert (removed["from"], removed["to"]) == ("v1", None)


def test_json_failures_for_every_command(art, tmp_path):
    folder = make_folder(tmp_path / "d", {"a.txt": b"a"})
    art("put", str(folder), "-t", "dataset")
    failures = [
        ["put", str(folder), "-t", "dataset", "-a", "v2"],
        ["ls", "nope"],
        ["ls", "d:v9"],
        ["get", "d:nope", str(tmp_path / "x")],
        ["alias", "set", "d:v0", "latest"],
        ["alias", "rm", "d", "prod"],
        ["lineage"],
    ]
    for args in failures:
        result = art(*args, "--json")
        assert result.exit_code == 2, args
        assert result.stdout == "", args
        line, obj = result.stderr.splitlines()
        assert line.startswith("art: ")
        assert json.loads(obj) == {"error": line.removeprefix("art: "), "code": 2}
