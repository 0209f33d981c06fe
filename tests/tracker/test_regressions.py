"""Behaviour that once went wrong: each test names what it guards."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Store
from artstore.tracker import Run, sync_spool
from artstore.tracker.console import copy_output
from tests.tracker.conftest import log_files


def test_console_of_a_resumed_run_stays_in_order(start: Callable[..., Run], store: Store) -> None:
    first = start(id="again", capture_console=True)
    print("before the pause")
    first.finish()
    second = start(id="again", resume="allow", capture_console=True)
    print("after the pause")
    second.finish()
    assert store.run("again").console() == "before the pause\nafter the pause\n"


def test_lineage_shows_a_silent_run_as_crashed(store: Store, tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    store.catalog.runs.create(
        id="ghost",
        project="p",
        user="u",
        created_at=long_ago,
        heartbeat_at=long_ago,
        heartbeat_timeout=30.0,
    )
    version = log_files(store, "out", {"m.bin": b"weights"}, tmp_path / "m")
    store.catalog.runs.add_edge("ghost", version.name, version.number, "produced")
    graph = store.lineage("out:latest", direction="up")
    (run_node,) = [n for n in graph.nodes if n.kind == "run"]
    assert run_node.attrs["status"] == "crashed"
    assert store.run("ghost").state == "crashed"


def test_sync_skips_a_used_version_whose_content_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    offline_store = Store.init(str(tmp_path / "laptop"))
    log_files(offline_store, "data", {"x.csv": b"laptop rows"}, tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    with artstore.init(store=offline_store, mode="offline", capture_console=False) as run:
        run.use_artifact("data:v0")
    target = Store.init(str(tmp_path / "team"))
    log_files(target, "data", {"x.csv": b"other rows"}, tmp_path / "b")  # also data:v0
    with caplog.at_level(logging.WARNING, logger="artstore"):
        result = sync_spool(run.dir, target)
    assert result.used == []
    assert target.run(run.id).used() == []
    assert "not the version run" in caplog.text


def test_art_run_decodes_characters_split_across_reads() -> None:
    class Pieces(io.RawIOBase):
        def __init__(self, chunks: list[bytes]) -> None:
            self.chunks = chunks

        def read1(self, size: int = -1) -> bytes:
            return self.chunks.pop(0) if self.chunks else b""

    shown, kept = io.StringIO(), []
    copy_output(Pieces([b"caf\xc3", b"\xa9 ok\n"]), shown, "stdout", lambda s, t: kept.append(t))
    assert shown.getvalue() == "café ok\n"
    assert "".join(kept) == "café ok\n"


def test_sync_with_nothing_to_sync_creates_no_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from artstore.cli import cli

    result = CliRunner().invoke(cli, ["sync"])  # the working folder has no store, no spool
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "no offline runs to sync\n"
    assert not (Path.cwd() / ".artstore").exists()
