"""Cutting a large file into the pieces it is stored in (docs/format.md, chunking policy).

Bytes only: a file whose content is safetensors is cut at its tensors' boundaries (the header
is one piece, each tensor's bytes the next, a tensor larger than :data:`MAX_PIECE` in pieces
of that size); any other file by FastCDC. The pieces are a function of the bytes and :data:`POLICY`
alone, so a file's piece list may be remembered by its digest and the policy version.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

__all__ = [
    "CDC_AVG",
    "CDC_MAX",
    "CDC_MIN",
    "CHUNKED_FROM",
    "CHUNKING_ENV",
    "MAX_PIECE",
    "MAX_TENSOR_NAME",
    "MIN_MEAN_TENSOR",
    "POLICY",
    "Layout",
    "Piece",
    "Start",
    "chunks_file",
    "cut",
    "read_layout",
    "tensor_spans",
]

logger = logging.getLogger(__name__)

#: The version of the rules below: a remembered piece list is valid for this version only.
POLICY = 2
#: Files this large or larger are stored in pieces; smaller ones whole, as one blob.
CHUNKED_FROM = 8 * 1024 * 1024
#: No piece is larger: a tensor larger than this is cut into pieces of this size from its
#: start, the last one shorter.
MAX_PIECE = 16 * 1024 * 1024
#: FastCDC's parameters (pyfastcdc) for files that are not safetensors: pieces average about
#: ``CDC_AVG + CDC_MIN`` bytes (1.3-1.4 MiB measured).
CDC_AVG = 1024 * 1024
CDC_MIN = 512 * 1024
CDC_MAX = 8 * 1024 * 1024
#: The longest tensor name (UTF-8 bytes) a piece may carry, the manifest reader's bound: a
#: header naming a longer one is cut by content.
MAX_TENSOR_NAME = 1024
#: A safetensors file whose tensors average fewer bytes is cut by content instead: never
#: thousands of tiny objects.
MIN_MEAN_TENSOR = 64 * 1024

_METADATA = "__metadata__"
# FastCDC reads this much at a time (see _cdc): eight of its largest pieces.
_WINDOW = 8 * CDC_MAX
#: Set to ``off``, large files are stored whole, one blob each: for a bucket where the number
#: of objects matters, or to compare puts with and without pieces (decision 124).
CHUNKING_ENV = "ARTSTORE_CHUNKING"


class _Cutter(Protocol):
    @property
    def max_size(self) -> int: ...

    def cut_buf(self, buf: memoryview) -> Iterator[Any]: ...


def _load_cutter(avg: int, min_size: int, max_size: int) -> _Cutter | None:
    try:
        # The compiled backend only: the pure-Python one is 150-300x slower (decision 110).
        from pyfastcdc.cy import FastCDC
    except ImportError:
        return None
    cutter: _Cutter = FastCDC(avg, min_size=min_size, max_size=max_size)
    return cutter


_CUTTER = _load_cutter(CDC_AVG, CDC_MIN, CDC_MAX)
_local = threading.local()
_warned: list[bool] = []


def chunks_file(size: int) -> bool:
    """Whether a file of ``size`` bytes is stored in pieces: it is large enough, pieces are not
    turned off (``$ARTSTORE_CHUNKING=off``, see :data:`CHUNKING_ENV`), and pyfastcdc's
    compiled backend is there (without it, large files are stored whole, with one warning per
    process)."""
    if size < CHUNKED_FROM or os.environ.get(CHUNKING_ENV, "").strip().lower() == "off":
        return False
    if _CUTTER is None:
        if not _warned:
            _warned.append(True)
            logger.warning(
                "pyfastcdc's compiled backend is missing, so large files are stored whole "
                "(no dedup inside files); reinstall pyfastcdc for your platform"
            )
        return False
    return True


#: The pieces after the header of a file cut at its tensors: (offset, length, tensor) of each,
#: in file order.
Layout = list[tuple[int, int, str]]
#: What :func:`read_layout` read of a file: its first bytes, and its layout (None: the file is
#: cut by content).
Start = tuple[bytes, Layout | None]


@dataclass(frozen=True, slots=True)
class Piece:
    """One piece of a file as it is read: where it starts, its bytes (valid only until the
    next piece is asked for), and the safetensors tensor it lies in, if cut at tensors."""

    offset: int
    data: memoryview
    tensor: str | None


def cut(file: BinaryIO, size: int, start: Start | None = None) -> Iterator[Piece]:
    """The pieces of ``file`` (read once, from its current position, which must be its start)
    of ``size`` bytes, in order: they tile what was read. ``start``, if given, is what
    :func:`read_layout` returned for this file, read no further since (the position is then
    where that left it).

    Memory stays flat: one piece (at most :data:`MAX_PIECE`) and FastCDC's buffer. A file that
    changes while it is read gives pieces that do not add up to ``size``; the caller checks.
    """
    assert _CUTTER is not None, "chunks_file() said no"
    prefix, layout = read_layout(file, size) if start is None else start
    if layout is None:
        yield from _cdc(_Prefixed(prefix, file), _CUTTER, size)
        return
    yield Piece(0, memoryview(prefix), None)
    buffer = memoryview(bytearray(max(length for _, length, _ in layout)))
    for offset, length, name in layout:
        n = _read_into(file, buffer[:length])
        if n:
            yield Piece(offset, buffer[:n], name)
        if n < length:
            return  # the file shrank: the caller's size check refuses it


def read_layout(file: BinaryIO, size: int) -> Start:
    """Read the start of ``file`` (from its current position, its start) of ``size`` bytes:
    return the bytes read and, when the file is cut at its safetensors tensors, the pieces
    after them as (offset, length, tensor) in file order. The bytes read are the header piece
    then; None instead of the pieces means the file is cut by content.
    """
    prefix = _read(file, min(size, 8))
    if len(prefix) < 8:
        return prefix, None
    (length,) = struct.unpack("<Q", prefix)
    if not 2 <= length <= min(MAX_PIECE - 8, size - 8):
        return prefix, None
    prefix += _read(file, length)
    if len(prefix) < 8 + length:
        return prefix, None
    spans = tensor_spans(prefix[8:], size - 8 - length)
    if spans is None:
        return prefix, None
    layout: Layout = []
    for name, begin, end in spans:
        # A large tensor is cut at fixed sizes from its start, not by content: tensors change
        # in place (a fine-tune) or grow at their end (rows added to an embedding), never by
        # bytes inserted, and cutting by content cost a third of the put (decision 119).
        for start in range(begin, end, MAX_PIECE):
            layout.append((len(prefix) + start, min(MAX_PIECE, end - start), name))
    return prefix, layout


def tensor_spans(header: bytes, data_size: int) -> list[tuple[str, int, int]] | None:
    """The tensors of a safetensors header as (name, begin, end) in data order, or None when
    the header is not one whose tensors tile a data section of ``data_size`` bytes exactly,
    or whose tensors are too small on average to be pieces of their own."""
    try:
        parsed = json.loads(header)
    except (ValueError, RecursionError):  # also bad UTF-8
        return None
    if not isinstance(parsed, dict):
        return None
    spans: list[tuple[str, int, int]] = []
    for name, info in parsed.items():
        if name == _METADATA:
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (_is_tensor_name(name) and isinstance(offsets, list) and len(offsets) == 2):
            return None
        begin, end = offsets
        if not (_is_offset(begin) and _is_offset(end) and begin <= end):
            return None
        spans.append((name, begin, end))
    if not spans or data_size // len(spans) < MIN_MEAN_TENSOR:
        return None
    spans.sort(key=lambda s: (s[1], s[2]))
    at = 0
    for _, begin, end in spans:
        if begin != at:
            return None  # a gap or an overlap
        at = end
    return spans if at == data_size else None


def _is_tensor_name(name: str) -> bool:
    # A name a manifest reader accepts (decision 126): UTF-8, at most MAX_TENSOR_NAME bytes.
    try:
        return 0 < len(name.encode("utf-8")) <= MAX_TENSOR_NAME
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape
        return False


def _is_offset(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _window(size: int, largest: int) -> memoryview:
    """A window for cutting ``size`` bytes: one byte more, so their end is seen in one
    fill, yet at most :data:`_WINDOW`, and more than one ``largest`` piece, so each fill cuts
    one.

    One buffer per thread is reused: zeroing a new one per file cost a tenth of the cutting.
    """
    length = max(largest + 1, min(_WINDOW, size + 1))
    buffer: bytearray | None = getattr(_local, "window", None)
    if buffer is None or len(buffer) < length:
        buffer = _local.window = bytearray(max(length, _WINDOW + 1))
    return memoryview(buffer)[:length]


def _cdc(stream: _Prefixed, cutter: _Cutter, size: int) -> Iterator[Piece]:
    """FastCDC by ``cutter`` over ``stream`` (a whole file of at most ``size`` bytes), read in
    windows.

    pyfastcdc's own ``cut_stream`` moves its whole buffer (twice the largest piece) forward
    after every piece: about 20 times the file's bytes at these sizes (measured 0.5 GB/s).
    Here a window is cut whole; only a piece that starts within the largest piece of the
    window's end (whose cut could depend on bytes not read yet) is cut again with the next
    window, so the pieces are those of one pass over the whole stream.
    """
    largest = cutter.max_size
    view = _window(size, largest)
    offset, held, done = 0, 0, False
    while True:
        while held < len(view) and not done:
            n = stream.readinto(view[held:])
            done = not n
            held += n or 0
        if not held:
            return
        used = 0
        for chunk in cutter.cut_buf(view[:held]):
            if not done and chunk.offset + largest > held:
                break  # may end further on: cut again once more bytes are read
            yield Piece(offset + chunk.offset, chunk.data, None)
            used = chunk.offset + chunk.length
        view[: held - used] = view[used:held]  # an overlapping move, done as memmove
        offset += used
        held -= used


def _read(file: BinaryIO, n: int) -> bytes:
    buffer = bytearray(n)
    return bytes(buffer[: _read_into(file, memoryview(buffer))])


def _read_into(file: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``file``; fewer bytes only at its end."""
    done = 0
    while done < len(view):
        n = file.readinto(view[done:])  # type: ignore[attr-defined]
        if not n:
            break
        done += n
    return done


class _Prefixed:
    """Bytes already read from the start of a file, then the rest of the file."""

    def __init__(self, prefix: bytes, file: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._file = file

    def readinto(self, view: memoryview) -> int:
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._file.readinto(view) or 0  # type: ignore[attr-defined]
