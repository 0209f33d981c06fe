"""Manifests round-trip canonically; artifact paths are validated and NFC-normalised."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from artstore.artifacts import Artifact, FileEntry, Manifest, safe_relpath
from artstore.errors import UnsafePathError, UnsupportedFormatError
from artstore.storage import Chunk, Digest, canonical_json
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
    assert data["format"] == (2 if any(e.chunks for e in manifest) else 1)
    for path, entry in manifest.entries.items():
        assert ("exec" in data["entries"][path]) is entry.executable


def test_a_chunked_file_makes_a_format_2_manifest_with_its_tensor_names():
    chunks = (Chunk(D, 2), Chunk(D, 4, tensor="w"))
    manifest = Manifest.build([FileEntry("m.safetensors", D, 6, chunks=chunks)])
    assert manifest.encode() == (
        b'{"entries":{"m.safetensors":{"chunks":[{"digest":"3c9e102628997f44ac87b0b131c6992d",'
        b'"size":2},{"digest":"3c9e102628997f44ac87b0b131c6992d","size":4,"tensor":"w"}],'
        b'"digest":"3c9e102628997f44ac87b0b131c6992d","size":6}},"format":2}'
    )
    assert manifest.entries["m.safetensors"].blob_refs() == chunks
    assert FileEntry("a", D, 6).blob_refs() == (Chunk(D, 6),)


def _chunked(fmt: int, *chunks: dict[str, object]) -> bytes:
    entry = {"chunks": list(chunks), "digest": D.hex, "size": 6}
    return json.dumps({"entries": {"m": entry}, "format": fmt}).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_chunked(1, {"digest": D.hex, "size": 6}), "only format 2 manifests"),
        (_chunked(2, {"digest": D.hex, "size": 5}), "do not add up"),
        (_chunked(2), "do not add up"),
        (_chunked(2, {"digest": D.hex, "size": 6}, {"digest": D.hex, "size": 0}), "no valid size"),
        (_chunked(2, {"digest": D.hex, "size": 6, "tensor": ""}), "bad tensor name"),
        (_chunked(2, {"digest": D.hex, "size": 6, "tensor": 7}), "bad tensor name"),
        (_chunked(2, {"digest": D.hex, "size": 6, "tensor": "w\ud800"}), "bad tensor name"),
        (_chunked(2, {"digest": D.hex, "size": 6, "tensor": "x" * 1025}), "bad tensor name"),
        (_chunked(2, {"digest": D.hex, "size": 6, "tensor": "é" * 513}), "bad tensor name"),
        (
            _chunked(3, {"digest": D.hex, "size": 6}),
            "format 3; this artstore reads formats 1-2: upgrade",
        ),
    ],
)
def test_malformed_chunked_entries_are_refused_by_name(raw, message):
    with pytest.raises(UnsupportedFormatError, match=message):
        Manifest.decode(raw)


def test_what_readers_accept_beyond_what_artstore_writes():
    # A small chunked file, one piece, the same digest twice, the longest tensor name in
    # UTF-8 bytes, and a format-2 manifest without chunked entries are all valid.
    one = Manifest.decode(_chunked(2, {"digest": D.hex, "size": 6, "tensor": "é" * 512}))
    assert one.entries["m"].chunks == (Chunk(D, 6, "é" * 512),)
    twice = Manifest.decode(_chunked(2, {"digest": D.hex, "size": 3}, {"digest": D.hex, "size": 3}))
    assert twice.entries["m"].chunks == (Chunk(D, 3), Chunk(D, 3))
    plain = json.dumps({"entries": {"m": {"digest": D.hex, "size": 6}}, "format": 2})
    assert Manifest.decode(plain.encode()).entries["m"].chunks == ()


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
        b'{"format":3,"entries":{}}',
        b'{"entries":{}}',
        b'{"format":1}',
        b'{"format":1,"entries":{"a":{"digest":"xyz","size":1}}}',
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":-1}}}',
    ],
)
def test_decode_refuses_malformed_manifests(raw):
    with pytest.raises(UnsupportedFormatError):
        Manifest.decode(raw)


# -- a file inside a file, over-long names, and fuzzing the reader ----------------------------


@pytest.mark.parametrize(
    "paths", [["a", "a/b"], ["x/a", "x/a/b/c"], ["a", "a.txt", "a/b"], ["d/e", "d/e/f", "g"]]
)
def test_a_file_that_is_also_a_folder_is_refused_on_write_and_read(paths):
    entries = [FileEntry(p, D, 6) for p in paths]
    with pytest.raises(UnsafePathError, match="is a file and also the folder of"):
        Manifest.build(entries)
    raw = canonical_json({"entries": {p: {"digest": D.hex, "size": 6} for p in paths}, "format": 1})
    with pytest.raises(UnsafePathError, match="is a file and also the folder of"):
        Manifest.decode(raw)


def test_sibling_names_sharing_a_prefix_are_not_a_clash():
    manifest = Manifest.build([FileEntry(p, D, 6) for p in ["a", "ab/c", "a.b/c", "a-/x"]])
    assert len(manifest) == 4


def test_names_up_to_255_utf8_bytes_pass_and_longer_ones_are_refused():
    assert safe_relpath("d/" + "x" * 255) == "d/" + "x" * 255
    assert safe_relpath("é" * 127) == "é" * 127  # 254 bytes
    for long in ("x" * 256, "é" * 128, "d/" + "x" * 256 + "/f"):
        with pytest.raises(UnsafePathError, match="bytes long; file systems allow 255"):
            safe_relpath(long)
    raw = canonical_json({"entries": {"y" * 300: {"digest": D.hex, "size": 6}}, "format": 1})
    with pytest.raises(UnsafePathError, match="300 bytes long"):
        Manifest.decode(raw)


def test_a_lone_surrogate_is_refused_as_a_path():
    with pytest.raises(UnsafePathError, match="not valid Unicode"):
        safe_relpath("a\ud800b")
    raw = b'{"entries":{"a\\ud800":{"digest":"' + D.hex.encode() + b'","size":6}},"format":1}'
    with pytest.raises(UnsafePathError, match="not valid Unicode"):
        Manifest.decode(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,  # nested beyond the parser's recursion limit
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":'
        + b"9" * 5000
        + b"}}}",  # an integer too long to convert
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":6,'
        b'"chunks":[{"digest":"3c9e102628997f44ac87b0b131c6992d","size":Infinity}]}}}',
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":6,'
        b'"chunks":[{"digest":"3c9e102628997f44ac87b0b131c6992d","size":true}]}}}',
        b'{"format":1,"entries":{"a":{"digest":"3c9e102628997f44ac87b0b131c6992d","size":6,'
        b'"chunks":"ab"}}}',
        b"\xff\xfe{",
    ],
)
def test_decode_refuses_hostile_shapes_with_its_own_errors(raw):
    with pytest.raises(UnsupportedFormatError):
        Manifest.decode(raw)


def _fuzz_decode(raw: bytes) -> None:
    try:
        manifest = Manifest.decode(raw)
    except (UnsupportedFormatError, UnsafePathError):
        return
    # What is accepted is a manifest that can be written back: safe, tree-shaped paths.
    for path in manifest.entries:
        assert safe_relpath(path) == path
    Manifest.build(manifest)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_DIGEST_TEXT = st.sampled_from([D.hex, "xyz", "", D.hex.upper(), D.hex + "0"])
_ENTRY = st.fixed_dictionaries(
    {"digest": _DIGEST_TEXT | _JSON, "size": st.integers(-2, 2**70) | _JSON},
    optional={"exec": _JSON, "chunks": _JSON, "ref": _JSON},
)
_PATH = st.one_of(safe_relpaths, hostile_relpaths, st.text(max_size=300))


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200))
def test_decode_fuzz_arbitrary_bytes_raise_only_artstore_errors(raw):
    _fuzz_decode(raw)


@settings(deadline=None, max_examples=300)
@given(_JSON)
def test_decode_fuzz_arbitrary_json_shapes_raise_only_artstore_errors(data):
    _fuzz_decode(json.dumps(data).encode())
    _fuzz_decode(json.dumps({"format": 1, "entries": data}).encode())


@settings(deadline=None, max_examples=300)
@given(
    st.dictionaries(_PATH, _ENTRY | _JSON, max_size=6),
    st.sampled_from([1, 1.0, 2, "1", None, True, 0]),
)
def test_decode_fuzz_hostile_paths_and_entries_raise_only_artstore_errors(entries, fmt):
    _fuzz_decode(json.dumps({"format": fmt, "entries": entries}).encode())
