"""Hostile inputs at the store's and the catalog's doors: settings files, store markers,
catalog URLs, the lock limit, references and run ids, through ``art`` and the Python API.

Each case is refused with one line naming the problem (exit 2, or a typed error from the API),
creates nothing, and leaves the store byte-identical, catalog rows included.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Artifact, Ref, Store
from artstore.errors import (
    ConfigError,
    FileAccessError,
    InvalidNameError,
    UnsupportedFormatError,
    UserError,
)
from artstore.lineage import Catalog
from artstore.storage import Digest
from tests.hostile.harness import Outcome, api, art, check_refused, snapshot

LONG_VERSION = "v" + "9" * 30
SECRET = "hunter2-planted"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding data:v0 (with a 'prod' alias) and one run."""
    root = tmp_path_factory.mktemp("config-template") / "store"
    with Store.init(str(root)) as store:
        data = Artifact("data", "dataset")
        source = root.parent / "a.csv"
        source.write_bytes(b"1,2\n")
        data.add_file(source)
        store.log_artifact(data, aliases=["prod"])
    with artstore.init(store=str(root), id="run1", capture_console=False) as run:
        run.log({"loss": 1.0})
    return root


@dataclass
class Place:
    """A case's own copy of the template store, and a work folder beside it."""

    root: Path
    work: Path

    @property
    def store(self) -> str:
        return str(self.root)

    def write(self, name: str, data: bytes) -> None:
        (self.root / name).write_bytes(data)

    def marker(self, **changes: object) -> None:
        marker = json.loads((self.root / "artstore.json").read_bytes())
        marker.update(changes)
        self.write("artstore.json", json.dumps(marker).encode())


@dataclass
class Case:
    id: str
    attempt: Callable[[Place], Outcome]
    says: str
    error: type[BaseException] | None = None
    prepare: Callable[[Place], object] = lambda place: None
    env: dict[str, str] = field(default_factory=dict)
    not_created: tuple[str, ...] = ()  # names in the work folder that must not appear
    code: int = 2


def _cli(*args: str) -> Callable[[Place], Outcome]:
    """``art --store <store> ARGS`` with ``{work}`` in ARGS replaced by the work folder."""
    return lambda p: art("--store", p.store, *(a.format(work=p.work) for a in args))


def _bare_cli(*args: str) -> Callable[[Place], Outcome]:
    return lambda p: art(*(a.format(work=p.work, store=p.store) for a in args))


def _new_schema_version(place: Place) -> None:
    with sqlite3.connect(place.root / "catalog.db") as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    connection.close()


def _put_file(place: Place) -> None:
    (place.work / "f.txt").write_bytes(b"new content\n")


def _api_put(db: str) -> Callable[[Place], Outcome]:
    def put(p: Place) -> Outcome:
        artifact = Artifact("newdata", "dataset")
        artifact.add_file(p.work / "f.txt")
        with Store(p.store, db=db.format(work=p.work)) as store:
            return api(lambda: store.log_artifact(artifact))

    return put


def _api_store(call: Callable[[Store], object], db: str | None = None) -> Callable[..., Outcome]:
    def attempt(p: Place) -> Outcome:
        with Store(p.store, db=db) as store:
            return api(lambda: call(store))

    return attempt


CASES = [
    # -- artstore.yaml -------------------------------------------------------------------------
    Case(
        "yaml-not-utf8",
        _cli("ls"),
        r"artstore\.yaml is not UTF-8 text",
        prepare=lambda p: p.write("artstore.yaml", b"catalog: \xff\xfe\n"),
    ),
    Case(
        "yaml-is-a-folder",
        _cli("ls"),
        r"artstore\.yaml is a folder, not a file",
        prepare=lambda p: (p.root / "artstore.yaml").mkdir(),
    ),
    Case(
        "yaml-invalid",
        _cli("ls"),
        r"artstore\.yaml is not valid YAML \(line 2, column 1: expected ',' or '\]'",
        prepare=lambda p: p.write("artstore.yaml", b"protected_aliases: [prod\n"),
    ),
    Case(
        "yaml-unknown-and-non-text-keys",
        _cli("ls"),
        r"unknown settings \['1', 'colour'\]",
        prepare=lambda p: p.write("artstore.yaml", b"1: a\ncolour: blue\n"),
    ),
    Case(
        "yaml-storage-options-keys",
        _api_store(lambda s: s.settings),
        r"storage_options must be a mapping of option names",
        ConfigError,
        prepare=lambda p: p.write("artstore.yaml", b"storage_options: {1: 2}\n"),
    ),
    # -- artstore.json -------------------------------------------------------------------------
    Case(
        "format-float",
        _cli("ls"),
        r"has format 1\.0; this artstore reads formats 1-1$",
        prepare=lambda p: p.marker(format=1.0),
    ),
    Case(
        "format-true",
        _cli("ls"),
        r"has format True; this artstore reads formats 1-1",
        prepare=lambda p: p.marker(format=True),
    ),
    Case(
        "format-string",
        _api_store(lambda s: s.blobs),
        r"has format '1'",
        UnsupportedFormatError,
        prepare=lambda p: p.marker(format="1"),
    ),
    Case(
        "store-id-path",
        _cli("ls"),
        r"artstore\.json lacks a valid id",
        prepare=lambda p: p.marker(id="../../elsewhere"),
    ),
    Case(
        "marker-is-a-folder",
        _cli("ls"),
        r"artstore\.json is a folder, not a store marker",
        prepare=lambda p: (
            (p.root / "artstore.json").unlink(),
            (p.root / "artstore.json").mkdir(),
        ),
    ),
    Case(
        "catalog-schema-newer",
        _cli("ls"),
        r"schema version 99, but this artstore reads schema versions up to \d+: upgrade",
        prepare=_new_schema_version,
    ),
    # -- art init ------------------------------------------------------------------------------
    Case(
        "init-on-a-file",
        _bare_cli("init", "{work}/notes.txt"),
        r"cannot use .*notes\.txt: it is a file; give a folder",
        prepare=lambda p: (p.work / "notes.txt").write_text("mine"),
    ),
    Case(
        "init-under-a-file",
        _bare_cli("init", "{work}/notes.txt/store"),
        r"notes\.txt/store: Not a directory",
        prepare=lambda p: (p.work / "notes.txt").write_text("mine"),
    ),
    Case(
        "init-bad-db",
        _bare_cli("--db", "bogus://x", "init", "{work}/new"),
        r"cannot open catalog database bogus://x: .*bogus",
        not_created=("new",),
    ),
    Case(
        "init-api-bad-db",
        lambda p: api(lambda: Store.init(str(p.work / "new"), db="bogus://x")),
        r"cannot open catalog database bogus://x",
        ConfigError,
        not_created=("new",),
    ),
    Case(
        "init-api-file",
        lambda p: api(lambda: Store.init(str(p.work / "notes.txt"))),
        r"notes\.txt: it is a file",
        FileAccessError,
        prepare=lambda p: (p.work / "notes.txt").write_text("mine"),
    ),
    # -- catalog URLs --------------------------------------------------------------------------
    Case(
        "db-missing-sqlite-file",
        _cli("--db", "sqlite:///{work}/typo.db", "ls"),
        r"catalog database .*typo\.db does not exist; check the catalog URL",
        not_created=("typo.db",),
    ),
    Case(
        "db-missing-sqlite-file-put",
        _api_put("sqlite:///{work}/typo.db"),
        r"typo\.db does not exist",
        ConfigError,
        prepare=_put_file,
        not_created=("typo.db",),
    ),
    Case(
        "db-password-without-scheme",
        _bare_cli("--db", f"user:{SECRET}@db.example/catalog", "--store", "{store}", "ls"),
        r"^art: cannot open catalog database user:\*\*\*@db\.example/catalog: ",
    ),
    Case(
        "db-password-unreachable",
        _api_store(
            lambda s: s.catalog, db=f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/catalog"
        ),
        r"cannot open catalog database postgresql\+psycopg://user:\*\*\*@127\.0\.0\.1:1/",
        ConfigError,
    ),
    Case(
        "db-nul",
        _api_store(lambda s: s.catalog, db="sqlite:///a\x00b.db"),
        r"sqlite:///a\\x00b\.db: it holds a NUL character",
        ConfigError,
    ),
    Case(
        "lock-timeout-malformed",
        _cli("ls"),
        r"ARTSTORE_LOCK_TIMEOUT must be a number of seconds >= 0, not 'soon'",
        env={"ARTSTORE_LOCK_TIMEOUT": "soon"},
    ),
    Case(
        "lock-timeout-negative",
        lambda p: api(lambda: Catalog.open(f"sqlite:///{p.root / 'catalog.db'}")),
        r"ARTSTORE_LOCK_TIMEOUT must be a number of seconds >= 0, not '-5'",
        ConfigError,
        env={"ARTSTORE_LOCK_TIMEOUT": "-5"},
    ),
    # -- references and run ids ----------------------------------------------------------------
    Case(
        "get-30-digit-version",
        _cli("get", f"data:{LONG_VERSION}", "{work}/out"),
        r"invalid version 'v9{30}': version numbers end at v2147483647",
        not_created=("out",),
    ),
    Case(
        "alias-set-30-digit-version",
        _cli("alias", "set", f"data:{LONG_VERSION}", "best"),
        r"version numbers end at",
    ),
    Case(
        "api-artifact-30-digit-version",
        _api_store(lambda s: s.artifact(f"data:{LONG_VERSION}")),
        r"version numbers end at",
        InvalidNameError,
    ),
    Case(
        "api-ref-not-text",
        lambda p: api(lambda: Ref.parse(b"data:v0")),  # type: ignore[arg-type]
        r"invalid reference b'data:v0'",
        InvalidNameError,
    ),
    Case(
        "api-digest-malformed",
        lambda p: api(lambda: Digest.parse("Z" * 5000)),
        r"not an xxh3-128 digest \(32 lowercase hex .*\): 'Z{50,}\.\.\. \(5002 characters\)",
        InvalidNameError,
    ),
    Case(
        "runs-show-bad-id",
        _cli("runs", "show", "../../x"),
        r"invalid run id '\.\./\.\./x'",
    ),
    Case(
        "api-run-bad-id",
        _api_store(lambda s: s.run("a" * 65)),
        r"invalid run id 'a{65}'",
        InvalidNameError,
    ),
    Case(
        "init-run-bad-id",
        lambda p: api(lambda: artstore.init(store=p.store, id="../../x")),
        r"invalid run id",
        InvalidNameError,
    ),
    Case(
        "api-lineage-direction",
        _api_store(lambda s: s.lineage("data", direction="sideways")),  # type: ignore[arg-type]
        r"direction must be 'up', 'down' or 'both', not 'sideways'",
        UserError,
    ),
    Case(
        "api-lineage-depth",
        _api_store(lambda s: s.lineage("data", depth=-1)),
        r"depth must be a whole number >= 0 or None, not -1",
        UserError,
    ),
    Case(
        "init-run-bad-env-id",
        lambda p: api(lambda: artstore.init(store=p.store)),
        r"invalid run id 'x y'",
        InvalidNameError,
        env={"ARTSTORE_RUN_ID": "x y"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused(case: Case, template: Path, tmp_path: Path, monkeypatch) -> None:
    root, work = tmp_path / "store", tmp_path / "work"
    shutil.copytree(template, root)
    work.mkdir()
    place = Place(root, work)
    case.prepare(place)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(root)
    work_before = sorted(p.name for p in work.iterdir())
    outcome = case.attempt(place)
    check_refused(
        outcome,
        code=case.code,
        says=case.says,
        before=before,
        after=snapshot(root),
        error=case.error,
    )
    assert SECRET not in " ".join(outcome.lines)
    assert sorted(p.name for p in work.iterdir()) == work_before
    for name in case.not_created:
        assert not (work / name).exists()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 15


def test_a_depth_beyond_any_catalog_means_no_limit(template: Path) -> None:
    """Not refused: `--depth 99999999999999999999` overflowed SQLite's integers (exit 3)."""
    outcome = art("--store", str(template), "lineage", "data", "--depth", "9" * 20, "--json")
    assert outcome.code == 0, outcome.lines
    assert json.loads(outcome.stdout)["nodes"]


def test_the_highest_version_number_fits_the_postgresql_catalog(
    tmp_path: Path, pg_catalog_url: str
) -> None:
    # The bound is the catalog column's: one past it is refused before any query, and the
    # highest number itself is an ordinary "no such version" on PostgreSQL, not a driver error.
    from artstore.artifacts.names import MAX_VERSION

    root = tmp_path / "store"
    source = tmp_path / "f.txt"
    source.write_text("x")
    assert art("--db", pg_catalog_url, "init", str(root)).code == 0
    base = ("--store", str(root), "--db", pg_catalog_url)
    assert art(*base, "put", str(source), "-t", "t").code == 0
    highest = art(*base, "get", f"f.txt:v{MAX_VERSION}", str(tmp_path / "out"))
    check_refused(highest, code=2, says=f"v{MAX_VERSION}")
    beyond = art(*base, "get", f"f.txt:v{MAX_VERSION + 1}", str(tmp_path / "out"))
    check_refused(beyond, code=2, says="invalid version")
