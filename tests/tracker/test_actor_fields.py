"""Every alias history row carries the same actor fields (user@host, run, CI job), whether a
plain log, a run, a sync or a hand move wrote it."""

from __future__ import annotations

from pathlib import Path

import artstore
from artstore.artifacts import Store
from artstore.tracker import sync_spool
from tests.tracker.conftest import FAST, make_artifact


def test_a_plain_log_records_the_ci_job(store_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    with Store(store_url) as store:
        store.log_artifact(make_artifact("d", {"a": b"1"}, tmp_path / "d"), ["candidate"])
        moves = store.alias_history("d")
    assert [(m.alias, m.ci_job, m.run_id) for m in moves] == [
        ("latest", "github:99", None),
        ("candidate", "github:99", None),
    ]


def test_a_synced_run_records_its_run_and_the_ci_job(
    store_url: str, tmp_path: Path, monkeypatch
) -> None:
    with artstore.init(
        project="p", mode="offline", store=store_url, dir=tmp_path / "w", **FAST
    ) as run:
        run.log_artifact(make_artifact("d", {"a": b"1"}, tmp_path / "d"), ["candidate"])
    monkeypatch.setenv("GITHUB_RUN_ID", "7")
    with Store(store_url) as store:
        sync_spool(run.dir, store)
        moves = store.alias_history("d")
        assert store.artifact("d:v0").created_by == run.id
    assert {(m.ci_job, m.run_id) for m in moves} == {("github:7", run.id)}
    assert [m.alias for m in moves] == ["latest", "candidate"]
