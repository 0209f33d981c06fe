"""``art sync``: offline run folders into the store, a folder of them or one, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from artstore.tracker import Run
from tests.cli.conftest import json_out, one_error_line
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


def offline_run(
    store_url: str, base: Path, tmp_path: Path, value: float, produce: bool = False
) -> Run:
    run = artstore.init(store=store_url, mode="offline", dir=base, project="off", **FAST)
    with run:
        run.use_artifact("data:latest")
        for i in range(3):
            run.log({"loss": value * (i + 1)})
        print(f"offline {value}")
        if produce:
            model = Artifact("model", "model")
            model.add_dir(make_folder(tmp_path / f"model-{value}", {"w.bin": b"w"}))
            run.log_artifact(model)
    return run


@pytest.fixture
def spooled(store_url, tmp_path):
    """Two offline runs under ./artstore-runs (the working folder), one producing model:v0."""
    with Store(store_url) as store:
        data = Artifact("data", "dataset")
        data.add_dir(make_folder(tmp_path / "data", {"a.csv": b"1"}))
        store.log_artifact(data)
    cwd = Path.cwd()
    first = offline_run(store_url, cwd, tmp_path, 1.0, produce=True)
    second = offline_run(store_url, cwd, tmp_path, 2.0)
    return first, second


def test_sync_default_folder_json(art, store_url, spooled):
    first, second = spooled
    results = json_out(art("sync", "--json"))
    by_run = {r["run"]: r for r in results}
    assert set(by_run) == {first.id, second.id}
    assert by_run[first.id] == {
        "run": first.id,
        "path": str(Path("artstore-runs") / first.dir.name),
        "metrics": 3,
        "console": 2,
        "new_metrics": 3,
        "new_console": 2,
        "new_files": 0,
        "new_alerts": 0,
        "produced": ["model:v0"],
        "used": ["data:v0"],
        "finished": True,
    }
    assert by_run[second.id]["produced"] == []
    with Store(store_url) as store:
        assert {r.id for r in store.runs(project="off")} == {first.id, second.id}
        info = store.run(first.id)
        assert info.state == "finished"
        assert info.history() == [{"_step": i, "loss": float(i + 1)} for i in range(3)]
        assert info.console() == "offline 1.0\n"
        assert [v.qualified_name for v in info.produced()] == ["model:v0"]
        assert store.artifact("model:v0").created_by == first.id


def test_sync_twice_is_idempotent(art, store_url, spooled):
    first, _ = spooled
    once = json_out(art("sync", "--json"))
    with Store(store_url) as store:
        before = (store.run(first.id).history(), store.run(first.id).console())
    twice = json_out(art("sync", "--json"))
    assert [{**r, "new_metrics": 0, "new_console": 0} for r in once] == twice
    with Store(store_url) as store:
        assert (store.run(first.id).history(), store.run(first.id).console()) == before
        assert [v.version for v in store.versions("model")] == ["v0"]
        assert len(store.runs()) == 2


def test_sync_one_run_folder_text(art, store_url, spooled):
    first, _ = spooled
    result = art("sync", str(first.dir))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"synced {first.dir} -> run {first.id}: 3 metrics (3 new), produced model:v0, "
        "used data:v0\n"
    )
    with Store(store_url) as store:
        assert [r.id for r in store.runs()] == [first.id]


def test_sync_a_folder_of_runs_given_as_a_path(art, store_url, spooled, tmp_path):
    folder = Path.cwd() / "artstore-runs"
    results = json_out(art("sync", str(folder), "--json"))
    assert sorted(r["run"] for r in results) == sorted(r.id for r in spooled)


def test_sync_tolerates_a_torn_last_line(art, store_url, spooled):
    first, _ = spooled
    with (first.dir / "run.jsonl").open("a") as spool:
        spool.write('{"format": 1, "type": "bat')
    result = art("sync", str(first.dir), "--json")
    [data] = json_out(result)
    assert (data["metrics"], data["finished"]) == (3, True)
    assert "last line is incomplete" in result.stderr


def test_sync_without_offline_runs(art, store_url):
    result = art("sync")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "no offline runs to sync\n"
    assert json_out(art("sync", "--json")) == []


def test_sync_of_a_missing_path_is_one_line_exit_2(art, store_url, tmp_path):
    line = one_error_line(art("sync", str(tmp_path / "nowhere")))
    assert "is not an offline run folder" in line
