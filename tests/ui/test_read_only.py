"""The UI never writes: after every page and API route (the runs pages and the artifacts and
lineage pages) the store folder and its SQLite catalog are byte-identical; a training run in
another process writes while the UI reads, never waiting for it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from artstore.artifacts import Store
from tests.ui.conftest import UiStore
from tests.ui.test_app import api_routes, media_and_file_routes, page_routes

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from artstore.ui.app import create_app  # noqa: E402


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes (and its mode).

    SQLite's ``-shm`` (an index of the WAL in shared memory, rebuilt by any connection) and an
    empty ``-wal`` are left out: the last connection to close removes them, and a copy taken
    while another connection is open has them.
    """
    found = {}
    for path in sorted(root.rglob("*")):
        transient = path.name.endswith("-shm") or (
            path.name.endswith("-wal") and path.stat().st_size == 0
        )
        if path.is_file() and not transient:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = f"{digest} {path.stat().st_mode:o}"
    return found


def artifact_routes(client: TestClient, ui: UiStore) -> list[str]:
    model, _, version = ui.model.partition(":")
    document = client.get(f"/api/artifacts/{model}/{version}").json()
    text = str(document)
    files = [f["path"] for f in document.get("files", [])] if isinstance(document, dict) else []
    assert files or "safetensors" in text
    routes = [
        "/artifacts",
        f"/artifacts/{model}",
        f"/artifacts/{model}/{version}",
        f"/artifacts/{model}/latest",
        f"/diff?a={ui.dataset}&b={ui.model}",
        f"/lineage?ref={ui.model}",
        f"/lineage?run={ui.trainer}",
        "/api/artifacts",
        f"/api/artifacts/{model}",
        f"/api/artifacts/{model}/{version}",
        f"/api/diff?a={ui.dataset}&b={ui.model}",
        f"/api/lineage?ref={ui.dataset}",
        f"/api/lineage?run={ui.trainer}",
    ]
    routes += [f"/artifacts/{model}/{version}/files/{quote(path)}" for path in files]
    return routes


def test_no_page_or_api_route_changes_a_byte_of_the_store(ui_store: UiStore, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(ui_store.url, root)
    copy = UiStore(str(root), ui_store.runs, ui_store.media_run, ui_store.trainer)
    before = snapshot(root)
    assert "catalog.db" in before
    store = Store(str(root), read_only=True)
    try:
        client = TestClient(create_app(store), base_url="http://127.0.0.1")
        routes = page_routes(copy) + api_routes(copy) + media_and_file_routes(client, copy)
        routes += artifact_routes(client, copy)
        for route in routes:
            response = client.get(route)
            assert response.status_code == 200, (route, response.text[:200])
            client.head(route)
    finally:
        store.close()
    assert snapshot(root) == before


def test_an_older_catalog_is_refused_not_upgraded(tmp_path, monkeypatch):
    from artstore.errors import ConfigError
    from artstore.lineage import Catalog, migrations

    url = str(tmp_path / "store")
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        Store.init(url).close()
    before = snapshot(Path(url))
    store = Store(url, read_only=True)
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    response = client.get("/api/projects")
    assert response.status_code == 400
    assert "upgrade it first" in response.json()["error"]
    store.close()
    assert snapshot(Path(url)) == before
    with Catalog.open(f"sqlite:///{url}/catalog.db") as upgraded:
        assert upgraded.schema_version == migrations.SCHEMA_VERSION
    with pytest.raises(ConfigError, match="does not exist"):
        Store(url, read_only=True, db=f"sqlite:///{tmp_path}/x.db").runs()
    assert not (tmp_path / "x.db").exists()


_WRITER = textwrap.dedent(
    """
    import sys, time
    import artstore
    start = time.monotonic()
    run = artstore.init(project="busy", store=sys.argv[1], flush_interval=0.02,
                        capture_console=False)
    for step in range(400):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        time.sleep(0.005)
    run.finish()
    print(run.id, round(time.monotonic() - start, 2), flush=True)
    """
)


@pytest.mark.slow
def test_a_training_run_writes_while_the_ui_reads(tmp_path):
    url = str(tmp_path / "store")
    Store.init(url).close()
    store = Store(url, read_only=True)
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    assert client.get("/api/projects").json() == {"projects": []}
    stop = threading.Event()
    reads = []

    def hold_a_read(seconds: float) -> None:
        # One read transaction held open for seconds: the writer must not wait for it.
        def work(session):
            session.connection().exec_driver_sql("SELECT count(*) FROM metrics").all()
            time.sleep(seconds)

        store.catalog.runs._tx.read(work)

    def read_loop() -> None:
        while not stop.is_set():
            reads.append(client.get("/api/projects").status_code)

    holder = threading.Thread(target=hold_a_read, args=(4.0,))
    reader = threading.Thread(target=read_loop)
    holder.start()
    reader.start()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WRITER, url],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ARTSTORE_LOCK_TIMEOUT": "2"},
        )
    finally:
        stop.set()
        reader.join()
        holder.join()
    assert done.returncode == 0, done.stderr
    run_id, _ = done.stdout.split()
    assert reads and set(reads) == {200}
    series = client.get("/api/series", params={"runs": run_id, "key": "loss"}).json()
    assert series["series"][0]["points"] == 400
    store.close()


_KILLED = textwrap.dedent(
    """
    import os, sys, time
    import artstore
    run = artstore.init(project="killed", store=sys.argv[1], flush_interval=0.02,
                        capture_console=False)
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(1)
    os._exit(0)
    """
)


def every_file(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes, SQLite's -wal included; of -shm
    (shared memory where every reader marks what it reads) only that it exists."""
    return {
        str(path.relative_to(root)): "present"
        if path.name.endswith("-shm")
        else hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_closing_the_ui_leaves_a_killed_runs_wal_as_it_was(tmp_path):
    # The UI's connection is the last one on a WAL database: closing it must not checkpoint
    # the WAL into catalog.db nor delete -wal and -shm (the run's writer owns them).
    url = str(tmp_path / "store")
    Store.init(url).close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    subprocess.run([sys.executable, "-c", _KILLED, url], check=True, env=env, timeout=60)
    assert (tmp_path / "store" / "catalog.db-wal").stat().st_size > 0
    before = every_file(tmp_path / "store")
    store = Store(url, read_only=True)
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    runs = client.get("/api/runs?project=killed").json()["runs"]
    assert len(runs) == 1
    series = client.get(f"/api/series?runs={runs[0]['id']}&key=loss").json()
    assert len(series["series"][0]["x"]) == 50
    store.close()
    assert every_file(tmp_path / "store") == before
