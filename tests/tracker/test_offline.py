"""Offline runs: the same script offline + sync gives what it gives online; sync is idempotent
and tolerates a torn last line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import artstore
from artstore.artifacts import Store
from artstore.cli import cli
from artstore.errors import InvalidSpoolError, NotFoundError
from artstore.tracker import sync_spool
from artstore.tracker.run import Mode
from artstore.tracker.spool import SPOOL_FILE
from tests.tracker.conftest import FAST, log_files, make_artifact, version_key


def train(store_url: str, mode: Mode, workdir: Path) -> artstore.Run:
    """A deterministic training script; only ``mode`` differs between the two stores."""
    run = artstore.init(
        project="mnist",
        name="cnn",
        config={"lr": 0.01, "net": {"layers": [32, 64]}},
        tags=["baseline", "offline-check"],
        notes="same everywhere",
        mode=mode,
        store=store_url,
        dir=workdir,
        **FAST,
    )
    with run:
        data = run.use_artifact("data:latest")
        run.summarize("val/acc", "max")
        run.summarize("loss", "min")
        for epoch in range(5):
            run.log({"loss": 1.0 / (epoch + 1), "phase": "train"}, commit=False)
            run.log({"val/acc": [0.5, 0.7, 0.9, 0.8, 0.85][epoch], "epoch": epoch})
            print(f"epoch {epoch} done")
        run.log({"final": True}, step=20)
        print("a warning on stderr", file=sys.stderr)
        run.summary["best_epoch"] = 2
        run.config["data_digest"] = data.digest
        model = make_artifact(
            "model", {"w.bin": b"weights"}, workdir / "model", type="model", metadata={"acc": 0.9}
        )
        run.log_artifact(model, aliases=["candidate"])
        run.log_artifact(make_artifact("report", {"r.txt": b"ok"}, workdir / "r", type="report"))
    return run


def seed_store(tmp_path: Path, name: str) -> str:
    url = str(tmp_path / name)
    with Store.init(url) as store:
        log_files(store, "data", {"train.csv": b"1,2\n3,4\n"}, tmp_path / f"{name}-data")
    return url


def snapshot(store: Store, run_id: str) -> dict[str, Any]:
    """Everything about a run that must not depend on how it reached the store."""
    info = store.run(run_id)
    r = info.record
    graph = store.lineage(run_id=run_id)

    def node_key(node_id: str) -> tuple[Any, ...]:
        node = graph.node(node_id)
        if node.kind == "run":
            a = node.attrs
            return ("run", a["project"], a["name"], a["status"], a["run_id"] == run_id)
        return ("version", node.label, node.attrs["type"])

    model = store.artifact("model:latest")
    return {
        "project": info.project,
        "name": info.name,
        "config": info.config,
        "summary": info.summary,
        "tags": info.tags,
        "notes": r.notes,
        "state": info.state,
        "exit_code": r.exit_code,
        "finished": r.finished_at is not None,
        "host": r.host,
        "history": info.history(),
        "console": info.console(),
        "used": [version_key(v) for v in info.used()],
        "produced": [version_key(v) for v in info.produced()],
        "model": (model.type, model.metadata, sorted(model.aliases), model.created_by == run_id),
        "versions": {
            a.name: [version_key(v) for v in store.versions(a.name)] for a in store.artifacts()
        },
        "lineage_nodes": sorted(node_key(n.id) for n in graph.nodes),
        "lineage_edges": sorted((node_key(s), node_key(d), k) for s, d, k in graph.edges),
    }


@pytest.fixture
def online_and_offline(tmp_path):
    online_url, offline_url = seed_store(tmp_path, "online"), seed_store(tmp_path, "offline")
    online = train(online_url, "online", tmp_path / "work-online")
    offline = train(offline_url, "offline", tmp_path / "work-offline")
    assert offline.dir is not None
    with Store(online_url) as store:
        expected = snapshot(store, online.id)
    return expected, offline, offline_url


def test_offline_then_sync_equals_online(online_and_offline):
    expected, offline, offline_url = online_and_offline
    with Store(offline_url) as store:
        assert store.runs() == []
        result = sync_spool(offline.dir, store)
        assert (result.run_id, result.finished) == (offline.id, True)
        assert result.produced == ["model:v0", "report:v0"]
        assert result.used == ["data:v0"]
        assert result.metrics == 21  # 5 epochs x 4 keys + "final"
        got = snapshot(store, offline.id)
    # A few facts, so that a broken snapshot cannot make the comparison vacuous.
    assert expected["state"] == "finished"
    assert expected["summary"] == {
        "loss": 0.2,
        "phase": "train",
        "val/acc": 0.9,
        "epoch": 4,
        "final": 1.0,
        "best_epoch": 2,
    }
    assert len(expected["history"]) == 6
    assert "epoch 4 done\n" in expected["console"]
    assert expected["model"] == ("model", {"acc": 0.9}, ["candidate", "latest"], True)
    assert len(expected["lineage_edges"]) == 3
    assert got == expected


def test_offline_then_art_sync_equals_online(online_and_offline):
    expected, offline, offline_url = online_and_offline
    result = CliRunner().invoke(
        cli, ["--store", offline_url, "sync", str(offline.dir.parent)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"synced {offline.dir} -> run {offline.id}: 21 metrics")
    with Store(offline_url) as store:
        assert snapshot(store, offline.id) == expected


def test_sync_twice_changes_nothing(online_and_offline):
    _, offline, offline_url = online_and_offline
    with Store(offline_url) as store:
        sync_spool(offline.dir, store)
        first = snapshot(store, offline.id)
        again = sync_spool(offline.dir, store)
        assert again.produced == ["model:v0", "report:v0"]
        assert snapshot(store, offline.id) == first
        assert [r.id for r in store.runs()] == [offline.id]
        assert [v.version for v in store.versions("model")] == ["v0"]


def test_a_torn_last_line_is_ignored(online_and_offline, tmp_path, caplog):
    expected, offline, _ = online_and_offline
    with (offline.dir / SPOOL_FILE).open("a", encoding="utf-8") as spool:
        spool.write('{"format": 1, "type": "batch", "metrics": [["x", 99, "lo')
    url = seed_store(tmp_path, "torn")
    with Store(url) as store:
        sync_spool(offline.dir, store)
        assert "last line is incomplete" in caplog.text
        assert snapshot(store, offline.id) == expected
        sync_spool(offline.dir, store)
        assert snapshot(store, offline.id) == expected


def test_a_torn_line_in_the_middle_is_refused(online_and_offline, store):
    _, offline, _ = online_and_offline
    path = offline.dir / SPOOL_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:10]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidSpoolError, match=":2 is not a JSON record"):
        sync_spool(offline.dir, store)


def test_syncing_a_folder_without_a_spool_is_not_found(store, tmp_path):
    with pytest.raises(NotFoundError, match="not an offline run folder"):
        sync_spool(tmp_path, store)


def test_a_failed_offline_run_syncs_as_failed(store, tmp_path):
    with (
        pytest.raises(KeyError),
        artstore.init(store=store.url, mode="offline", dir=tmp_path, **FAST) as run,
    ):
        run.log({"a": 1.0})
        raise KeyError("x")
    assert run.dir is not None
    result = sync_spool(run.dir, store)
    assert result.finished
    info = store.run(run.id)
    assert (info.state, info.record.exit_code) == ("failed", 1)
    assert info.history() == [{"_step": 0, "a": 1.0}]
