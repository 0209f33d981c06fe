"""A protected alias moves only by promotion, through every front end, on SQLite and PostgreSQL.

Each case tries one write path of the API or the CLI on a store whose ``artstore.yaml``
protects ``production`` (held by m:v0): refused with ProtectedAliasError (exit 2, one line),
the store and its catalog byte-identical. The catalog's own write methods are covered in
``tests/lineage/test_rules.py``; here the front ends, then ``promote`` still moving it, and
``art sync`` leaving a spool's protected alias out with a warning (docs/cli.md, ``art sync``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from artstore.errors import ProtectedAliasError
from tests.hostile.harness import Outcome, api, art, check_refused, snapshot
from tests.tracker.conftest import FAST

SAYS = r"^art: alias 'production' is protected .*art promote m:REF --to production$"
API_SAYS = r"^alias 'production' is protected .*art promote m:REF --to production$"


@dataclass
class Place:
    root: Path
    db: str | None
    work: Path
    # Snapshots a case took itself, around the attempt alone (a run's own rows change).
    around: tuple[dict[str, object], dict[str, object]] | None = None

    def store(self) -> Store:
        return Store(str(self.root), db=self.db)

    def cli(self, *args: str) -> Outcome:
        db = () if self.db is None else ("--db", self.db)
        return art(*db, "--store", str(self.root), *args)

    def snapshot(self) -> dict[str, object]:
        return snapshot(self.root, self.db)

    def file(self, text: str) -> Path:
        path = self.work / f"{text}.bin"
        path.write_text(text)
        return path


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """A store protecting ``production``, with m:v0 (promoted to it) and m:v1."""
    db = None if request.param == "sqlite" else request.getfixturevalue("pg_catalog_url")
    work = tmp_path / "work"
    work.mkdir()
    p = Place(tmp_path / "store", db, work)
    Store.init(str(p.root), db=db).close()
    with (p.root / "artstore.yaml").open("a") as settings:
        settings.write("\nprotected_aliases: [production]\n")
    with p.store() as store:
        for text in ("zero", "one"):
            artifact = Artifact("m", "model")
            artifact.add_file(p.file(text))
            store.log_artifact(artifact)
        store.promote("m:v0", "production")
    return p


def _with_store(call: Callable[[Store], object]) -> Callable[[Place], Outcome]:
    def attempt(p: Place) -> Outcome:
        with p.store() as store:
            return api(lambda: call(store))

    return attempt


def _log(p: Place) -> Outcome:
    artifact = Artifact("m", "model")
    artifact.add_file(p.file("two"))
    with p.store() as store:
        return api(lambda: store.log_artifact(artifact, aliases=["candidate", "production"]))


def _run_log(p: Place) -> Outcome:
    artifact = Artifact("m", "model")
    artifact.add_file(p.file("two"))
    quiet = {**FAST, "heartbeat_interval": 3600}  # no heartbeat write between the snapshots
    with p.store() as store:
        run = artstore.init(store=store, mode="online", dir=p.work, **quiet)
        try:
            before = p.snapshot()
            outcome = api(lambda: run.log_artifact(artifact, aliases=["production"]))
            p.around = (before, p.snapshot())
        finally:
            run.finish()
    return outcome


CASES: dict[str, Callable[[Place], Outcome]] = {
    "Store.set_alias": _with_store(lambda s: s.set_alias("m:v1", "production")),
    "Store.set_alias to its holder": _with_store(lambda s: s.set_alias("m:v0", "production")),
    "Store.remove_alias": _with_store(lambda s: s.remove_alias("m", "production")),
    "Store.log_artifact(aliases=)": _log,
    "online Run.log_artifact(aliases=)": _run_log,
    "art alias set": lambda p: p.cli("alias", "set", "m:v1", "production"),
    "art alias rm": lambda p: p.cli("alias", "rm", "m", "production"),
    "art put --alias": lambda p: p.cli(
        "put", str(p.file("two")), "--name", "m", "--type", "model", "--alias", "production"
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_protected_alias_is_refused(place: Place, case: str) -> None:
    before = place.snapshot()
    outcome = CASES[case](place)
    after = place.snapshot()
    if place.around is not None:
        before, after = place.around
    api_case = not case.startswith("art ")
    check_refused(
        outcome,
        code=2,
        says=API_SAYS if api_case else SAYS,
        before=before,
        after=after,
        error=ProtectedAliasError if api_case else None,
    )
    assert place.cli("promote", "m:v1", "--to", "production").code == 0
    with place.store() as store:
        assert store.artifact("m:production").version == "v1"


def test_sync_leaves_a_protected_alias_out_and_changes_nothing_else(place: Place) -> None:
    run = artstore.init(store=str(place.root), mode="offline", dir=place.work, **FAST)
    with run:
        artifact = Artifact("m", "model")
        artifact.add_file(place.file("offline"))
        run.log_artifact(artifact, aliases=["production", "candidate"])
    outcome = place.cli("sync", str(run.dir))
    assert outcome.code == 0, outcome.lines
    [warning] = [line for line in outcome.lines if "protected" in line]
    assert warning.endswith(
        "protected aliases of m are not set by a sync: production; use art promote"
    )
    with place.store() as store:
        assert store.artifact("m:v2").aliases == ("candidate", "latest")
        assert store.artifact("m:production").version == "v0"
        assert [m.to_number for m in store.alias_history("m", "production")] == [0]
        assert store.run(run.id).produced()[0].version == "v2"
