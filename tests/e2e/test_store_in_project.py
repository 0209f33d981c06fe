"""Data-loss scenario 1, with real ``art`` processes: a project folder that holds its store in
``./.artstore``. Putting the project and getting an old version back into it keeps the
catalog and every version; a version that holds ``.artstore/catalog.db`` (an old careless put)
is refused before anything is written. On SQLite and on PostgreSQL catalogs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.storage import Kind, canonical_json, hash_file
from tests.conftest import record_version
from tests.hostile.harness import snapshot

ART = Path(sys.executable).with_name("art")

pytestmark = pytest.mark.slow


def art(project: Path, catalog: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    if catalog is not None:
        env["ARTSTORE_DB"] = catalog
    return subprocess.run(
        [str(ART), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def files_outside_store(project: Path) -> dict[str, str]:
    return {
        p.relative_to(project).as_posix(): hash_file(p)[0].hex
        for p in project.rglob("*")
        if p.is_file() and ".artstore" not in p.relative_to(project).parts
    }


def test_a_project_holding_its_store_round_trips_and_never_overwrites_it(
    tmp_path: Path, catalog_url: str | None
) -> None:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('v0')\n")
    (project / "README.md").write_text("# proj\n")

    put = art(project, catalog_url, "put", ".", "-t", "code", "--json")
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["version"] == "v0"
    stored = art(project, catalog_url, "ls", "proj:v0", "--json")
    assert [f["path"] for f in json.loads(stored.stdout)] == ["README.md", "src/main.py"]

    (project / "src" / "main.py").write_text("print('v1')\n")
    assert art(project, catalog_url, "put", ".", "-t", "code").returncode == 0

    # Back to v0 inside the project, and forward again: the store and catalog stay whole.
    got = art(project, catalog_url, "get", "proj:v0", ".")
    assert got.returncode == 0, got.stderr
    assert (project / "src" / "main.py").read_text() == "print('v0')\n"
    got = art(project, catalog_url, "get", "proj:v1", ".")
    assert got.returncode == 0, got.stderr
    assert (project / "src" / "main.py").read_text() == "print('v1')\n"
    versions = json.loads(art(project, catalog_url, "ls", "proj", "--json").stdout)
    assert [v["version"] for v in versions] == ["v0", "v1"]
    verify = art(project, catalog_url, "verify", "--deep")
    assert verify.returncode == 0, verify.stderr

    # A version from an old careless put, holding the store's own files.
    root = project / ".artstore"
    with Store(str(root), db=catalog_url) as store:
        copy = (root / "catalog.db").read_bytes() if catalog_url is None else b"SQLite format 3"
        entries = {}
        for path, data in {
            "src/main.py": b"print('old')\n",
            ".artstore/catalog.db": copy,
            ".artstore/artstore.json": (root / "artstore.json").read_bytes(),
        }.items():
            digest = store.blobs.put_bytes(Kind.BLOB, data).digest
            entries[path] = {"digest": digest.hex, "size": len(data)}
        raw = canonical_json({"entries": entries, "format": 1})
        manifest = store.blobs.put_bytes(Kind.MANIFEST, raw).digest
        record_version(
            store,
            "proj",
            manifest.hex,
            size=sum(e["size"] for e in entries.values()),
            file_count=len(entries),
            type="code",
            who="careless@old-release",
        )

    before, outside = snapshot(root, catalog_url), files_outside_store(project)
    refused = art(project, catalog_url, "get", "proj:v2", ".")
    assert refused.returncode == 2, refused.stderr
    (line,) = refused.stderr.splitlines()
    assert line.startswith("art: cannot use ") and ".artstore/" in line
    assert "download somewhere else" in line
    assert snapshot(root, catalog_url) == before, "the store and its catalog are untouched"
    assert files_outside_store(project) == outside, "not even src/main.py was written"

    versions = json.loads(art(project, catalog_url, "ls", "proj", "--json").stdout)
    assert [v["version"] for v in versions] == ["v0", "v1", "v2"]
    assert art(project, catalog_url, "verify").returncode == 0
    # Its harmless files can still be had, elsewhere or one by one.
    one = art(project, catalog_url, "get", "proj:v2", str(tmp_path / "old"), "-f", "src/main.py")
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "old" / "src" / "main.py").read_text() == "print('old')\n"
