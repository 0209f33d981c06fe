"""The public API refuses bad arguments with an ``artstore.errors`` type, never a bare one.

Each case calls one public entry point with a wrong type, a malformed string or an
out-of-range number and asserts that what escapes is an ``ArtstoreError`` with a one-line
message; a bare ``ValueError``, ``KeyError`` or ``TypeError`` would reach the user as a
traceback (the CLI's exit 3). The hypothesis tests feed arbitrary text and objects to the
parsers behind references, requirements and lineage queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import artstore
from artstore.artifacts import Manifest, Repository, open_repository
from artstore.artifacts.names import Ref
from artstore.artifacts.promote import Requirement
from artstore.artifacts.transfer import copy_version
from artstore.errors import ArtstoreError
from artstore.storage import Digest
from artstore.storage.layout import parse_key
from tests.strategies import any_text

Call = Callable[[artstore.Store], object]

# Values that are the wrong type for every str, int or iterable parameter below.
WRONG = [None, 3, 2.5, b"bytes", object(), ["list"], {"a": 1}]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[artstore.Store]:
    root = tmp_path_factory.mktemp("api-errors")
    (root / "data.txt").write_text("hello")
    store = artstore.Store.init(str(root / "store"))
    artifact = artstore.Artifact("data", "dataset")
    artifact.add_file(str(root / "data.txt"))
    store.log_artifact(artifact, aliases=["best"])
    yield store
    store.close()


def _data() -> artstore.Artifact:
    # Never stored: each case using it is refused before any file is read.
    return artstore.Artifact("data", "dataset")


def _refused(call: Callable[[], object]) -> ArtstoreError:
    with pytest.raises(ArtstoreError) as caught:
        call()
    message = str(caught.value)
    assert message and "\n" not in message, message
    return caught.value


def _refused_or_fine(call: Callable[[], object]) -> None:
    try:
        call()
    except ArtstoreError as error:
        assert "\n" not in str(error), str(error)


CASES: list[tuple[str, Call]] = [
    # references and names
    ("artifact: malformed ref", lambda s: s.artifact("data:v")),
    ("artifact: empty ref", lambda s: s.artifact("")),
    ("artifact: NUL in ref", lambda s: s.artifact("da\x00ta:v0")),
    ("artifact: negative version", lambda s: s.artifact("data:v-1")),
    ("artifact: huge version", lambda s: s.artifact("data:v" + "9" * 40)),
    ("versions: malformed name", lambda s: s.versions("no/slash")),
    ("use: malformed ref", lambda s: s.use("::", run_id=None)),
    ("run: malformed id", lambda s: s.run("no spaces allowed")),
    ("run: unknown id", lambda s: s.run("nosuchrun")),
    ("diff: malformed side", lambda s: s.diff("data:v0", "::")),
    # lineage queries
    ("lineage: unknown direction", lambda s: s.lineage("data:v0", direction="sideways")),
    ("lineage: negative depth", lambda s: s.lineage("data:v0", depth=-1)),
    ("lineage: text depth", lambda s: s.lineage("data:v0", depth="2")),
    ("lineage: float depth", lambda s: s.lineage("data:v0", depth=1.5)),
    ("lineage: neither ref nor run", lambda s: s.lineage()),
    ("lineage: both ref and run", lambda s: s.lineage("data:v0", run_id="abc")),
    ("lineage graph: unknown node", lambda s: s.lineage("data:v0").node("r:nosuchrun")),
    (
        "catalog.lineage: unknown direction",
        lambda s: s.catalog.lineage.walk("v:1", direction="sideways"),
    ),
    (
        "catalog.lineage: negative depth",
        lambda s: s.catalog.lineage.walk("v:1", direction="up", depth=-3),
    ),
    ("catalog.lineage: malformed node", lambda s: s.catalog.lineage.walk("x:1", direction="up")),
    # aliases and promotion
    ("set_alias: reserved alias", lambda s: s.set_alias("data:v0", "latest")),
    ("set_alias: malformed alias", lambda s: s.set_alias("data:v0", "a b")),
    ("remove_alias: malformed alias", lambda s: s.remove_alias("data", "a/b")),
    ("promote: malformed requirement", lambda s: s.promote("data:v0", "prod", require=["acc >"])),
    ("promote: unknown operator", lambda s: s.promote("data:v0", "prod", require=["acc ~ 1"])),
    ("promote: malformed expect", lambda s: s.promote("data:v0", "prod", expect="v-x")),
    ("promote: negative expect", lambda s: s.promote("data:v0", "prod", expect=-2)),
    ("promote: reason not text", lambda s: s.promote("data:v0", "prod", reason=3)),
    ("set_alias: malformed expect", lambda s: s.set_alias("data:v0", "best", expect="v-x")),
    ("set_alias: expect not a version", lambda s: s.set_alias("data:v0", "best", expect=[0])),
    ("set_alias: reason not text", lambda s: s.set_alias("data:v0", "best", reason=3)),
    ("set_alias: run id not text", lambda s: s.set_alias("data:v0", "best", run_id=3)),
    ("set_alias: malformed run id", lambda s: s.set_alias("data:v0", "best", run_id="a b")),
    ("remove_alias: expect none", lambda s: s.remove_alias("data", "best", expect="none")),
    ("remove_alias: malformed expect", lambda s: s.remove_alias("data", "best", expect=2.5)),
    ("remove_alias: reason not text", lambda s: s.remove_alias("data", "best", reason=b"x")),
    ("alias_history: alias not text", lambda s: s.alias_history("data", alias=3)),
    ("alias_history: malformed alias", lambda s: s.alias_history("data", alias="a b")),
    ("alias_history: unknown artifact", lambda s: s.alias_history("nosuch")),
    # stored files
    ("download: file in the way", lambda s: s.artifact("data:v0").download("/dev/null")),
    ("file: unknown path", lambda s: s.artifact("data:v0").file("missing.txt")),
    ("file: escaping path", lambda s: s.artifact("data:v0").file("../x")),
    # verify
    ("verify: malformed ref", lambda s: s.verify("::")),
    ("verify: ref not text", lambda s: s.verify(3)),
    ("copy_version: malformed digest", lambda s: copy_version(s.blobs, s.blobs, "not-a-digest")),
    ("artifacts: type not text", lambda s: s.artifacts([])),
    ("artifacts: malformed type", lambda s: s.artifacts("a b")),
    ("stage: not an artifact", lambda s: s.stage("x", s.blobs)),
    ("stage: not a blob store", lambda s: s.stage(artstore.Artifact("a", "t"), "x")),
    ("use: malformed run id", lambda s: s.use("data:v0", run_id="a b")),
    ("log_artifact: not an artifact", lambda s: s.log_artifact("data")),
    ("log_artifact: aliases a number", lambda s: s.log_artifact(_data(), aliases=3)),
    ("log_artifact: alias not text", lambda s: s.log_artifact(_data(), aliases=[3])),
    ("log_artifact: malformed alias", lambda s: s.log_artifact(_data(), aliases="a b")),
    ("open_repository: a path", lambda _: open_repository("path")),
    ("Repository: a path", lambda _: Repository("path")),
    ("Store: URL not text", lambda _: artstore.Store(3)),
]

# Wrong types for every parameter that takes text.
for bad in WRONG:
    kind = type(bad).__name__
    CASES += [
        (f"artifact({kind})", lambda s, bad=bad: s.artifact(bad)),
        (f"versions({kind})", lambda s, bad=bad: s.versions(bad)),
        (f"use({kind})", lambda s, bad=bad: s.use(bad, run_id=None)),
        (f"run({kind})", lambda s, bad=bad: s.run(bad)),
        (f"diff({kind})", lambda s, bad=bad: s.diff("data:v0", bad)),
        (f"lineage({kind})", lambda s, bad=bad: s.lineage(bad)),
        (f"lineage(direction={kind})", lambda s, bad=bad: s.lineage("data:v0", direction=bad)),
        (f"set_alias(alias={kind})", lambda s, bad=bad: s.set_alias("data:v0", bad)),
        (f"promote(alias={kind})", lambda s, bad=bad: s.promote("data:v0", bad)),
        (f"file({kind})", lambda s, bad=bad: s.artifact("data:v0").file(bad)),
    ]


@pytest.mark.parametrize(("label", "call"), CASES, ids=[label for label, _ in CASES])
def test_store_refuses_bad_arguments_with_an_artstore_error(
    store: artstore.Store, label: str, call: Call
) -> None:
    _refused(lambda: call(store))


ARTIFACT_CASES: list[tuple[str, Callable[[Path], object]]] = [
    ("empty name", lambda _: artstore.Artifact("", "dataset")),
    ("name with a slash", lambda _: artstore.Artifact("a/b", "dataset")),
    ("type with a space", lambda _: artstore.Artifact("a", "data set")),
    ("name not text", lambda _: artstore.Artifact(7, "dataset")),
    ("type not text", lambda _: artstore.Artifact("a", None)),
    ("metadata not JSON", lambda _: artstore.Artifact("a", "t", metadata={"x": object()})),
    ("metadata NaN", lambda _: artstore.Artifact("a", "t", metadata={"x": float("nan")})),
    ("metadata not a mapping", lambda _: artstore.Artifact("a", "t", metadata=[1, 2])),
    ("add_file: missing file", lambda p: artstore.Artifact("a", "t").add_file(p / "nope")),
    ("add_file: a folder", lambda p: artstore.Artifact("a", "t").add_file(p)),
    ("add_file: not a path", lambda _: artstore.Artifact("a", "t").add_file(3)),
    ("add_dir: missing folder", lambda p: artstore.Artifact("a", "t").add_dir(p / "nope")),
    ("add_file: escaping name", lambda p: _with_file(p).add_file(p / "f.txt", name="../f")),
    ("add_file: absolute name", lambda p: _with_file(p).add_file(p / "f.txt", name="/etc/f")),
]


def _with_file(folder: Path) -> artstore.Artifact:
    (folder / "f.txt").write_text("x")
    return artstore.Artifact("a", "t")


@pytest.mark.parametrize(
    ("label", "call"), ARTIFACT_CASES, ids=[label for label, _ in ARTIFACT_CASES]
)
def test_artifact_refuses_bad_arguments_with_an_artstore_error(
    tmp_path: Path, label: str, call: Callable[[Path], object]
) -> None:
    _refused(lambda: call(tmp_path))


TRACKER_CASES: list[tuple[str, Callable[[artstore.Store], object]]] = [
    ("init: unknown mode", lambda s: artstore.init(store=s, mode="sometimes")),
    ("init: unknown resume", lambda s: artstore.init(store=s, resume="maybe")),
    ("init: malformed id", lambda s: artstore.init(store=s, id="a b")),
    ("init: id not text", lambda s: artstore.init(store=s, id=12)),
    ("init: NUL in project", lambda s: artstore.init(store=s, project="p\x00")),
    ("init: config not a mapping", lambda s: artstore.init(store=s, config=[1, 2])),
    ("init: config not JSON", lambda s: artstore.init(store=s, config={"x": object()})),
    ("init: store not a store", lambda s: artstore.init(store=3)),
    ("log: no run", lambda s: artstore.log({"a": 1})),
]


@pytest.mark.parametrize(
    ("label", "call"), TRACKER_CASES, ids=[label for label, _ in TRACKER_CASES]
)
def test_tracker_refuses_bad_arguments_with_an_artstore_error(
    store: artstore.Store, label: str, call: Callable[[artstore.Store], object]
) -> None:
    artstore.finish()
    try:
        _refused(lambda: call(store))
    finally:
        artstore.finish()


RUN_CASES: list[tuple[str, Callable[[Any], object]]] = [
    ("log: not a mapping", lambda run: run.log([1, 2])),
    ("log: key not text", lambda run: run.log({3: 1})),
    ("log: negative step", lambda run: run.log({"a": 1}, step=-1)),
    ("log: float step", lambda run: run.log({"a": 1}, step=1.5)),
    ("log: step beyond int64", lambda run: run.log({"a": 1}, step=2**63)),
    ("log: value not storable", lambda run: run.log({"a": object()})),
    ("define_metric: unknown summary", lambda run: run.define_metric("a", summary="median")),
    ("config: not JSON", lambda run: run.config.update({"x": object()})),
    ("log_artifact: not an artifact", lambda run: run.log_artifact("data")),
    ("log_artifact: aliases a number", lambda run: run.log_artifact(_data(), aliases=3)),
    ("use_artifact: malformed ref", lambda run: run.use_artifact("::")),
]


@pytest.mark.parametrize(("label", "call"), RUN_CASES, ids=[label for label, _ in RUN_CASES])
def test_run_refuses_bad_arguments_with_an_artstore_error(
    store: artstore.Store, label: str, call: Callable[[Any], object]
) -> None:
    with artstore.init(store=store, mode="disabled") as run:
        _refused(lambda: call(run))


_objects = st.one_of(
    any_text,
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@given(text=_objects)
def test_ref_parse_refuses_with_an_artstore_error(text: object) -> None:
    _refused_or_fine(lambda: Ref.parse(text))


@given(text=_objects)
def test_digest_parse_refuses_with_an_artstore_error(text: object) -> None:
    _refused_or_fine(lambda: Digest.parse(text))


@given(text=_objects)
def test_requirement_parse_refuses_with_an_artstore_error(text: object) -> None:
    _refused_or_fine(lambda: Requirement.parse(text))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ref=_objects)
def test_store_artifact_refuses_any_reference_with_an_artstore_error(
    store: artstore.Store, ref: object
) -> None:
    _refused_or_fine(lambda: store.artifact(ref))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(direction=_objects, depth=st.one_of(st.none(), st.integers(), st.floats(), any_text))
def test_lineage_refuses_any_direction_and_depth_with_an_artstore_error(
    store: artstore.Store, direction: object, depth: object
) -> None:
    _refused_or_fine(lambda: store.lineage("data:v0", direction=direction, depth=depth))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_objects, type_=_objects)
def test_artifact_refuses_any_name_and_type_with_an_artstore_error(
    name: object, type_: object
) -> None:
    _refused_or_fine(lambda: artstore.Artifact(name, type_))


_D = "0" * 32


@pytest.mark.parametrize(
    "chunk",
    [
        {"digest": _D, "size": -1},
        {"digest": _D, "size": "3"},
        {"digest": _D},
        {"digest": "nothex", "size": 3},
        "not an object",
    ],
)
def test_manifest_decode_refuses_a_malformed_chunk_with_an_artstore_error(chunk: object) -> None:
    raw = json.dumps({"format": 1, "entries": {"a": {"digest": _D, "size": 3, "chunks": [chunk]}}})
    assert "entry 'a'" in str(_refused(lambda: Manifest.decode(raw.encode())))


@given(key=any_text)
def test_parse_key_refuses_a_stray_path_with_an_artstore_error(key: str) -> None:
    # What BlobStore.iter_digests meets on disk: an unknown kind is no bare ValueError either.
    _refused_or_fine(lambda: parse_key(key))
    _refused(lambda: parse_key(f"things/{_D[:2]}/{_D[2:]}"))


def test_a_string_of_aliases_is_one_alias_as_in_wandb(
    store: artstore.Store, tmp_path: Path
) -> None:
    # W&B's log_artifact takes aliases="best" as ["best"]; iterating it would set b, e, s, t.
    (tmp_path / "one.txt").write_text("one alias")
    artifact = artstore.Artifact("single", "dataset")
    artifact.add_file(str(tmp_path / "one.txt"))
    assert store.log_artifact(artifact, aliases="best").aliases == ("best", "latest")
    with artstore.init(store=store, mode="online") as run:
        again = artstore.Artifact("single", "dataset")
        again.add_file(str(tmp_path / "one.txt"))
        logged = run.log_artifact(again, aliases="chosen")
    assert logged is not None and logged.aliases == ("best", "chosen", "latest")
