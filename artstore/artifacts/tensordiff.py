"""Tensor-level comparison of two ``.safetensors`` files, never loading a model into memory.

The header (8-byte little-endian length, then JSON of dtype, shape and byte offsets per
tensor) is read directly; tensors with the same dtype and shape are compared by hashing their
byte ranges with xxh3-128 on both sides at once. A side read from the store is verified in the
same pass: every byte of the file also feeds the file's digest, which must match its manifest
entry, so a corrupt blob is reported as corrupt, never as changed tensors. Optional statistics
load one tensor pair at a time, chunk by chunk. This is the only module that imports
safetensors.
"""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import struct
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

from artstore.artifacts.manifest import FileEntry
from artstore.errors import CorruptBlobError, UnsupportedFormatError, UserError
from artstore.storage import CHUNK_SIZE, Digest, Hasher

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["TensorChange", "TensorChangeKind", "TensorDiff", "TensorSource", "diff_tensors"]

TensorChangeKind = Literal["added", "removed", "dtype", "shape", "values"]
# safetensors refuses headers above 100 MB; so does this reader, before allocating one.
MAX_HEADER = 100_000_000
# Elements per step of the --stats arithmetic (float64): bounded temporaries for any tensor.
STATS_STEP = 1 << 18
# Tensors up to this size are read with one pread; larger ones are hashed through mappings.
SMALL_TENSOR = 1024 * 1024
# Map pages in up front (Linux): one fault per window instead of one per few pages.
_POPULATE: int | None = (
    mmap.MAP_SHARED | mmap.MAP_POPULATE if hasattr(mmap, "MAP_POPULATE") else None
)
# The numpy layout of each dtype numpy holds (safetensors stores little-endian).
_NUMPY_LAYOUT = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
_NUMPY_DTYPES = set(_NUMPY_LAYOUT)
# Bytes per element of the dtypes whose byte size is known; others are taken as they come.
_ITEMSIZE = {
    **{d: 8 for d in ("F64", "I64", "U64", "C64")},
    **{d: 4 for d in ("F32", "I32", "U32")},
    **{d: 2 for d in ("F16", "BF16", "I16", "U16")},
    **{d: 1 for d in ("I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0")},
}


@dataclass(frozen=True, slots=True)
class TensorChange:
    """One tensor that differs: added, removed, a new dtype or shape, or new values.

    ``max_abs_diff`` and ``rel_l2`` (``||b - a|| / ||a||``) are set for ``values`` changes
    when statistics were asked for and the dtype is numeric; they may be ``inf`` or ``nan``.
    """

    name: str
    kind: TensorChangeKind
    dtype_a: str | None
    dtype_b: str | None
    shape_a: tuple[int, ...] | None
    shape_b: tuple[int, ...] | None
    max_abs_diff: float | None = None
    rel_l2: float | None = None


@dataclass(frozen=True, slots=True)
class TensorDiff:
    """How the tensors of one changed ``.safetensors`` file differ, sorted by tensor name."""

    path: str
    changes: tuple[TensorChange, ...]
    unchanged: int
    metadata_changed: bool

    def names(self, kind: TensorChangeKind) -> tuple[str, ...]:
        """The tensors with one kind of change."""
        return tuple(c.name for c in self.changes if c.kind == kind)


class TensorSource(Protocol):
    """One side of a comparison, as the tensor reader needs it.

    ``verifies`` is True when the bytes read must be checked against the entry's digest
    (files read from a store); False when the digest was computed from the file itself.
    """

    label: str
    verifies: bool

    def open(self, entry: FileEntry) -> BinaryIO:
        """Open a file of this side for reading."""

    def local_path(self, entry: FileEntry) -> AbstractContextManager[str]:
        """A local path holding the file."""

    def read_chunk(self, entry: FileEntry, index: int) -> bytes:
        """The verified bytes of piece ``index`` of a file stored in chunks."""


@dataclass(frozen=True, slots=True)
class _Tensor:
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute offsets in the file
    end: int


@dataclass(frozen=True, slots=True)
class _Header:
    tensors: dict[str, _Tensor]
    metadata: object


def diff_tensors(
    a: TensorSource, ea: FileEntry, b: TensorSource, eb: FileEntry, *, stats: bool
) -> TensorDiff:
    """How the tensors of a changed ``.safetensors`` file differ between two sides.

    Two files stored in chunks cut at tensor boundaries are compared from their manifests: the
    header pieces are read (once when they are equal), and a tensor's pieces are compared by
    digest; no tensor's bytes are read unless its two sides were cut differently, and
    ``stats`` reads only the pieces of the tensors that changed.

    Raises:
        UnsupportedFormatError: a side's file is not valid safetensors.
        CorruptBlobError: a side read from a store does not match its digest.
        MissingBlobError: a piece that must be read is missing.
    """
    by_chunks = _diff_from_chunks(a, ea, b, eb, stats=stats)
    if by_chunks is not None:
        return by_chunks
    with ExitStack() as stack:
        fa = stack.enter_context(a.open(ea))
        fb = stack.enter_context(b.open(eb))
        ha = _checked_header(a, ea, fa)
        hb = _checked_header(b, eb, fb)
        ta, tb = ha.tensors, hb.tensors
        changes, same_layout = _layout_changes(ta, tb)
        # Both files are read at once: hashing and reading release the GIL.
        with ThreadPoolExecutor(1, thread_name_prefix="artstore-diff") as pool:
            pending = pool.submit(_side_digests, a, ea, fa, ta, same_layout)
            digests_b = _side_digests(b, eb, fb, tb, same_layout)
            digests_a = pending.result()
        moved = [n for n in same_layout if digests_a[n] != digests_b[n]]
        for name in moved:
            changes[name] = _change(name, "values", ta[name], tb[name])
        if stats and moved:
            numbers = _tensor_stats(a, ea, ta, b, eb, tb, moved)
            for name, (max_abs, rel_l2) in numbers.items():
                changes[name] = _change(name, "values", ta[name], tb[name], max_abs, rel_l2)
    return TensorDiff(
        path=ea.path,
        changes=tuple(changes[n] for n in sorted(changes)),
        unchanged=len(same_layout) - len(moved),
        metadata_changed=ha.metadata != hb.metadata,
    )


# -- files stored in chunks cut at tensor boundaries ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pieces:
    """The pieces of one side's tensor: (index, digest, size) each, in file order."""

    indexes: tuple[int, ...]
    digests: tuple[Digest, ...]
    sizes: tuple[int, ...]


def _tensor_pieces(entry: FileEntry, header: _Header) -> dict[str, _Pieces] | None:
    """Each tensor's pieces, when the entry was cut at the header's tensor boundaries (the
    header alone in piece 0, then each tensor's bytes in pieces naming it, in data order);
    None when it was cut otherwise (by content, or by another writer)."""
    chunks = entry.chunks
    if not chunks or chunks[0].tensor is not None:
        return None
    start = chunks[0].size
    spans: dict[str, tuple[int, int, list[int]]] = {}
    pos = start
    for index, chunk in enumerate(chunks[1:], 1):
        if chunk.tensor is None:
            return None
        span = spans.get(chunk.tensor)
        if span is None:
            span = spans[chunk.tensor] = (pos, pos, [])
        elif span[1] != pos:  # the tensor's pieces are not contiguous
            return None
        spans[chunk.tensor] = (span[0], pos + chunk.size, [*span[2], index])
        pos += chunk.size
    with_bytes = {n: t for n, t in header.tensors.items() if t.end > t.begin}
    if spans.keys() != with_bytes.keys():
        return None
    for name, (begin, end, _) in spans.items():
        t = with_bytes[name]
        if (t.begin, t.end) != (begin, end):
            return None
    pieces = {
        name: _Pieces(
            tuple(ix),
            tuple(chunks[i].digest for i in ix),
            tuple(chunks[i].size for i in ix),
        )
        for name, (_, _, ix) in spans.items()
    }
    empty = _Pieces((), (), ())
    return {name: pieces.get(name, empty) for name in header.tensors}


def _chunk_header(side: TensorSource, entry: FileEntry) -> _Header | None:
    """The header of a file stored in chunks, read from its first piece alone; None when the
    first piece is not exactly the 8-byte length and the header."""
    if not entry.chunks or entry.chunks[0].tensor is not None:
        return None
    first = side.read_chunk(entry, 0)
    if len(first) < 8 or 8 + struct.unpack("<Q", first[:8])[0] != len(first):
        return None
    return _read_header(io.BytesIO(first), entry.size, f"{side.label}: {entry.path!r}")


def _diff_from_chunks(
    a: TensorSource, ea: FileEntry, b: TensorSource, eb: FileEntry, *, stats: bool
) -> TensorDiff | None:
    """The tensor diff of two files stored in chunks cut at tensor boundaries, from their
    manifests and header pieces; None when either was cut otherwise."""
    if not (ea.chunks and eb.chunks and ea.chunks[0].tensor is None):
        return None
    ha = _chunk_header(a, ea)
    if ha is None:
        return None
    same_header = ea.chunks[0].digest == eb.chunks[0].digest
    hb = ha if same_header else _chunk_header(b, eb)
    if hb is None:
        return None
    pa, pb = _tensor_pieces(ea, ha), _tensor_pieces(eb, hb)
    if pa is None or pb is None:
        return None
    ta, tb = ha.tensors, hb.tensors
    changes, same_layout = _layout_changes(ta, tb)
    moved = [n for n in sorted(same_layout) if _pieces_differ(a, ea, pa[n], b, eb, pb[n])]
    for name in moved:
        changes[name] = _change(name, "values", ta[name], tb[name])
    if stats and moved:
        for name in moved:
            numbers = _piece_stats(a, ea, pa[name], ta[name], b, eb, pb[name], tb[name])
            if numbers is not None:
                changes[name] = _change(name, "values", ta[name], tb[name], *numbers)
    return TensorDiff(
        path=ea.path,
        changes=tuple(changes[n] for n in sorted(changes)),
        unchanged=len(same_layout) - len(moved),
        metadata_changed=ha.metadata != hb.metadata,
    )


def _pieces_differ(
    a: TensorSource, ea: FileEntry, x: _Pieces, b: TensorSource, eb: FileEntry, y: _Pieces
) -> bool:
    if x.digests == y.digests:
        return False
    if x.sizes == y.sizes:  # cut alike: a piece that differs holds other bytes
        return True
    # Cut differently (another chunking policy): the bytes decide, read piece by piece.
    return _pieces_digest(a, ea, x) != _pieces_digest(b, eb, y)


def _pieces_digest(side: TensorSource, entry: FileEntry, pieces: _Pieces) -> Digest:
    hasher = Hasher()
    for index in pieces.indexes:
        hasher.update(side.read_chunk(entry, index))
    return hasher.digest()


def _piece_stats(
    a: TensorSource,
    ea: FileEntry,
    x: _Pieces,
    tx: _Tensor,
    b: TensorSource,
    eb: FileEntry,
    y: _Pieces,
    ty: _Tensor,
) -> tuple[float, float] | None:
    """The statistics of one changed tensor from its pieces on both sides (one tensor pair in
    memory); None for a dtype numpy cannot hold."""
    try:
        import numpy as np
    except ImportError:
        raise UserError("--stats needs numpy: pip install numpy") from None

    def load(side: TensorSource, entry: FileEntry, pieces: _Pieces, t: _Tensor) -> Any:
        data = b"".join(side.read_chunk(entry, i) for i in pieces.indexes)
        if t.dtype == "BF16":  # numpy has no bfloat16: widen the top half of a float32
            half = np.frombuffer(data, dtype="<u2")
            return (half.astype(np.uint32) << 16).view(np.float32)
        return np.frombuffer(data, dtype=_NUMPY_LAYOUT[t.dtype]).reshape(t.shape)

    if tx.dtype not in _NUMPY_LAYOUT and tx.dtype != "BF16":
        return None
    return _numbers(load(a, ea, x, tx), load(b, eb, y, ty))


def _layout_changes(
    ta: dict[str, _Tensor], tb: dict[str, _Tensor]
) -> tuple[dict[str, TensorChange], list[str]]:
    """The tensors added, removed, or with a new dtype or shape; and the names of those on
    both sides with the same dtype and shape, whose bytes are left to compare."""
    changes: dict[str, TensorChange] = {}
    for name in tb.keys() - ta.keys():
        changes[name] = _change(name, "added", None, tb[name])
    for name in ta.keys() - tb.keys():
        changes[name] = _change(name, "removed", ta[name], None)
    same_layout: list[str] = []
    for name in ta.keys() & tb.keys():
        x, y = ta[name], tb[name]
        if x.dtype != y.dtype:
            changes[name] = _change(name, "dtype", x, y)
        elif x.shape != y.shape:
            changes[name] = _change(name, "shape", x, y)
        else:
            same_layout.append(name)
    return changes, same_layout


def _change(
    name: str,
    kind: TensorChangeKind,
    x: _Tensor | None,
    y: _Tensor | None,
    max_abs: float | None = None,
    rel_l2: float | None = None,
) -> TensorChange:
    return TensorChange(
        name=name,
        kind=kind,
        dtype_a=x.dtype if x else None,
        dtype_b=y.dtype if y else None,
        shape_a=x.shape if x else None,
        shape_b=y.shape if y else None,
        max_abs_diff=max_abs,
        rel_l2=rel_l2,
    )


def _read_header(f: BinaryIO, size: int, where: str) -> _Header:
    def bad(reason: str) -> UnsupportedFormatError:
        return UnsupportedFormatError(f"{where} is not a valid safetensors file: {reason}")

    prefix = f.read(8)
    if len(prefix) < 8:
        raise bad("it is shorter than 8 bytes")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER or 8 + length > size:
        raise bad(f"its header length {length} does not fit the file")
    raw = f.read(length)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # also bad UTF-8, and numbers too long to read
        raise bad("its header is not JSON") from None
    if not isinstance(data, dict):
        raise bad("its header is not a JSON object")
    start = 8 + length
    tensors: dict[str, _Tensor] = {}
    for name, info in data.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = isinstance(dtype, str) and isinstance(shape, list)
            ok = ok and all(_is_count(n) for n in shape) and _is_count(begin) and _is_count(end)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok or not 0 <= begin <= end <= size - start:
            raise bad(f"tensor {name!r} has a malformed entry")
        itemsize = _ITEMSIZE.get(dtype)
        if itemsize is not None and math.prod(shape) * itemsize != end - begin:
            raise bad(
                f"tensor {name!r} of shape {shape} and dtype {dtype} needs "
                f"{math.prod(shape) * itemsize} bytes, but its offsets hold {end - begin}"
            )
        tensors[name] = _Tensor(dtype, tuple(shape), start + begin, start + end)
    return _Header(tensors, data.get("__metadata__"))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _checked_header(side: TensorSource, entry: FileEntry, f: BinaryIO) -> _Header:
    try:
        return _read_header(f, entry.size, f"{side.label}: {entry.path!r}")
    except UnsupportedFormatError:
        if side.verifies:  # a damaged blob is corrupt data, not a malformed file
            f.seek(0)
            _check_digest(side, entry, _file_digest(f))
        raise


def _check_digest(side: TensorSource, entry: FileEntry, actual: Digest) -> None:
    if actual != entry.digest:
        raise CorruptBlobError(entry.digest.hex, actual.hex, artifact=side.label, path=entry.path)


def _file_digest(f: BinaryIO) -> Digest:
    hasher = Hasher()
    for _, window in _windows(f):
        hasher.update(window)
    return hasher.digest()


def _side_digests(
    side: TensorSource, entry: FileEntry, f: BinaryIO, tensors: dict[str, _Tensor], names: list[str]
) -> dict[str, Digest]:
    """The digests of the named tensors of one side; a side read from a store is verified in
    the same pass.

    Raises:
        CorruptBlobError: the side's file does not match its digest.
    """
    if not side.verifies:
        return _hash_tensors(f, tensors, names)
    digests, actual = _hash_file_and_tensors(f, tensors, names)
    _check_digest(side, entry, actual)
    if digests is None:  # shorter than its manifest entry says, yet hashing right
        raise UnsupportedFormatError(
            f"{side.label}: {entry.path!r}: a tensor runs past the end of its file"
        )
    return digests


def _hash_file_and_tensors(
    f: BinaryIO, tensors: dict[str, _Tensor], names: Sequence[str]
) -> tuple[dict[str, Digest] | None, Digest]:
    """Hash the whole file and each named tensor's bytes in one sequential pass: each window
    of the file feeds the file's hasher and then, while it is still in the CPU's cache, the
    hashers of the tensors it overlaps (tensors may overlap each other). The tensor digests
    are None when a tensor runs past the end of the file."""
    pending = deque(sorted(names, key=lambda n: tensors[n].begin))
    hashers = {name: Hasher() for name in pending}
    whole = Hasher()
    active: list[str] = []
    for pos, window in _windows(f):
        whole.update(window)
        end = pos + len(window)
        while pending and tensors[pending[0]].begin < end:
            active.append(pending.popleft())
        unfinished = []
        for name in active:
            t = tensors[name]
            lo, hi = max(t.begin, pos), min(t.end, end)
            if lo < hi:
                hashers[name].update(window[lo - pos : hi - pos])
            if t.end > end:
                unfinished.append(name)
        active = unfinished
    if active or any(tensors[n].end > whole.size for n in pending):
        return None, whole.digest()
    return {name: h.digest() for name, h in hashers.items()}, whole.digest()


def _windows(f: BinaryIO) -> Iterator[tuple[int, memoryview]]:
    """(offset, bytes) of consecutive windows covering the whole file, from its start: local
    files through short-lived mappings of one chunk each, others read into one buffer."""
    if _POPULATE is not None and isinstance(f, io.FileIO):
        size = os.fstat(f.fileno()).st_size
        for pos in range(0, size, CHUNK_SIZE):
            length = min(CHUNK_SIZE, size - pos)
            m = mmap.mmap(f.fileno(), length, flags=_POPULATE, prot=mmap.PROT_READ, offset=pos)
            with m, memoryview(m) as window:  # released before the map is closed
                yield pos, window
        return
    f.seek(0)
    view = memoryview(bytearray(CHUNK_SIZE))
    pos = 0
    while n := f.readinto(view):  # type: ignore[attr-defined]
        yield pos, view[:n]
        pos += n


def _hash_tensors(
    f: BinaryIO, tensors: dict[str, _Tensor], names: Sequence[str]
) -> dict[str, Digest]:
    """Hash each named tensor's bytes, visiting them in file order (one sequential pass).

    Local files are hashed straight from the page cache through short-lived mappings of one
    chunk each (no copy, and no more than a chunk resident at a time); others are read.
    """
    mapped = _POPULATE is not None and isinstance(f, io.FileIO)
    view = memoryview(bytearray(0 if mapped else CHUNK_SIZE))
    digests: dict[str, Digest] = {}
    for name in sorted(names, key=lambda n: tensors[n].begin):
        t = tensors[name]
        hasher = Hasher()
        if mapped:
            _hash_mapped(f.fileno(), t.begin, t.end, hasher)
        else:
            f.seek(t.begin)
            left = t.end - t.begin
            while left:
                n = f.readinto(view[: min(left, CHUNK_SIZE)])  # type: ignore[attr-defined]
                if not n:
                    raise UnsupportedFormatError(f"tensor {name!r} runs past the end of its file")
                hasher.update(view[:n])
                left -= n
        digests[name] = hasher.digest()
    return digests


def _hash_mapped(fd: int, begin: int, end: int, hasher: Hasher) -> None:
    if end - begin <= SMALL_TENSOR:
        data = os.pread(fd, end - begin, begin)
        if len(data) < end - begin:
            raise UnsupportedFormatError("a tensor runs past the end of its file")
        hasher.update(data)
        return
    assert _POPULATE is not None
    pos = begin
    while pos < end:
        base = pos - pos % mmap.ALLOCATIONGRANULARITY
        length = min(CHUNK_SIZE, end - base)
        m = mmap.mmap(fd, length, flags=_POPULATE, prot=mmap.PROT_READ, offset=base)
        with m, memoryview(m) as whole:  # the view is released before the map is closed
            hasher.update(whole[pos - base :])
        pos = base + length


# -- statistics (numpy) ----------------------------------------------------------------------


def _tensor_stats(
    a: TensorSource,
    ea: FileEntry,
    ta: dict[str, _Tensor],
    b: TensorSource,
    eb: FileEntry,
    tb: dict[str, _Tensor],
    names: Sequence[str],
) -> dict[str, tuple[float, float]]:
    """Max |b - a| and ||b - a|| / ||a|| of each named tensor, one tensor pair in memory."""
    try:
        import numpy as np
        from safetensors import SafetensorError, safe_open
    except ImportError:
        raise UserError("--stats needs numpy: pip install numpy") from None
    result: dict[str, tuple[float, float]] = {}
    with a.local_path(ea) as pa, b.local_path(eb) as pb:
        path_label = {pb: f"{b.label}: {eb.path!r}", pa: f"{a.label}: {ea.path!r}"}

        def load(path: str, t: _Tensor, name: str) -> npt.NDArray[Any] | None:
            if t.dtype in _NUMPY_DTYPES:
                # A fresh mapping per tensor: safetensors maps the whole file, and every page
                # read through one long-lived mapping would stay in this process's RSS.
                try:
                    with safe_open(path, framework="numpy") as f:
                        return f.get_tensor(name)  # type: ignore[no-any-return]
                except SafetensorError as exc:  # stricter than the header reader: no gaps
                    raise UnsupportedFormatError(
                        f"{path_label[path]} is not a valid safetensors file: "
                        + " ".join(str(exc).split())
                    ) from None
            if t.dtype == "BF16":  # numpy has no bfloat16: widen the top half of a float32
                with open(path, "rb", buffering=0) as raw:
                    raw.seek(t.begin)
                    half = np.frombuffer(raw.read(t.end - t.begin), dtype="<u2")
                return (half.astype(np.uint32) << 16).view(np.float32)
            return None  # float8 and other dtypes numpy cannot hold: no numbers

        for name in names:
            x = load(pa, ta[name], name)
            y = load(pb, tb[name], name) if x is not None else None
            if x is not None and y is not None:
                result[name] = _numbers(x, y)
            del x, y
    return result


def _numbers(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> tuple[float, float]:
    """(max |y - x|, ||y - x|| / ||x||) in float64; equal values (also equal infinities and
    NaN against NaN) count as no difference; ``||x|| = 0`` gives 0 or inf."""
    import numpy as np

    xs, ys = x.reshape(-1), y.reshape(-1)
    max_abs = 0.0
    norm_d, norm_x = _Norm(), _Norm()
    with np.errstate(all="ignore"):
        for start in range(0, xs.size, STATS_STEP):
            cx = xs[start : start + STATS_STEP].astype(np.float64)
            cy = ys[start : start + STATS_STEP].astype(np.float64)
            d = cy - cx
            d[(cx == cy) | (np.isnan(cx) & np.isnan(cy))] = 0.0
            m = float(np.max(np.abs(d))) if d.size else 0.0
            max_abs = m if math.isnan(m) or math.isnan(max_abs) else max(max_abs, m)
            norm_d.add(d)
            norm_x.add(cx)
    nd, nx = norm_d.value, norm_x.value
    if math.isnan(nd) or math.isnan(nx):
        rel = math.nan
    elif nx == 0:
        rel = 0.0 if nd == 0 else math.inf
    else:
        rel = nd / nx  # inf / inf is nan, finite / inf is 0
    return max_abs, rel


class _Norm:
    """A Euclidean norm accumulated over chunks without overflow (scaled, as LAPACK's nrm2)."""

    __slots__ = ("scale", "special", "ssq")

    def __init__(self) -> None:
        self.scale = 0.0
        self.ssq = 0.0
        self.special = 0.0  # inf or nan once a non-finite value was seen

    def add(self, v: npt.NDArray[np.float64]) -> None:
        import numpy as np

        if not v.size:
            return
        if not np.isfinite(v).all():
            self.special = math.nan if np.isnan(v).any() or math.isnan(self.special) else math.inf
            return
        m = float(np.max(np.abs(v)))
        if m == 0:
            return
        s = float(np.sum(np.square(v / m)))
        if m > self.scale:
            self.ssq = self.ssq * (self.scale / m) ** 2 + s
            self.scale = m
        else:
            self.ssq += s * (m / self.scale) ** 2

    @property
    def value(self) -> float:
        return self.special if self.special else self.scale * math.sqrt(self.ssq)
