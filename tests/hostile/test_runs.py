"""Hostile inputs of runs: damaged or crafted offline spools through `art sync`, values
`Run.log()` cannot keep, and `art runs` arguments. Each is refused with one line naming the
problem (the spool's file, line and field), and leaves the store and catalog as they were."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from artstore.errors import InvalidValueError
from artstore.tracker import Run
from tests.conftest import make_folder
from tests.hostile.harness import api, art, check_refused, snapshot

OTHER = "otherrun1"  # an online run in the store, which no spool may write
Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with data:v0 and an online run, and a valid offline run that used data:v0,
    logged 3 steps, printed a line and logged model (one batch: nothing flushes earlier)."""
    root = tmp_path_factory.mktemp("runs-template")
    store_url = str(root / "store")
    with Store.init(store_url) as store:
        data = Artifact("data", "dataset")
        data.add_dir(make_folder(root / "data", {"a.csv": b"1,2\n"}))
        store.log_artifact(data)
    quiet: dict[str, Any] = {"flush_interval": 60.0, "heartbeat_interval": 60.0}
    with artstore.init(store=store_url, id=OTHER, capture_console=False, **quiet) as other:
        other.log({"loss": 9.0})
    with artstore.init(store=store_url, mode="offline", dir=root / "work", **quiet) as run:
        run.use_artifact("data:latest")
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1), "phase": "train"})
        print("training offline")
        model = Artifact("model", "model")
        model.add_dir(make_folder(root / "model", {"w.bin": b"weights"}))
        run.log_artifact(model, aliases=["candidate"])
    return root


@dataclass
class Copy:
    """One case's own copy of the template."""

    store: Path
    folder: Path

    def edit(self, change: Callable[[Records], object]) -> None:
        path = self.folder / "run.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        change(records)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))

    def lines(self, change: Callable[[list[bytes]], object]) -> None:
        path = self.folder / "run.jsonl"
        lines = path.read_bytes().splitlines()
        change(lines)
        path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def copy(template: Path, tmp_path: Path) -> Copy:
    root = tmp_path / "t"
    shutil.copytree(template, root)
    [folder] = (root / "work" / "artstore-runs").iterdir()
    return Copy(root / "store", folder)


def first(records: Records, kind: str) -> dict[str, Any]:
    return next(r for r in records if r["type"] == kind)


def batch(records: Records) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "batch" and r["metrics"])


def metric(records: Records) -> list[Any]:
    return batch(records)["metrics"][0]  # type: ignore[no-any-return]


def console(records: Records) -> list[Any]:
    return batch(records)["console"][0]  # type: ignore[no-any-return]


def start(records: Records) -> dict[str, Any]:
    return records[0]["fields"]  # type: ignore[no-any-return]


def rename(copy: Copy, records: Records, run_id: str) -> None:
    """Make the spool, every row and its folder name the run ``run_id``."""
    start(records)["id"] = run_id
    for record in records:
        for row in [*record.get("metrics", ()), *record.get("console", ())]:
            row[0] = run_id


def set_(target: Callable[[Records], Any], key: Any, value: Any) -> Callable[[Records], None]:
    return lambda records: target(records).__setitem__(key, value)


def delete(target: Callable[[Records], Any], key: str) -> Callable[[Records], None]:
    return lambda records: target(records).pop(key)


def insert_first(record: dict[str, Any]) -> Callable[[Records], None]:
    return lambda records: records.insert(0, record)


# (id, change to the spool's records, what the one line must say)
SPOOL_CASES: list[tuple[str, Callable[[Records], object], str]] = [
    (
        "metric row of another run",
        set_(metric, 0, OTHER),
        rf"run\.jsonl:\d+: metrics\[0\]\.run '{OTHER}' is not this spool's run",
    ),
    (
        "console row of another run",
        set_(console, 0, OTHER),
        r"console\[0\]\.run 'otherrun1' is not this spool's run",
    ),
    (
        "run id ../../x",
        set_(start, "id", "../../x"),
        r":1: fields\.id is invalid: invalid run id '\.\./\.\./x'",
    ),
    ("run id not a string", set_(start, "id", 7), r"fields\.id is invalid: invalid run id 7"),
    (
        "metric value notanumber",
        set_(metric, 3, "notanumber"),
        r"metrics\[0\]\.value 'notanumber' is not a number",
    ),
    ("metric value true", set_(metric, 3, True), r"metrics\[0\]\.value True is not a number"),
    ("metric step a string", set_(metric, 1, "1"), r"metrics\[0\]\.step '1' is not a whole"),
    ("metric step negative", set_(metric, 1, -1), r"metrics\[0\]\.step -1 is not a whole"),
    ("metric step past int64", set_(metric, 1, 2**64), r"metrics\[0\]\.step \d+ is not a whole"),
    ("metric key empty", set_(metric, 2, ""), r"metrics\[0\]\.key '' is not 1-512 characters"),
    ("metric key NUL", set_(metric, 2, "a\x00b"), r"metrics\[0\]\.key contains a NUL"),
    ("metric key a number", set_(metric, 2, 5), r"metrics\[0\]\.key 5 is not a string"),
    ("metric time a string", set_(metric, 5, "now"), r"metrics\[0\]\.time 'now' is not a number"),
    ("metric text and value", set_(metric, 4, "x"), r"metrics\[0\] holds both a number and a text"),
    (
        "metric text too long",
        lambda r: metric(r).__setitem__(slice(3, 5), [None, "x" * 1025]),
        r"metrics\[0\]\.text is longer than 1024",
    ),
    ("metric row too short", lambda r: metric(r).pop(), r"metrics\[0\] .* is not a row of 6"),
    ("metrics not a list", set_(batch, "metrics", {}), r"metrics \{\} is not a list"),
    ("console stream stdin", set_(console, 2, "stdin"), r"console\[0\]\.stream 'stdin' is not"),
    ("console text a list", set_(console, 3, ["x"]), r"console\[0\]\.text \['x'\] is not a str"),
    (
        "unknown run column",
        set_(start, "colour", "red"),
        r":1: fields\.'colour' is not a run column",
    ),
    ("batch sets the id", set_(lambda r: batch(r)["fields"], "id", "x"), r"'id' is not a run col"),
    (
        "batch moves the project",
        set_(lambda r: batch(r)["fields"], "project", "elsewhere"),
        r"fields\.'project' is fixed at start",
    ),
    (
        "bad date",
        set_(start, "created_at", "yesterday"),
        r"fields\.created_at 'yesterday' is not an ISO 8601 time",
    ),
    (
        "date without offset",
        set_(start, "created_at", "2026-01-01T10:00:00"),
        r"fields\.created_at '2026-01-01T10:00:00' has no UTC offset",
    ),
    ("tags not a list", set_(start, "tags", "a,b"), r"fields\.tags 'a,b' is not a list"),
    (
        "exit code a string",
        set_(lambda r: batch(r)["fields"], "exit_code", "0"),
        r"fields\.exit_code '0' is not a whole number",
    ),
    (
        "status unknown",
        set_(lambda r: batch(r)["fields"], "status", "paused"),
        r"fields\.status 'paused' is not one of running, finished, failed",
    ),
    (
        "heartbeat timeout negative",
        set_(start, "heartbeat_timeout", -1),
        r"fields\.heartbeat_timeout -1 is not a positive",
    ),
    (
        "config nested too deep",
        lambda r: start(r).__setitem__("config", json.loads('{"a":' * 150 + "1" + "}" * 150)),
        r"fields\.config nests deeper than 100 levels",
    ),
    ("start id missing", delete(start, "id"), r":1: fields\.id is missing"),
    ("start created_at missing", delete(start, "created_at"), r"fields\.created_at is missing"),
    ("batch fields missing", delete(batch, "fields"), r":\d+: fields is missing"),
    (
        "artifact name unsafe",
        set_(lambda r: first(r, "artifact"), "name", "../evil"),
        r"name is invalid: invalid artifact name '\.\./evil'",
    ),
    (
        "artifact digest not hex",
        set_(lambda r: first(r, "artifact"), "digest", "xyz"),
        r"digest 'xyz' is not a digest \(32 lowercase hex",
    ),
    (
        "artifact manifest absent",
        set_(lambda r: first(r, "artifact"), "digest", "0" * 32),
        r"digest names manifest 0{32}, which .*store lacks",
    ),
    (
        "artifact alias latest",
        set_(lambda r: first(r, "artifact"), "aliases", ["latest"]),
        r"aliases\[0\] is invalid: alias 'latest' is kept by the store",
    ),
    (
        "artifact metadata a list",
        set_(lambda r: first(r, "artifact"), "metadata", [1]),
        r"metadata \[1\] is not an object",
    ),
    (
        "use version number 10**30",
        set_(lambda r: first(r, "use"), "number", 10**30),
        r"number \d+ is not a whole number from 0 to 2147483647",
    ),
    ("use digest missing", delete(lambda r: first(r, "use"), "digest"), r":2: digest is missing"),
    (
        "unknown field in a record",
        set_(lambda r: first(r, "use"), "extra", 1),
        r":2: 'extra' is not a field of a spool record",
    ),
    ("format 1.0", set_(lambda r: r[1], "format", 1.0), r":2: format 1\.0 is not a format number"),
    # Format 2 holds file and alert records (decision 70); 3 is the next unknown one.
    ("format 4", set_(lambda r: r[1], "format", 4), r":2 has format 4; .* upgrade artstore"),
    ("unknown record type", set_(lambda r: r[1], "type", "snapshot"), r"'snapshot'; upgrade"),
    (
        "a second start record",
        lambda r: r.insert(2, dict(r[0])),
        r":3: start record is not the first line",
    ),
    ("start not first", lambda r: r.pop(0), r":1: use record is not a start record"),
    ("resume true", set_(lambda r: r[0], "resume", True), r":1: resume must be false"),
]


@pytest.mark.parametrize(
    ("change", "says"), [c[1:] for c in SPOOL_CASES], ids=[c[0] for c in SPOOL_CASES]
)
def test_a_bad_spool_is_refused_whole(
    copy: Copy, change: Callable[[Records], object], says: str
) -> None:
    copy.edit(change)
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder))
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))
    assert outcome.lines[0].endswith("nothing was synced") or "upgrade artstore" in outcome.lines[0]


LINE_CASES: list[tuple[str, Callable[[list[bytes]], object], str]] = [
    (
        "a torn line in the middle",
        lambda ls: ls.__setitem__(1, ls[1][:15]),
        r":2 is not a JSON record",
    ),
    ("a line that is an array", lambda ls: ls.insert(1, b"[1, 2]"), r":2 is not a JSON object"),
    ("not UTF-8 in the middle", lambda ls: ls.insert(1, b'{"a": "\xff"}'), r":2 is not a JSON rec"),
    ("a number too long to read", lambda ls: ls.insert(1, b"9" * 5000), r":2 is not a JSON record"),
    ("nested past recursion", lambda ls: ls.insert(1, b"[" * 100_000), r":2 is not a JSON record"),
    ("an empty file", lambda ls: ls.clear(), r"does not begin with a start record"),
]


@pytest.mark.parametrize(
    ("change", "says"), [c[1:] for c in LINE_CASES], ids=[c[0] for c in LINE_CASES]
)
def test_a_malformed_line_is_refused(
    copy: Copy, change: Callable[[list[bytes]], object], says: str
) -> None:
    copy.lines(change)
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder))
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_a_spool_named_for_another_run_is_refused(copy: Copy) -> None:
    copy.edit(lambda records: rename(copy, records, "somebodyelse"))
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder))
    says = r":1: fields\.id 'somebodyelse' is not the run '\w+' the folder is named for"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_a_spool_of_an_existing_other_run_is_refused(copy: Copy) -> None:
    """A crafted spool that takes an online run's id, in a folder of any name."""
    copy.edit(lambda records: rename(copy, records, OTHER))
    moved = copy.folder.rename(copy.folder.with_name("renamed"))
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(moved))
    says = rf":1: run '{OTHER}' in the catalog is another run \(its created_at is .*nothing was"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_a_missing_blob_is_refused_before_anything_is_copied(copy: Copy) -> None:
    blobs = [p for p in (copy.folder / "store" / "blobs").rglob("*") if p.is_file()]
    for blob in blobs:
        blob.unlink()
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder))
    says = r"run\.jsonl:\d+: digest names blob [0-9a-f]{32}, which .*store lacks"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_an_artifact_of_another_type_is_refused_before_files_are_copied(copy: Copy) -> None:
    copy.edit(set_(lambda r: first(r, "artifact"), "name", "data"))
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder))
    says = r"artifact 'data' has type 'dataset', not 'model'"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_one_bad_spool_stops_the_whole_sync(copy: Copy) -> None:
    """Two run folders: the good one is not synced either."""
    good = copy.folder.with_name("offline-run-20260101_000000-goodrun1")
    shutil.copytree(copy.folder, good)
    Copy(copy.store, good).edit(lambda records: rename(copy, records, "goodrun1"))
    copy.edit(set_(metric, 3, "notanumber"))
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(copy.folder.parent))
    says = r"'notanumber' is not a number"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


def test_a_missing_path_is_refused(copy: Copy, tmp_path: Path) -> None:
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), "sync", str(tmp_path / "nowhere"))
    says = r"nowhere is not an offline run folder"
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))


# -- Run.log() and the run's config ------------------------------------------------------------


@pytest.fixture
def online(copy: Copy) -> Iterator[Run]:
    """A run that writes only when flushed (no heartbeat, no console) in the copied store."""
    run = artstore.init(
        store=str(copy.store),
        capture_console=False,
        flush_interval=60.0,
        heartbeat_interval=60.0,
    )
    run.log({"loss": 1.0})
    run.flush()
    yield run
    run.finish()


class Slippery:
    """A scalar-looking object whose ``item()`` gives another of its kind, forever."""

    size = 1

    def item(self) -> Slippery:
        return Slippery()


API_CASES: list[tuple[str, Callable[[Run], object], str]] = [
    ("a string past 1024 characters", lambda r: r.log({"a": "x" * 1025}), r"'a': strings .* 1024"),
    ("an object", lambda r: r.log({"a": object()}), r"'a': cannot keep a object"),
    ("a list", lambda r: r.log({"a": [1.0, 2.0]}), r"'a': cannot keep a list"),
    ("a complex number", lambda r: r.log({"a": 1j}), r"'a': cannot keep a complex"),
    ("a Decimal", lambda r: r.log({"a": Decimal("1.5")}), r"'a': cannot keep a Decimal"),
    ("None", lambda r: r.log({"a": None}), r"'a': cannot keep a NoneType"),
    ("an int past float", lambda r: r.log({"a": 10**400}), r"'a': int 1000.* beyond the range"),
    ("an item() that never ends", lambda r: r.log({"a": Slippery()}), r"cannot keep a Slippery"),
    ("a string with NUL", lambda r: r.log({"a": "x\x00y"}), r"'a': the string contains a NUL"),
    ("a lone surrogate", lambda r: r.log({"a": "\ud800"}), r"'a': the string is not valid Unicode"),
    ("an empty key", lambda r: r.log({"": 1.0}), r"log key '' must be 1-512 characters"),
    ("a key of 513 chars", lambda r: r.log({"k" * 513: 1.0}), r"must be 1-512 characters"),
    ("a key with NUL", lambda r: r.log({"a\x00": 1.0}), r"log key 'a\\x00' contains a NUL"),
    ("a key that is a number", lambda r: r.log({1: 1.0}), r"log keys must be strings, not 1"),
    ("a step that is a string", lambda r: r.log({"a": 1.0}, step="3"), r"step must be a whole"),
    ("a step that is a float", lambda r: r.log({"a": 1.0}, step=1.5), r"step must be a whole"),
    ("a step past int64", lambda r: r.log({"a": 1.0}, step=2**63), r"step must be a whole"),
    ("a config with NUL", lambda r: r.config.update(a="x\x00"), r"config.*contains a NUL"),
    (
        "a config nested too deep",
        lambda r: r.config.update(a=json.loads('{"a":' * 150 + "1" + "}" * 150)),
        r"config\.a.* nested deeper than 100 levels",
    ),
    ("a summary of a set", lambda r: r.summary.update(a={1, 2}), r"cannot store a set as JSON"),
]


@pytest.mark.parametrize(
    ("call", "says"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_a_value_log_cannot_keep_is_refused(
    copy: Copy, online: Run, call: Callable[[Run], object], says: str
) -> None:
    before = snapshot(copy.store)
    outcome = api(lambda: call(online))
    online.flush()
    check_refused(
        outcome,
        code=2,
        says=says,
        error=InvalidValueError,
        before=before,
        after=snapshot(copy.store),
    )
    assert online.step == 1, "a refused log() does not move the step"


# -- art runs ------------------------------------------------------------------------------------

RUNS_CASES: list[tuple[str, list[str], str]] = [
    ("a filter without an operator", ["runs", "--filter", "bogus"], r"--filter takes KEY=VALUE"),
    ("a filter on no field", ["runs", "--filter", "colour=red"], r"cannot filter runs on 'colour'"),
    ("tags compared", ["runs", "--filter", "tags>x"], r"--filter tags takes tags=NAME"),
    ("show an unknown run", ["runs", "show", "nosuch"], r"no run with id 'nosuch'"),
    ("the log of an unknown run", ["runs", "log", "nosuch"], r"no run with id 'nosuch'"),
]


@pytest.mark.parametrize(
    ("args", "says"), [c[1:] for c in RUNS_CASES], ids=[c[0] for c in RUNS_CASES]
)
def test_art_runs_refuses(copy: Copy, args: list[str], says: str) -> None:
    before = snapshot(copy.store)
    outcome = art("--store", str(copy.store), *args)
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(copy.store))
