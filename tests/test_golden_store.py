"""The committed format-1 store (``tests/data/store-v1/``) must stay readable, byte for byte.

The values below are golden: if a change to artstore makes this test fail, that change broke the
store format (or reading old stores). Regenerate the fixture only for a deliberate format change,
with ``python tests/data/make_store_v1.py``, and record it in ``docs/format.md`` § Changes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from artstore.artifacts import FileEntry, Manifest, Store
from artstore.storage import Digest, Kind, hash_bytes

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "store-v1"

TRAIN_V0 = b"label,pixels\n1,0 0 0\n"
TRAIN_V1 = b"label,pixels\n1,0 0 0\n2,1 1 1\n"
TEST = b"label\n7\n"
NOTES = "# données\n".encode()
MODEL = bytes(range(256)) * 4
PREDICT = b"#!/bin/sh\necho 7\n"

# (artifact, version) -> (manifest digest, aliases, {path: (bytes, blob digest, executable)})
GOLDEN = {
    ("mnist-data", "v0"): (
        "e190b0cfab45a6c9658e3add636bca62",
        (),
        {
            "test.csv": (TEST, "efc572698d03025ac71621ae7c644b84", False),
            "train.csv": (TRAIN_V0, "e10bd057e4bbe06acede1a9511f1edc1", False),
        },
    ),
    ("mnist-data", "v1"): (
        "b5bc3f197265f525513d00674fc431e8",
        ("production",),
        {
            "test.csv": (TEST, "efc572698d03025ac71621ae7c644b84", False),
            "train.csv": (TRAIN_V1, "e6d449d1db7e0e2523aa4494314c7540", False),
        },
    ),
    ("mnist-data", "v2"): (
        "628d66c20104485066c804ce72c404b8",
        ("latest",),
        {
            "notes/café.md": (NOTES, "99f115a9651ae93eb56cc2c28c4bb28d", False),
            "test.csv": (TEST, "efc572698d03025ac71621ae7c644b84", False),
            "train.csv": (TRAIN_V1, "e6d449d1db7e0e2523aa4494314c7540", False),
        },
    ),
    ("mnist-cnn", "v0"): (
        "f2a40555cd16ab526925f5d6e0160926",
        ("candidate", "latest"),
        {
            "bin/predict.sh": (PREDICT, "a16ed59601fb0078fbffb9f25c2c642b", True),
            "model.bin": (MODEL, "83885e853bb6640ca870f92984398d22", False),
        },
    ),
}


@pytest.fixture
def golden(tmp_path):
    copy = tmp_path / "store-v1"
    shutil.copytree(FIXTURE, copy)
    with Store(str(copy)) as store:
        yield store


def test_fixture_is_committed_without_sqlite_leftovers():
    names = {p.name for p in FIXTURE.iterdir()}
    assert names == {"artstore.json", "blobs", "catalog.db", "manifests"}
    marker = json.loads((FIXTURE / "artstore.json").read_text())
    assert (marker["format"], marker["hash"]) == (1, "xxh3-128")
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < 100_000


def test_golden_artifacts(golden):
    infos = golden.artifacts()
    assert [(a.name, a.type, a.version_count, a.latest_number) for a in infos] == [
        ("mnist-cnn", "model", 1, 0),
        ("mnist-data", "dataset", 3, 2),
    ]


@pytest.mark.parametrize(("name", "label"), list(GOLDEN))
def test_golden_versions(golden, tmp_path, name, label):
    digest, aliases, files = GOLDEN[name, label]
    version = golden.artifact(f"{name}:{label}")
    assert (version.name, version.version, version.digest) == (name, label, digest)
    assert version.aliases == aliases
    assert version.size == sum(len(data) for data, _, _ in files.values())
    assert version.file_count == len(files)
    assert [(e.path, e.digest.hex, e.size, e.executable) for e in version.files()] == [
        (path, blob, len(data), executable) for path, (data, blob, executable) in files.items()
    ]
    out = version.download(tmp_path / "out")
    for path, (data, _, executable) in files.items():
        assert (out / path).read_bytes() == data
        assert bool(os.stat(out / path).st_mode & stat.S_IXUSR) == executable
    # the manifest's name is the digest of its bytes, and it re-encodes to the same bytes
    raw = golden.blobs.read_bytes(Kind.MANIFEST, Digest.parse(digest))
    assert hash_bytes(raw).hex == digest
    assert Manifest.decode(raw).encode() == raw


def test_golden_metadata_and_aliases(golden):
    assert golden.artifact("mnist-cnn").metadata == {"val_acc": 0.98}
    assert golden.artifact("mnist-data:production").version == "v1"
    assert golden.artifact("mnist-data").version == "v2"
    moves = [(m.alias, m.from_number, m.to_number) for m in golden.alias_history("mnist-data")]
    assert sorted(moves, key=lambda m: (m[0], m[1] is not None, m[1] or 0)) == [
        ("latest", None, 0),
        ("latest", 0, 1),
        ("latest", 1, 2),
        ("production", None, 1),
    ]


def test_golden_store_accepts_new_versions(golden, tmp_path):
    # an old store is not read-only: the next version continues its numbering
    from artstore.artifacts import Artifact

    artifact = Artifact("mnist-data", "dataset")
    with artifact.new_file("train.csv", mode="wb") as f:
        f.write(TRAIN_V0)
    version = golden.log_artifact(artifact)
    assert (version.version, version.created) == ("v3", True)
    again = golden.log_artifact(artifact)
    assert (again.version, again.created) == ("v3", False)


def test_canonical_manifest_vector():
    vector = json.loads((DATA / "vectors.json").read_text(encoding="utf-8"))["manifest"]
    manifest = Manifest.build(
        FileEntry(e["path"], Digest.parse(e["digest"]), e["size"], e["exec"])
        for e in vector["entries"]
    )
    raw = vector["bytes"].encode("utf-8")
    assert manifest.encode() == raw
    assert hash_bytes(raw).hex == vector["digest"] == "2d52c3296b46bfe9e2d776ec891cecfa"
    assert Manifest.decode(raw) == manifest
