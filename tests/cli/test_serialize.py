"""Every ``--json`` the CLI prints is exactly what ``artstore.serialize`` makes of the same objects.

Each command runs in-process; the test then reads the same objects back through the API and
compares the printed text byte for byte with ``dumps(<serializer>(objects))``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import artstore
from artstore import serialize
from artstore.artifacts import Store
from artstore.lineage import AliasMove
from artstore.tracker import read_spool, sync_spool
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


def printed(result) -> str:
    assert result.exit_code in (0, 1), (result.stdout, result.stderr)
    return result.stdout


def text(document) -> str:
    return serialize.dumps(document) + "\n"


def test_every_json_document_comes_from_the_serializer(
    art, store_url, tmp_path, monkeypatch, request
):
    monkeypatch.chdir(tmp_path)
    store = Store(store_url)
    request.addfinalizer(store.close)
    assert printed(art("init", "--json")) == text(serialize.store_json(store))

    folder = make_folder(tmp_path / "d", {"a.txt": b"a", "b/c.txt": b"cc"})
    put = printed(art("put", str(folder), "-t", "dataset", "-m", 'note="grün"', "--json"))
    assert put == text(serialize.logged_json(store.artifact("d:v0")))
    assert "grün" in put
    again = printed(art("put", str(folder), "-t", "dataset", "--json"))
    # An unchanged re-put wrote nothing: its new_bytes are its own, as its text line says.
    unchanged = {**serialize.version_json(store.artifact("d:v0")), "created": False}
    assert again == text({**unchanged, "new_bytes": 0, "deduplicated": 1.0})
    (folder / "a.txt").write_bytes(b"A!")
    art("put", str(folder), "-t", "dataset")

    assert printed(art("ls", "--json")) == text(
        [serialize.artifact_json(a) for a in store.artifacts()]
    )
    assert printed(art("ls", "d", "--json")) == text(
        [serialize.version_json(v) for v in store.versions("d")]
    )
    assert printed(art("ls", "d:v1", "--json")) == text(
        [serialize.file_json(e) for e in store.artifact("d:v1").files()]
    )
    got = printed(art("get", "d:v0", str(tmp_path / "out"), "--json"))
    assert got == text(serialize.downloaded_json(store.artifact("d:v0"), tmp_path / "out"))

    set_ = printed(art("alias", "set", "d:v0", "prod", "-r", "why", "--json"))
    rm = printed(art("alias", "rm", "d", "prod", "--json"))
    moves: list[AliasMove] = store.alias_history("d", "prod")
    assert [set_, rm] == [text(serialize.move_json(m)) for m in moves]
    assert printed(art("alias", "log", "d", "--json")) == text(
        [serialize.move_json(m) for m in store.alias_history("d", None)]
    )

    assert printed(art("diff", "d:v0", "d:v1", "--json")) == text(
        serialize.diff_json(store.diff("d:v0", "d:v1"))
    )
    assert printed(art("verify", "--json")) == text(serialize.verify_json(store.verify(None)))

    run = printed(art("run", "-p", "p", "-n", "n", "--json", "--", sys.executable, "-c", "pass"))
    info = store.runs(project="p")[0]
    assert run == text(serialize.run_exit_json(SimpleNamespace(**serialize.run_json(info)), 0))
    assert printed(art("runs", "--json")) == text([serialize.run_json(r) for r in store.runs()])
    one = store.run(info.id)
    assert printed(art("runs", "show", info.id, "--json")) == text(
        serialize.run_detail_json(one, one.used(), one.produced())
    )
    assert printed(art("lineage", "d:v0", "--json")).rstrip("\n") == serialize.lineage_text(
        store.lineage("d:v0")
    )


def test_sync_json_comes_from_the_serializer(art, store_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    offline = artstore.init(store=store_url, mode="offline", dir=tmp_path, project="off", **FAST)
    with offline:
        offline.log({"loss": math.inf})
    folder = next(tmp_path.glob("artstore-runs/*"))
    printed(art("sync", "--json"))  # the first sync adds; a repeat reports what it added: nothing
    repeat = printed(art("sync", "--json"))
    with Store(store_url) as store:
        result = sync_spool(read_spool(folder), store)
        runs = printed(art("runs", "--json"))
        assert runs == text([serialize.run_json(r) for r in store.runs()])
    assert repeat == text([serialize.sync_json(result, Path("artstore-runs") / folder.name)])
    assert '"Infinity"' in runs  # the rule for non-finite numbers is the serializer's too


def test_json_errors_come_from_the_serializer(art):
    result = art("ls", "nope", "--json")
    line, document = result.stderr.splitlines()
    assert document + "\n" == serialize.error_line(line.removeprefix("art: "), 2) + "\n"


def test_promote_prints_the_serializers_document(art, tmp_path, monkeypatch):
    # A promotion's result is not stored, so the command's own call is watched instead.
    import artstore.cli.promote

    made = []

    def watched(result):
        made.append(serialize.promotion_json(result))
        return made[-1]

    monkeypatch.setattr(artstore.cli.promote, "promotion_json", watched)
    folder = make_folder(tmp_path / "d", {"a.txt": b"a"})
    art("put", str(folder), "-t", "dataset", "-m", "acc=0.5")
    passed = printed(art("promote", "d:v0", "--to", "prod", "--json"))
    failed = art("promote", "d:v0", "--to", "best", "--require", "metadata.acc>=0.9", "--json")
    assert failed.exit_code == 1
    assert [passed, failed.stdout] == [text(document) for document in made]
    assert [d["moved"] for d in made] == [True, False]
