"""Cutting large files into pieces: the pieces tile the file, are deterministic, follow
safetensors tensors when the header is sound, and fall back to FastCDC on any other header."""

from __future__ import annotations

import io
import json
import logging
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save

from artstore.storage import chunker
from artstore.storage.chunker import (
    CHUNKED_FROM,
    MAX_PIECE,
    MIN_MEAN_TENSOR,
    chunks_file,
    cut,
    tensor_spans,
)

# Small FastCDC bounds keep hypothesis examples small while cutting them into many pieces.
SMALL = {"avg": 4096, "min": 1024, "max": 16384}
FIXTURE = [HealthCheck.function_scoped_fixture]


def pieces(data: bytes) -> list[tuple[int, bytes, str | None]]:
    return [(p.offset, bytes(p.data), p.tensor) for p in cut(io.BytesIO(data), len(data))]


def check_tiles(data: bytes, found: list[tuple[int, bytes, str | None]]) -> None:
    at = 0
    for offset, piece, _ in found:
        assert offset == at and piece, "pieces follow each other, none empty"
        assert len(piece) <= MAX_PIECE
        at += len(piece)
    assert b"".join(p for _, p, _ in found) == data


@pytest.fixture
def small_cdc(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyfastcdc.cy import FastCDC

    cutter = FastCDC(SMALL["avg"], min_size=SMALL["min"], max_size=SMALL["max"])
    monkeypatch.setattr(chunker, "_CUTTER", cutter)
    # A window of a few pieces, of an odd size: many pieces are cut again with the next one.
    monkeypatch.setattr(chunker, "_WINDOW", 3 * SMALL["max"] + 123)


def safetensors_bytes(sizes: list[int], seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return save({f"t{i:03d}": rng.integers(0, 255, n, dtype=np.uint8) for i, n in enumerate(sizes)})


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.binary(max_size=200_000))
def test_pieces_tile_any_content_and_are_deterministic(small_cdc: None, data: bytes) -> None:
    first = pieces(data)
    check_tiles(data, first)
    assert pieces(data) == first


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.binary(min_size=1, max_size=300_000))
def test_windowed_cuts_are_those_of_one_pass_over_the_stream(small_cdc: None, data: bytes) -> None:
    one_pass = [(c.offset, c.length) for c in chunker._CUTTER.cut_stream(io.BytesIO(data))]
    assert [(offset, len(piece)) for offset, piece, _ in pieces(data)] == one_pass


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(
    sizes=st.lists(st.integers(0, 300_000), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_safetensors_pieces_are_the_header_then_each_tensor(
    small_cdc: None, sizes: list[int], seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunker, "MIN_MEAN_TENSOR", 1)
    # Tensors averaging under a byte (sizes [0, 1]: 1 // 2 == 0) are cut by content even so.
    assume(sum(sizes) >= len(sizes))
    data = safetensors_bytes(sizes, seed)
    found = pieces(data)
    check_tiles(data, found)
    (length,) = struct.unpack("<Q", data[:8])
    assert found[0] == (0, data[: 8 + length], None)
    tensors = [(t, len(p)) for _, p, t in found[1:]]
    assert [t for t, _ in tensors] == sorted(t for t, _ in tensors), "in data order"
    header = json.loads(data[8 : 8 + length])
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        assert sum(n for t, n in tensors if t == name) == end - begin


def test_a_tensor_larger_than_the_largest_piece_is_cut_at_fixed_sizes_from_its_start(
    monkeypatch,
):
    monkeypatch.setattr(chunker, "MAX_PIECE", 64 * 1024)
    data = safetensors_bytes([300_000, 100_000])
    found = pieces(data)
    check_tiles(data, found)
    assert [(t, len(p)) for _, p, t in found[1:]] == [
        *[("t000", 65536)] * 4,
        ("t000", 300_000 - 4 * 65536),
        ("t001", 65536),
        ("t001", 100_000 - 65536),
    ]


def test_rows_added_to_a_large_tensor_keep_its_earlier_pieces(monkeypatch):
    monkeypatch.setattr(chunker, "MAX_PIECE", 64 * 1024)
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 255, (600, 512), dtype=np.uint8)
    before = {p for _, p, t in pieces(save({"embed": rows[:500]})) if t == "embed"}
    after = [p for _, p, t in pieces(save({"embed": rows})) if t == "embed"]
    # 500 rows of 512 bytes: the first three full pieces are unchanged, the rest are new.
    assert sum(p in before for p in after) == 3


def test_zero_byte_tensors_give_no_piece():
    data = safetensors_bytes([MIN_MEAN_TENSOR * 4, 0, MIN_MEAN_TENSOR * 4])
    found = pieces(data)
    assert [t for _, _, t in found] == [None, "t000", "t002"]


def test_tiny_tensors_are_cut_by_content_instead(small_cdc):
    data = safetensors_bytes([100] * 2000)
    found = pieces(data)
    check_tiles(data, found)
    assert {t for _, _, t in found} == {None}
    assert len(found) < 200, "no piece per tiny tensor"


def header_file(header: object, data_size: int, raw: bytes | None = None) -> bytes:
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + bytes(data_size)


BIG = 3 * MIN_MEAN_TENSOR


@pytest.mark.parametrize(
    ("header", "data_size"),
    [
        ({"a": {"data_offsets": [0, BIG]}, "b": {"data_offsets": [BIG + 1, 2 * BIG]}}, 2 * BIG),
        ({"a": {"data_offsets": [0, BIG]}, "b": {"data_offsets": [BIG - 1, 2 * BIG]}}, 2 * BIG),
        ({"a": {"data_offsets": [0, BIG]}}, BIG + 1),
        ({"a": {"data_offsets": [0, BIG]}}, BIG - 1),
        ({"a": {"data_offsets": [BIG, 0]}}, BIG),
        ({"a": {"data_offsets": [-1, BIG]}}, BIG),
        ({"a": {"data_offsets": [False, BIG]}}, BIG),
        ({"a": {"data_offsets": [0.0, BIG]}}, BIG),
        ({"a": {"data_offsets": [0, BIG, 1]}}, BIG),
        ({"a": {"data_offsets": "0-1"}}, BIG),
        ({"a": [0, BIG]}, BIG),
        ({"": {"data_offsets": [0, BIG]}}, BIG),
        ({"é" * 513: {"data_offsets": [0, BIG]}}, BIG),  # 1026 UTF-8 bytes
        ({"\ud800": {"data_offsets": [0, BIG]}}, BIG),  # no UTF-8 for a lone surrogate
        ({"__metadata__": {}}, BIG),
        ([{"data_offsets": [0, BIG]}], BIG),
        ("text", BIG),
        ({"a": {"data_offsets": [0, 2**70]}}, BIG),
    ],
)
def test_malformed_headers_are_not_safetensors(header, data_size):
    raw = json.dumps(header).encode()
    assert tensor_spans(raw, data_size) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b"{" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b"{}",
        b"",
        b"nul\x00",
    ],
)
def test_headers_that_are_not_json_objects_are_refused(raw):
    assert tensor_spans(raw, BIG) is None


@pytest.mark.parametrize(
    "length", [0, 1, 2**63, 2**64 - 1, MAX_PIECE, MAX_PIECE - 7, 10**9], ids=str
)
def test_hostile_header_lengths_fall_back_to_content_chunks(small_cdc, length):
    data = struct.pack("<Q", length) + b'{"a":{"data_offsets":[0,10]}}' + bytes(200_000)
    found = pieces(data)
    check_tiles(data, found)
    assert {t for _, _, t in found} == {None}


def test_many_tensors_in_a_huge_header_fall_back(small_cdc):
    header = {f"t{i}": {"data_offsets": [i, i + 1]} for i in range(50_000)}
    data = header_file(header, 50_000)
    found = pieces(data)
    check_tiles(data, found)
    assert {t for _, _, t in found} == {None}


@settings(max_examples=200, deadline=None)
@given(header=st.binary(max_size=300), size=st.integers(0, 10**6))
def test_any_header_bytes_never_crash(header, size):
    spans = tensor_spans(header, size)
    assert spans is None or sum(e - b for _, b, e in spans) == size


def test_a_file_that_shrinks_while_it_is_cut_gives_fewer_bytes(small_cdc):
    data = safetensors_bytes([MIN_MEAN_TENSOR * 4] * 3)
    found = [p for p in cut(io.BytesIO(data[:-1000]), len(data))]
    assert sum(len(p.data) for p in found) == len(data) - 1000


def test_small_files_are_stored_whole_and_large_ones_in_pieces(monkeypatch):
    assert not chunks_file(CHUNKED_FROM - 1)
    assert chunks_file(CHUNKED_FROM)
    monkeypatch.setenv("ARTSTORE_CHUNKING", "off")
    assert not chunks_file(CHUNKED_FROM)


def test_without_the_compiled_backend_large_files_are_whole_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(chunker, "_CUTTER", None)
    monkeypatch.setattr(chunker, "_warned", [])
    with caplog.at_level(logging.WARNING, logger="artstore.storage.chunker"):
        assert not chunks_file(CHUNKED_FROM)
        assert not chunks_file(CHUNKED_FROM * 2)
    assert len(caplog.records) == 1
    assert "compiled backend" in caplog.records[0].getMessage()
