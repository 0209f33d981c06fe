"""The behaviour every catalog database must show; subclasses provide ``catalog_url``.

``catalog_url`` must name a fresh, empty database for each test. Worker functions live at
module level so that spawned processes can import them.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from artstore.errors import (
    AliasConflictError,
    ArtifactTypeError,
    ConfigError,
    NotFoundError,
    UnsupportedFormatError,
)
from artstore.lineage import SCHEMA_VERSION, Actor, Catalog, LogResult, NewVersion, migrations
from artstore.lineage.migrations import Migration

WORKERS = 8
MOVES_PER_WORKER = 20
JOIN_TIMEOUT = 60


def digest(i: int) -> str:
    return f"{i:032x}"


def log(catalog: Catalog, name: str = "mnist", i: int = 0, **overrides: Any) -> LogResult:
    kwargs: dict[str, Any] = {
        "name": name,
        "type": "dataset",
        "description": None,
        "digest": digest(i),
        "size": 100 + i,
        "file_count": 1 + i,
        "metadata": {},
        "aliases": [],
    }
    actor: dict[str, Any] = {"who": "alice@host"}
    for key, value in overrides.items():
        (actor if key in ("who", "run_id", "reason") else kwargs)[key] = value
    return catalog.versions.record(NewVersion(**kwargs), Actor(**actor))


def _record_worker(url: str, index: int, barrier: Any) -> tuple[int, int, bool]:
    with Catalog.open(url) as catalog:
        barrier.wait(timeout=JOIN_TIMEOUT)
        result = log(catalog, "race", index, who=f"worker{index}@host")
    return index, result.version.number, result.created


def _move_worker(url: str, targets: list[int], barrier: Any) -> list[tuple[Any, Any]]:
    with Catalog.open(url) as catalog:
        barrier.wait(timeout=JOIN_TIMEOUT)
        moves = [
            catalog.versions.move_alias("race", "prod", n, Actor("mover@host")) for n in targets
        ]
    return [(m.from_number, m.to_number) for m in moves]


def _guarded(target: Any, args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    try:
        results.put(("ok", target(*args, barrier)))
    except BaseException as exc:
        barrier.abort()  # release the others at once instead of letting them time out
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def run_processes(target: Any, args_per_process: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target`` in one spawned process per args tuple, released at once by a barrier."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args_per_process))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_guarded, args=(target, args, barrier, results))
        for args in args_per_process
    ]
    for process in processes:
        process.start()
    # Drain before joining: a child cannot exit while its queue data is unflushed.
    collected = [results.get(timeout=JOIN_TIMEOUT) for _ in processes]
    for process in processes:
        process.join(timeout=JOIN_TIMEOUT)
    errors = [detail for status, detail in collected if status == "error"]
    assert errors == []
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return [value for _, value in collected]


class CatalogContract:
    @pytest.fixture
    def catalog_url(self) -> str:
        raise NotImplementedError("subclasses provide a fresh empty database URL")

    @pytest.fixture
    def catalog(self, catalog_url: str) -> Iterator[Catalog]:
        with Catalog.open(catalog_url) as catalog:
            yield catalog

    @pytest.fixture
    def raw(self, catalog_url: str) -> Iterator[sa.Engine]:
        engine = sa.create_engine(catalog_url)
        yield engine
        engine.dispose()

    # -- recording versions ------------------------------------------------------------------

    def test_first_version_is_v0_and_latest(self, catalog):
        result = log(catalog, metadata={"rows": 60000}, run_id="run1", description="digits")
        assert result.created
        assert result.ignored_metadata_keys == ()
        v = result.version
        assert (v.artifact, v.type, v.number, v.version) == ("mnist", "dataset", 0, "v0")
        assert (v.digest, v.size, v.file_count) == (digest(0), 100, 1)
        assert v.metadata == {"rows": 60000}
        assert (v.created_by_run, v.created_by_user) == ("run1", "alice@host")
        assert v.aliases == ("latest",)
        assert catalog.versions.get("mnist", "latest") == v
        assert catalog.versions.get("mnist", "v0") == v
        assert catalog.versions.artifact("mnist").description == "digits"
        [move] = catalog.versions.alias_history("mnist", "latest")
        assert (move.from_number, move.to_number, move.who) == (None, 0, "alice@host")

    def test_identical_content_returns_newest_version(self, catalog):
        first = log(catalog, metadata={"a": 1, "b": [1, 2], "c": "same"})
        again = log(
            catalog,
            metadata={"a": 2, "b": (1, 2), "c": "same", "new": True},
            run_id="run2",
            who="bob@host",
        )
        assert not again.created
        assert again.ignored_metadata_keys == ("a", "new")
        assert again.version == first.version
        assert again.version.metadata == {"a": 1, "b": [1, 2], "c": "same"}
        assert again.version.created_by_user == "alice@host"
        assert len(catalog.versions.of("mnist")) == 1
        assert len(catalog.versions.alias_history("mnist", "latest")) == 1

    def test_changed_content_makes_next_version_and_moves_latest(self, catalog):
        log(catalog, i=0)
        result = log(catalog, i=1, reason="retrained")
        assert result.created
        assert result.version.number == 1
        assert result.version.aliases == ("latest",)
        assert catalog.versions.get("mnist", "latest").number == 1
        assert catalog.versions.get("mnist", "v0").aliases == ()
        moves = catalog.versions.alias_history("mnist", "latest")
        assert [(m.from_number, m.to_number) for m in moves] == [(None, 0), (0, 1)]
        assert moves[1].reason == "retrained"

    def test_content_equal_to_older_version_makes_new_version(self, catalog):
        log(catalog, i=0)
        log(catalog, i=1)
        result = log(catalog, i=0)
        assert result.created
        assert (result.version.number, result.version.digest) == (2, digest(0))
        assert catalog.versions.get("mnist", "latest").number == 2

    def test_other_type_is_refused_and_nothing_written(self, catalog):
        log(catalog, type="dataset", aliases=["a"])
        with pytest.raises(ArtifactTypeError) as info:
            log(catalog, i=1, type="model", aliases=["b"], description="changed")
        assert (info.value.existing, info.value.given) == ("dataset", "model")
        assert [v.number for v in catalog.versions.of("mnist")] == [0]
        assert catalog.versions.artifact("mnist").description is None
        assert [m.alias for m in catalog.versions.alias_history("mnist")] == ["latest", "a"]

    def test_description_replaced_only_when_given(self, catalog):
        log(catalog, i=0, description="first")
        log(catalog, i=1, description=None)
        assert catalog.versions.artifact("mnist").description == "first"
        log(catalog, i=1, description="second")
        assert catalog.versions.artifact("mnist").description == "second"

    def test_record_version_applies_aliases_even_to_identical_content(self, catalog):
        log(catalog, i=0, aliases=["candidate"])
        log(catalog, i=1)
        again = log(catalog, i=1, aliases=["candidate", "candidate", "best"], run_id="r9")
        assert not again.created
        assert again.version.aliases == ("best", "candidate", "latest")
        moves = [
            (m.alias, m.from_number, m.to_number, m.run_id)
            for m in catalog.versions.alias_history("mnist")
        ]
        assert moves == [
            ("latest", None, 0, None),
            ("candidate", None, 0, None),
            ("latest", 0, 1, None),
            ("candidate", 0, 1, "r9"),
            ("best", None, 1, "r9"),
        ]

    # -- aliases -----------------------------------------------------------------------------

    def test_alias_is_unique_per_artifact_and_moves_with_history(self, catalog):
        for i in range(3):
            log(catalog, i=i)
        catalog.versions.move_alias("mnist", "prod", 0, Actor("a@h", ci_job="ci-1", reason="first"))
        catalog.versions.move_alias("mnist", "prod", 2, Actor("b@h", run_id="r2"))
        move = catalog.versions.move_alias("mnist", "prod", 1, Actor("c@h"))
        assert (move.artifact, move.alias, move.from_number, move.to_number) == (
            "mnist",
            "prod",
            2,
            1,
        )
        assert [v.aliases for v in catalog.versions.of("mnist")] == [(), ("prod",), ("latest",)]
        history = catalog.versions.alias_history("mnist", "prod")
        assert [(m.from_number, m.to_number, m.who) for m in history] == [
            (None, 0, "a@h"),
            (0, 2, "b@h"),
            (2, 1, "c@h"),
        ]
        assert (history[0].ci_job, history[0].reason, history[1].run_id) == ("ci-1", "first", "r2")
        assert history[-1] == move
        assert history[0].at <= history[1].at <= history[2].at

    def test_move_to_current_target_writes_no_history(self, catalog):
        log(catalog, i=0)
        catalog.versions.move_alias("mnist", "prod", 0, Actor("a@h"))
        move = catalog.versions.move_alias("mnist", "prod", 0, Actor("b@h"))
        assert (move.from_number, move.to_number) == (0, 0)
        assert len(catalog.versions.alias_history("mnist", "prod")) == 1

    def test_same_alias_on_two_artifacts_is_independent(self, catalog):
        log(catalog, "a", 0)
        log(catalog, "a", 1)
        log(catalog, "b", 2)
        catalog.versions.move_alias("a", "prod", 0, Actor("x@h"))
        catalog.versions.move_alias("b", "prod", 0, Actor("x@h"))
        assert catalog.versions.get("a", "prod").digest == digest(0)
        assert catalog.versions.get("b", "prod").digest == digest(2)
        assert [m.artifact for m in catalog.versions.alias_history("a", "prod")] == ["a"]

    def test_remove_alias(self, catalog):
        log(catalog, i=0)
        catalog.versions.move_alias("mnist", "prod", 0, Actor("a@h"))
        move = catalog.versions.remove_alias("mnist", "prod", Actor("b@h", reason="rollback"))
        assert (move.from_number, move.to_number, move.reason) == (0, None, "rollback")
        assert catalog.versions.get("mnist", "v0").aliases == ("latest",)
        assert catalog.versions.alias_history("mnist", "prod")[-1] == move
        with pytest.raises(NotFoundError, match="has no alias 'prod'"):
            catalog.versions.get("mnist", "prod")
        with pytest.raises(NotFoundError, match="has no alias 'prod'"):
            catalog.versions.remove_alias("mnist", "prod", Actor("b@h"))
        assert len(catalog.versions.alias_history("mnist", "prod")) == 2

    def test_remove_alias_compare_and_swap(self, catalog):
        log(catalog, i=0)
        log(catalog, i=1)
        catalog.versions.move_alias("mnist", "prod", 1, Actor("a@h"))
        with pytest.raises(AliasConflictError, match="points at v1, not v0; nothing was moved"):
            catalog.versions.remove_alias("mnist", "prod", Actor("b@h"), expect=0)
        assert catalog.versions.get("mnist", "prod").number == 1
        assert len(catalog.versions.alias_history("mnist", "prod")) == 1
        move = catalog.versions.remove_alias("mnist", "prod", Actor("b@h"), expect=1)
        assert (move.from_number, move.to_number) == (1, None)

    # -- lookups and errors ------------------------------------------------------------------

    def test_not_found_messages_are_one_actionable_line(self, catalog):
        for i in range(4):
            log(catalog, i=i)
        catalog.versions.move_alias("mnist", "candidate", 1, Actor("a@h"))
        cases = {
            "prod": "artifact 'mnist' has no alias 'prod' (aliases: candidate, latest); "
            "see: art ls mnist",
            "v9": "artifact 'mnist' has no version v9 (versions v0-v3); see: art ls mnist",
        }
        for selector, message in cases.items():
            with pytest.raises(NotFoundError) as info:
                catalog.versions.get("mnist", selector)
            assert str(info.value) == message
        with pytest.raises(NotFoundError) as info:
            catalog.versions.move_alias("mnist", "prod", 9, Actor("a@h"))
        assert str(info.value) == cases["v9"]

    @pytest.mark.parametrize(
        "call",
        [
            lambda c: c.versions.get("mnst", "latest"),
            lambda c: c.versions.artifact("mnst"),
            lambda c: c.versions.of("mnst"),
            lambda c: c.versions.alias_history("mnst"),
            lambda c: c.versions.move_alias("mnst", "prod", 0, Actor("a@h")),
            lambda c: c.versions.remove_alias("mnst", "prod", Actor("a@h")),
        ],
        ids=[
            "get_version",
            "get_artifact",
            "list_versions",
            "alias_history",
            "move_alias",
            "remove_alias",
        ],
    )
    def test_unknown_artifact_message(self, catalog, call):
        log(catalog)
        with pytest.raises(NotFoundError) as info:
            call(catalog)
        assert str(info.value) == "no artifact named 'mnst' in this store; see: art ls"

    def test_list_artifacts_sorted_filtered_and_summarised(self, catalog):
        log(catalog, "zeta", 0, type="model")
        log(catalog, "alpha", 1, type="dataset", description="d")
        log(catalog, "alpha", 2, type="dataset", size=7)
        log(catalog, "mid", 3, type="model")
        assert [a.name for a in catalog.versions.artifacts()] == ["alpha", "mid", "zeta"]
        assert [a.name for a in catalog.versions.artifacts(type="model")] == ["mid", "zeta"]
        assert catalog.versions.artifacts(type="nothing") == []
        alpha = catalog.versions.artifacts(type="dataset")[0]
        assert (alpha.version_count, alpha.latest_number, alpha.size) == (2, 1, 7)
        assert alpha.description == "d"
        assert catalog.versions.artifact("alpha") == alpha

    def test_list_versions_ascending_with_sorted_aliases(self, catalog):
        for i in range(3):
            log(catalog, i=i)
        catalog.versions.move_alias("mnist", "zz", 1, Actor("a@h"))
        catalog.versions.move_alias("mnist", "aa", 1, Actor("a@h"))
        versions = catalog.versions.of("mnist")
        assert [v.version for v in versions] == ["v0", "v1", "v2"]
        assert [v.aliases for v in versions] == [(), ("aa", "zz"), ("latest",)]
        assert [v.size for v in versions] == [100, 101, 102]

    def test_times_are_utc_aware_and_records_frozen(self, catalog):
        version = log(catalog).version
        moves = catalog.versions.alias_history("mnist")
        created = catalog.versions.artifact("mnist").created_at
        for when in (version.created_at, created, moves[0].at):
            assert when.utcoffset() == timedelta(0)
            assert when.tzinfo is UTC
        assert catalog.versions.get("mnist", "v0").created_at == version.created_at
        with pytest.raises(dataclasses.FrozenInstanceError):
            version.number = 5  # type: ignore[misc]

    def test_big_sizes_round_trip(self, catalog):
        size = 5 * 2**40  # 5 TiB: needs a 64-bit column
        assert log(catalog, size=size).version.size == size
        assert catalog.versions.artifact("mnist").size == size

    def test_listings_use_a_fixed_number_of_queries(self, catalog):
        for i in range(30):
            log(catalog, f"a{i:02}", i)
        for i in range(30, 50):
            log(catalog, "a00", i, aliases=[f"x{i}"])
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        sa.event.listen(sa.Engine, "before_cursor_execute", count)
        try:
            assert len(catalog.versions.artifacts()) == 30
            listing = len(statements)
            assert len(catalog.versions.of("a00")) == 21
            versions = len(statements) - listing
        finally:
            sa.event.remove(sa.Engine, "before_cursor_execute", count)
        assert listing <= 2
        assert versions <= 3

    # -- schema and migrations ---------------------------------------------------------------

    def test_new_database_gets_current_schema_version(self, catalog, raw):
        assert catalog.schema_version == SCHEMA_VERSION
        with raw.connect() as conn:
            rows = conn.execute(sa.text("SELECT version FROM schema_version")).all()
        assert rows == [(SCHEMA_VERSION,)]

    def test_new_schema_matches_the_models(self, catalog, raw):
        inspector = sa.inspect(raw)
        for name, table in SQLModel.metadata.tables.items():
            columns = {c["name"] for c in inspector.get_columns(name)}
            assert columns == {c.name for c in table.columns}, name
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("versions")}
        assert ("artifact_id", "number") in uniques
        assert any(ix["column_names"] == ["digest"] for ix in inspector.get_indexes("versions"))

    def test_reopening_keeps_data(self, catalog_url):
        with Catalog.open(catalog_url) as catalog:
            log(catalog)
        with Catalog.open(catalog_url) as catalog:
            assert catalog.versions.get("mnist", "latest").number == 0

    def test_newer_schema_is_refused(self, catalog_url, raw):
        Catalog.open(catalog_url).close()
        with raw.begin() as conn:
            conn.execute(
                sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1}
            )
        with pytest.raises(UnsupportedFormatError) as info:
            Catalog.open(catalog_url)
        message = str(info.value)
        assert f"schema version {SCHEMA_VERSION + 1}" in message
        assert f"up to {SCHEMA_VERSION}" in message
        assert "upgrade artstore" in message
        assert "\n" not in message

    def test_pending_migration_is_applied_and_logged(self, catalog_url, raw, monkeypatch, caplog):
        with Catalog.open(catalog_url) as catalog:
            log(catalog)

        def add_table(conn: sa.Connection) -> None:
            conn.execute(sa.text("CREATE TABLE test_marker (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO test_marker (id) VALUES (42)"))

        new = Migration(SCHEMA_VERSION + 1, "test marker table", add_table)
        monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, new])
        with caplog.at_level(logging.INFO, logger="artstore.lineage"):
            catalog = Catalog.open(catalog_url)
        with catalog:
            assert catalog.schema_version == SCHEMA_VERSION + 1
            assert catalog.versions.get("mnist", "latest").number == 0
        assert any(
            r.levelno == logging.INFO
            and "test marker table" in r.getMessage()
            and f"{SCHEMA_VERSION} -> {SCHEMA_VERSION + 1}" in r.getMessage()
            for r in caplog.records
        )
        with raw.connect() as conn:
            assert conn.execute(sa.text("SELECT id FROM test_marker")).scalar() == 42
            assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == (
                SCHEMA_VERSION + 1
            )
        with Catalog.open(catalog_url) as catalog:  # already applied: runs nothing again
            assert catalog.schema_version == SCHEMA_VERSION + 1

    def test_failed_migration_leaves_old_schema(self, catalog_url, raw, monkeypatch):
        Catalog.open(catalog_url).close()

        def broken(conn: sa.Connection) -> None:
            conn.execute(sa.text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
            raise RuntimeError("migration bug")

        new = Migration(SCHEMA_VERSION + 1, "broken", broken)
        monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, new])
        with pytest.raises(RuntimeError, match="migration bug"):
            Catalog.open(catalog_url)
        assert "half_done" not in sa.inspect(raw).get_table_names()
        with raw.connect() as conn:
            assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == (
                SCHEMA_VERSION
            )

    def test_foreign_tables_without_schema_version_are_refused(self, catalog_url, raw):
        with raw.begin() as conn:
            conn.execute(sa.text("CREATE TABLE artifacts (id INTEGER PRIMARY KEY)"))
        with pytest.raises(ConfigError, match="no artstore schema version"):
            Catalog.open(catalog_url)

    # -- concurrency with real processes -----------------------------------------------------

    @pytest.mark.slow
    def test_concurrent_writers_get_distinct_numbers(self, catalog_url):
        # The processes also race to create the schema: nobody opened the database before.
        results = run_processes(_record_worker, [(catalog_url, i) for i in range(WORKERS)])
        assert sorted(number for _, number, _ in results) == list(range(WORKERS))
        assert all(created for _, _, created in results)
        with Catalog.open(catalog_url) as catalog:
            versions = catalog.versions.of("race")
            assert [v.number for v in versions] == list(range(WORKERS))
            assert sorted(v.digest for v in versions) == [digest(i) for i in range(WORKERS)]
            assert {(v.number, v.digest) for v in versions} == {
                (number, digest(index)) for index, number, _ in results
            }
            assert catalog.versions.get("race", "latest").number == WORKERS - 1
            moves = catalog.versions.alias_history("race", "latest")
        assert [(m.from_number, m.to_number) for m in moves] == [
            (None if n == 0 else n - 1, n) for n in range(WORKERS)
        ]

    @pytest.mark.slow
    def test_concurrent_alias_moves_keep_a_consistent_chain(self, catalog_url):
        with Catalog.open(catalog_url) as catalog:
            for i in range(4):
                log(catalog, "race", i)
        # Each worker alternates between its own two versions, so every move really moves.
        plans = [[0, 1] * (MOVES_PER_WORKER // 2), [2, 3] * (MOVES_PER_WORKER // 2)]
        results = run_processes(_move_worker, [(catalog_url, plan) for plan in plans])
        with Catalog.open(catalog_url) as catalog:
            history = catalog.versions.alias_history("race", "prod")
            final = catalog.versions.get("race", "prod").number
        chain = [(m.from_number, m.to_number) for m in history]
        assert len(chain) == 2 * MOVES_PER_WORKER
        assert chain[0][0] is None
        for previous, current in itertools.pairwise(chain):
            assert current[0] == previous[1]
        assert chain[-1][1] == final
        assert sorted(chain, key=repr) == sorted(
            [move for moves in results for move in moves], key=repr
        )
