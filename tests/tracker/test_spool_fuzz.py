"""Fuzzing the spool reader: arbitrary bytes, arbitrary JSON records, and a valid spool with
any one value replaced. Nothing but an ``artstore.errors`` exception may come out, and a spool
the reader accepts must sync."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import artstore
from artstore.artifacts import Artifact, Store
from artstore.errors import ArtstoreError
from artstore.tracker import read_spool, sync_spool
from artstore.tracker.spool import SPOOL_FILE
from tests.conftest import make_folder

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=12,
)
KEYS = ["fields", "resume", "metrics", "console", "name", "number", "digest"]
TYPES = ["start", "batch", "artifact", "use", "finish", "other"]
RECORD = st.fixed_dictionaries(
    {"format": st.sampled_from([1, 1.0, 2, "1", None]), "type": st.sampled_from(TYPES)},
    optional={k: JSON for k in KEYS},
)


def read(folder: Path, data: bytes) -> None:
    (folder / SPOOL_FILE).write_bytes(data)
    with contextlib.suppress(ArtstoreError):
        read_spool(folder)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
@example(b'{"format": 1, "type": "start", "fields": {"id": "x"}}\n[' + b"[" * 50_000)
@example(b"\xff\xfe\n{}\n")
def test_arbitrary_bytes(tmp_path_factory, data):
    read(tmp_path_factory.mktemp("fuzz"), data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, max_size=5))
def test_arbitrary_records(tmp_path_factory, records):
    lines = "".join(json.dumps(r) + "\n" for r in records)
    read(tmp_path_factory.mktemp("fuzz"), lines.encode())


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> tuple[Path, list[dict[str, Any]]]:
    """A store with data:v0, and the records of an offline run that used it, logged metrics
    and text, printed, and logged an artifact."""
    root = tmp_path_factory.mktemp("valid")
    store_url = str(root / "store")
    with Store.init(store_url) as store:
        data = Artifact("data", "dataset")
        data.add_dir(make_folder(root / "data", {"a": b"a"}))
        store.log_artifact(data)
    quiet = {"flush_interval": 60.0, "heartbeat_interval": 60.0}
    with artstore.init(store=store_url, mode="offline", dir=root / "work", **quiet) as run:
        run.use_artifact("data:v0")
        run.log({"loss": 0.5, "phase": "x"})
        print("out")
        model = Artifact("model", "model")
        model.add_dir(make_folder(root / "model", {"w": b"w"}))
        run.log_artifact(model)
    assert run.dir is not None
    records = [json.loads(line) for line in (run.dir / SPOOL_FILE).read_text().splitlines()]
    scratch = tmp_path_factory.mktemp("check")
    shutil.copytree(root, scratch, dirs_exist_ok=True)
    with Store(str(scratch / "store")) as store:  # as it is, it syncs
        [folder] = (scratch / "work" / "artstore-runs").iterdir()
        assert sync_spool(folder, store).produced == ["model:v0"]
    return root, records


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as a path of keys and indexes."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_valid_spool_with_one_value_replaced(valid, data):
    root, records = valid
    records = json.loads(json.dumps(records))
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    where = data.draw(st.sampled_from(paths(records[index])[1:]), label="path")
    value = data.draw(JSON, label="value")
    target = records[index]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copytree(root, work, dirs_exist_ok=True)
        [folder] = (work / "work" / "artstore-runs").iterdir()
        (folder / SPOOL_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
        with contextlib.suppress(ArtstoreError), Store(str(work / "store")) as store:
            sync_spool(read_spool(folder), store)
