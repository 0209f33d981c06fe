"""Digests: golden vectors, parsing, and streamed hashing equal to one-shot hashing."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import BinaryIO, cast

import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artstore.storage import CHUNK_SIZE, HASH_NAME, Digest, Hasher, hash_bytes, hash_file
from artstore.storage.digest import hash_stream

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "vectors.json").read_text("utf-8"))
HEX = "0123456789abcdef"


def _vector_id(vector: dict[str, object]) -> str:
    return str(vector["name"])


def _vector_data(vector: dict[str, object]) -> bytes:
    return bytes.fromhex(str(vector["input_hex"])) * int(str(vector["repeat"]))


def _independent(data: bytes) -> str:
    # Not the code under test: the integer form, formatted as 32 big-endian hex digits.
    return f"{xxhash.xxh3_128_intdigest(data):032x}"


# -- golden vectors ----------------------------------------------------------------------------


def test_hash_name() -> None:
    assert HASH_NAME == "xxh3-128"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "99aa06d3014798d86001c324468d497f"),
        (b"foobar", "3c9e102628997f44ac87b0b131c6992d"),
    ],
)
def test_pinned_vectors(data: bytes, expected: str) -> None:
    # Pinned here as well as in vectors.json, so editing the data file cannot hide a change.
    assert hash_bytes(data) == Digest(expected)
    assert any(v["digest"] == expected for v in VECTORS["xxh3_128"])


def test_vectors_file_is_versioned_and_not_empty() -> None:
    assert VECTORS["format"] == 1
    assert len(VECTORS["xxh3_128"]) >= 4


@pytest.mark.parametrize("vector", VECTORS["xxh3_128"], ids=_vector_id)
def test_golden_vector(vector: dict[str, object], tmp_path: Path) -> None:
    data = _vector_data(vector)
    expected = vector["digest"]
    assert _independent(data) == expected
    assert hash_bytes(data).hex == expected
    assert str(hash_bytes(data)) == expected
    assert hash_stream(io.BytesIO(data)) == (Digest(str(expected)), len(data))
    path = tmp_path / "vector.bin"
    path.write_bytes(data)
    assert hash_file(path) == (Digest(str(expected)), len(data))


# -- Digest ------------------------------------------------------------------------------------


def test_digest_value_type() -> None:
    d = Digest.parse("3c9e102628997f44ac87b0b131c6992d")
    assert str(d) == "3c9e102628997f44ac87b0b131c6992d"
    assert d.short == "3c9e1026"
    assert d == hash_bytes(b"foobar")
    assert len({d, hash_bytes(b"foobar")}) == 1
    with pytest.raises(AttributeError):
        d.hex = "0" * 32  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3C9E102628997F44AC87B0B131C6992D",
        "3c9e102628997f44ac87b0b131c6992D",
        "3c9e102628997f44ac87b0b131c6992",
        "3c9e102628997f44ac87b0b131c6992d0",
        "3c9e102628997f44ac87b0b131c6992g",
        "3c9e102628997f44ac87b0b131c6992d\n",
        " 3c9e102628997f44ac87b0b131c6992d",
        "0x3c9e102628997f44ac87b0b131c699",
        "3c9e1026-28997f44ac87b0b131c6992",
        "３c9e102628997f44ac87b0b131c6992d",  # fullwidth digit
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="32 lowercase hex"):
        Digest.parse(text)


@given(
    st.one_of(
        st.text(),
        st.text(alphabet=HEX + "ABCDEF", min_size=30, max_size=34),
        st.text(alphabet=HEX, min_size=32, max_size=32),
    )
)
def test_parse_accepts_exactly_32_lowercase_hex(text: str) -> None:
    valid = len(text) == 32 and all(c in HEX for c in text)
    try:
        digest = Digest.parse(text)
    except ValueError:
        assert not valid
    else:
        assert valid
        assert digest.hex == text


# -- streamed hashing --------------------------------------------------------------------------


class ShortReads(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, as pipes and sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(data=st.binary(max_size=4096), buffer_size=st.integers(min_value=1, max_value=64))
def test_hash_file_equals_hash_bytes(tmp_path: Path, data: bytes, buffer_size: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert hash_file(path, bytearray(buffer_size)) == (hash_bytes(data), len(data))


@settings(max_examples=150)
@given(
    data=st.binary(max_size=4096),
    buffer_size=st.integers(min_value=1, max_value=64),
    step=st.integers(min_value=1, max_value=100),
)
def test_hash_stream_equals_hash_bytes(data: bytes, buffer_size: int, step: int) -> None:
    expected = (hash_bytes(data), len(data))
    assert hash_stream(io.BytesIO(data), bytearray(buffer_size)) == expected
    short_reads = cast(BinaryIO, ShortReads(data, step))
    assert hash_stream(short_reads, bytearray(buffer_size)) == expected


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_hash_file_across_the_default_chunk_size(tmp_path: Path, extra: int) -> None:
    data = os.urandom(CHUNK_SIZE + extra) + b"tail"
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert hash_file(path) == (Digest(_independent(data)), len(data))


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_hasher_incremental_equals_one_shot(chunks: list[bytes]) -> None:
    hasher = Hasher()
    for chunk in chunks:
        hasher.update(memoryview(chunk))
    whole = b"".join(chunks)
    assert hasher.digest() == hash_bytes(whole)
    assert hasher.size == len(whole)


def test_hasher_digest_can_be_read_midway() -> None:
    hasher = Hasher()
    hasher.update(b"foo")
    assert hasher.digest() == hash_bytes(b"foo")
    hasher.update(b"bar")
    assert hasher.digest() == Digest("3c9e102628997f44ac87b0b131c6992d")
    assert Hasher().digest() == Digest("99aa06d3014798d86001c324468d497f")
