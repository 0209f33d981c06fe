"""The rules of aliases hold at the catalog's own write methods, on SQLite and PostgreSQL.

Every write path that sets or removes an alias (``move_alias``, ``remove_alias``,
``record_version`` and ``import_run``) is called directly, as a dashboard or a sweep agent
would: a protected alias is refused with nothing written unless the move is a promotion,
``latest`` is never set or removed by hand, an artifact keeps its type, and a compare-and-swap
move checks its holder in the transaction, promotion or not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from artstore.errors import (
    AliasConflictError,
    ArtifactTypeError,
    InvalidArgumentError,
    InvalidNameError,
    ProtectedAliasError,
)
from artstore.lineage import Actor, Catalog, ImportedVersion, Promotion, RunImport
from tests.hostile.harness import snapshot
from tests.lineage.contract import digest, log

PROTECTED = frozenset({"production"})


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    """A catalog protecting ``production``, with mnist v0 and v1."""
    with Catalog.open(db_url, protected=PROTECTED) as opened:
        log(opened, "mnist", 0)
        log(opened, "mnist", 1)
        yield opened


def rows(db_url: str, tmp_path: Any) -> dict[str, Any]:
    # Only the catalog's rows: the store folder is empty here.
    return snapshot(tmp_path / "no-store", db_url)["catalog"]


def imported(aliases: tuple[str, ...], type: str = "dataset") -> RunImport:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    version = ImportedVersion(
        name="mnist",
        type=type,
        description=None,
        metadata={},
        digest=digest(7),
        size=1,
        file_count=1,
        aliases=aliases,
    )
    return RunImport(
        run_id="offline1",
        columns={"project": "p", "user": "u", "created_at": now, "heartbeat_at": now},
        metrics=[],
        console=[],
        lineage=[version],
        actor=Actor("u@host", run_id="offline1"),
    )


REFUSED: dict[str, tuple[Callable[[Catalog], object], type[Exception], str]] = {
    "move_alias protected": (
        lambda c: c.versions.move_alias("mnist", "production", 0, Actor("a@h")),
        ProtectedAliasError,
        r"alias 'production' is protected.*art promote mnist:REF --to production",
    ),
    "move_alias protected, compare-and-swap": (
        lambda c: c.versions.move_alias("mnist", "production", 0, Actor("a@h"), expect=None),
        ProtectedAliasError,
        "protected",
    ),
    "remove_alias protected": (
        lambda c: c.versions.remove_alias("mnist", "production", Actor("a@h")),
        ProtectedAliasError,
        "protected",
    ),
    "record_version with a protected alias": (
        lambda c: log(c, "mnist", 5, aliases=["candidate", "production"]),
        ProtectedAliasError,
        "protected",
    ),
    "record_version of a new artifact with a protected alias": (
        lambda c: log(c, "fresh", 5, aliases=["production"]),
        ProtectedAliasError,
        "protected",
    ),
    "import_run with a protected alias": (
        lambda c: c.runs.import_run(imported(("candidate", "production"))),
        ProtectedAliasError,
        "protected",
    ),
    "check_import with a protected alias": (
        lambda c: c.runs.check_import(imported(("production",))),
        ProtectedAliasError,
        "protected",
    ),
    "move_alias latest": (
        lambda c: c.versions.move_alias("mnist", "latest", 0, Actor("a@h")),
        InvalidNameError,
        "'latest' is kept by the store",
    ),
    "move_alias latest, even as a promotion": (
        lambda c: c.versions.move_alias("mnist", "latest", 0, Actor("a@h"), promotion=Promotion()),
        InvalidNameError,
        "'latest' is kept by the store",
    ),
    "remove_alias latest": (
        lambda c: c.versions.remove_alias("mnist", "latest", Actor("a@h")),
        InvalidNameError,
        "'latest' is kept by the store",
    ),
    "record_version with latest": (
        lambda c: log(c, "mnist", 5, aliases=["latest"]),
        InvalidNameError,
        "'latest' is kept by the store",
    ),
    "import_run with latest": (
        lambda c: c.runs.import_run(imported(("latest",))),
        InvalidNameError,
        "'latest' is kept by the store",
    ),
    "record_version of another type": (
        lambda c: log(c, "mnist", 5, type="model"),
        ArtifactTypeError,
        "has type .dataset., not .model.",
    ),
    "import_run of another type": (
        lambda c: c.runs.import_run(imported((), type="model")),
        ArtifactTypeError,
        "has type .dataset., not .model.",
    ),
    "import_run whose actor acts for another run": (
        lambda c: c.runs.import_run(
            dataclasses.replace(imported(("candidate",)), actor=Actor("u@host", run_id="other"))
        ),
        InvalidArgumentError,
        "is written by that run, not by 'other'",
    ),
    "remove_alias protected, compare-and-swap": (
        lambda c: c.versions.remove_alias("mnist", "production", Actor("a@h"), expect=0),
        ProtectedAliasError,
        "protected",
    ),
    "promotion with a stale compare-and-swap": (
        lambda c: c.versions.move_alias(
            "mnist", "production", 0, Actor("a@h"), expect=1, promotion=Promotion()
        ),
        AliasConflictError,
        "points at v0, not v1",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_write_that_breaks_a_rule_is_refused_with_nothing_written(
    catalog: Catalog, db_url: str, tmp_path: Any, case: str
) -> None:
    call, error, says = REFUSED[case]
    catalog.versions.move_alias("mnist", "production", 0, Actor("ci@h"), promotion=Promotion())
    before = rows(db_url, tmp_path)
    with pytest.raises(error, match=says) as caught:
        call(catalog)
    assert len(str(caught.value).splitlines()) == 1
    assert rows(db_url, tmp_path) == before


def test_a_promotion_moves_a_protected_alias(catalog: Catalog) -> None:
    first = catalog.versions.move_alias(
        "mnist", "production", 0, Actor("ci@h"), promotion=Promotion()
    )
    move = catalog.versions.move_alias(
        "mnist", "production", 1, Actor("ci@h"), expect=0, promotion=Promotion()
    )
    assert (first.to_number, move.from_number, move.to_number) == (0, 0, 1)
    assert catalog.versions.get("mnist", "production").number == 1
    catalog.versions.move_alias("mnist", "staging", 0, Actor("a@h"))  # others move as before
    catalog.versions.remove_alias("mnist", "staging", Actor("a@h"))


def test_import_run_without_protected_aliases_still_imports(catalog: Catalog) -> None:
    done = catalog.runs.import_run(imported(("candidate",)))
    assert done.produced == ("mnist:v2",)
    assert catalog.versions.get("mnist", "candidate").number == 2


def test_a_catalog_opened_without_protected_aliases_protects_none(db_url: str) -> None:
    with Catalog.open(db_url) as catalog:
        assert catalog.protected == frozenset()
        log(catalog, "mnist", 0, aliases=["production"])
    with Catalog.open(db_url, protected=["production"]) as catalog:
        assert catalog.protected == PROTECTED
        with pytest.raises(ProtectedAliasError):
            catalog.versions.remove_alias("mnist", "production", Actor("a@h"))
