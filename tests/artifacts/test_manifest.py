"""Manifests round-trip canonically; artifact paths are validated and NFC-normalised."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from artstore.artifacts import Artifact, FileEntry, Manifest, safe_relpath
from artstore.errors import UnsafePathError, UnsupportedFormatError
from artstore.storage import Digest, canonical_json
from tests.strategies import hostile_relpaths, manifests, safe_relpaths

D = Digest.parse("3c9e102628997f44ac87b0b131c6992d")


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(manifests())
def test_manifest_round_trips_and_encoding_is_canonical(manifest):
    raw = manifest.encode()
    decoded = Manifest.decode(raw)
    assert decoded == manifest
    assert decoded.encode() == raw
    # canonical: sorted keys, no whitespace, raw UTF-8
    assert raw == json.dumps(
        json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(manifests())
def test_exec_flag_is_written_only_for_executable_files(manifest):
    data = json.loads(manifest.encode())
    assert data["format"] == 1
    for path, entry in manifest.entries.items():
        assert ("exec" in data["entries"][path]) is entry.executable


def test_canonical_manifest_bytes():
    manifest = Manifest.build(
        [FileEntry("b/é.bin", D, 6, executable=True), FileEntry("a.txt", D, 6)]
    )
    assert (
        manifest.encode()
        == (
            '{"entries":{"a.txt":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":6},'
            '"b/é.bin":{"digest":"3c9e102628997f44ac87b0b131c6992d","exec":true,"size":6}},'
            '"format":1}'
        ).encode()
    )


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(safe_relpaths)
@example("données/été.csv")
@example("a/.hidden/b")
@example("...")
@example("a..b/c")
@example("x/C:y")
def test_safe_relpath_accepts_safe_paths_unchanged(path):
    assert safe_relpath(path) == path


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(hostile_relpaths)
@example("..")
@example(".")
@example("a/../b")
@example("a/./b")
@example("a//b")
@example("a/")
@example("/etc/passwd")
@example("C:")
@example("c:/x")
@example("C:x")
@example("a\\b")
@example("a\x00b")
@example("")
def test_safe_relpath_refuses_hostile_paths(path):
    with pytest.raises(UnsafePathError):
        safe_relpath(path)


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(safe_relpaths)
def test_safe_relpath_normalises_to_nfc(path):
    nfd = unicodedata.normalize("NFD", path)
    assert safe_relpath(nfd) == unicodedata.normalize("NFC", path)


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(st.text(max_size=20))
def test_safe_relpath_output_is_always_nfc_and_safe(text):
    try:
        out = safe_relpath(text)
    except UnsafePathError:
        return
    assert out == unicodedata.normalize("NFC", text)
    assert not out.startswith("/")
    assert all(seg not in ("", ".", "..") for seg in out.split("/"))
    assert "\\" not in out and "\x00" not in out


NFC = unicodedata.normalize("NFC", "café.txt")
NFD = unicodedata.normalize("NFD", "café.txt")


def test_nfc_nfd_pair_collides_in_one_artifact(tmp_path):
    assert NFC != NFD
    (tmp_path / "one").write_bytes(b"1")
    (tmp_path / "two").write_bytes(b"2")
    artifact = Artifact("a", "dataset")
    assert artifact.add_file(tmp_path / "one", name=NFD) == NFC
    with pytest.raises(UnsafePathError):
        artifact.add_file(tmp_path / "two", name=NFC)


def test_nfc_nfd_pair_collides_in_one_manifest():
    raw = canonical_json(
        {
            "entries": {
                NFC: {"digest": D.hex, "size": 6},
                NFD: {"digest": D.hex, "size": 6},
            },
            "format": 1,
        }
    )
    with pytest.raises(UnsafePathError):
        Manifest.decode(raw)


def test_manifest_build_refuses_duplicate_paths():
    with pytest.raises(UnsafePathError):
        Manifest.build([FileEntry("a", D, 6), FileEntry("a", D, 6)])


@pytest.mark.parametrize("path", ["../evil", "/etc/passwd", "a/../../b", "C:/x"])
def test_decode_refuses_unsafe_paths(path):
    raw = canonical_json({"entries": {path: {"digest": D.hex, "size": 6}}, "format": 1})
    with pytest.raises(UnsafePathError):
        Manifest.decode(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"format":2,"entries":{}}',
        b'{"entries":{}}',
        b'{"format":1}',
        b'{"format":1,"entries":{"a":{"digest":"xyz","size":1}}}',
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":-1}}}',
    ],
)
def test_decode_refuses_malformed_manifests(raw):
    with pytest.raises(UnsupportedFormatError):
        Manifest.decode(raw)
