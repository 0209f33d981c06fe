"""The harness itself: a refusal that already holds, seen through it."""

from __future__ import annotations

from pathlib import Path

from artstore.artifacts import Store
from artstore.errors import NotFoundError
from tests.hostile.harness import api, art, check_refused, snapshot


def test_harness_sees_a_refusal_and_an_unchanged_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store.init(str(root)).close()
    before = snapshot(root)
    outcome = art("--store", str(root), "get", "nosuch:v0", str(tmp_path / "out"))
    check_refused(outcome, code=2, says="nosuch", before=before, after=snapshot(root))
    with Store(str(root)) as store:
        outcome = api(lambda: store.artifact("nosuch:v0"))
    check_refused(outcome, code=2, says="nosuch", error=NotFoundError)
