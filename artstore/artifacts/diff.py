"""Comparing two versions or folders: files by digest, changed safetensors files tensor by tensor.

Files are compared by their digests (from the manifest for a version, hashed for a folder), so
equal files cost nothing. A ``.safetensors`` file whose digest changed is opened on both sides:
its header (8-byte little-endian length, then JSON of ``dtype``, ``shape``, ``data_offsets``)
names the tensors, and the bytes of each tensor present on both sides with the same dtype and
shape are hashed in fixed-size chunks. Nothing ever holds a whole model in memory; the optional
statistics load one tensor pair at a time. This is the only module that imports safetensors.
"""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from artstore.artifacts.artifact import Artifact
from artstore.artifacts.manifest import FileEntry
from artstore.artifacts.names import Ref
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import InvalidNameError, NotFoundError, UnsupportedFormatError, UserError
from artstore.storage import CHUNK_SIZE, BlobStore, Digest, Hasher, Kind, StatCache, hash_file

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Diff",
    "FileChange",
    "FileSize",
    "Side",
    "TensorChange",
    "TensorDiff",
    "compare",
    "folder_side",
    "locate",
    "version_side",
]

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
_NUMPY_DTYPES = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"}


@dataclass(frozen=True, slots=True)
class FileSize:
    """A file present on one side only."""

    path: str
    size: int


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file present on both sides with different content."""

    path: str
    size_a: int
    size_b: int


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


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed from side ``a`` to side ``b``; each list is sorted by path."""

    a: str
    b: str
    added: tuple[FileSize, ...]
    removed: tuple[FileSize, ...]
    changed: tuple[FileChange, ...]
    unchanged: int
    tensors: tuple[TensorDiff, ...]

    @property
    def identical(self) -> bool:
        """Whether both sides hold the same files with the same content."""
        return not (self.added or self.removed or self.changed)

    @property
    def bytes_added(self) -> int:
        """Total size of the added files."""
        return sum(f.size for f in self.added)

    @property
    def bytes_removed(self) -> int:
        """Total size of the removed files."""
        return sum(f.size for f in self.removed)

    @property
    def bytes_changed(self) -> int:
        """Total size, on side ``b``, of the files whose content changed."""
        return sum(f.size_b for f in self.changed)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object (fields are only ever added to; see docs/cli.md)."""
        return {
            "a": self.a,
            "b": self.b,
            "identical": self.identical,
            "added": [{"path": f.path, "size": f.size} for f in self.added],
            "removed": [{"path": f.path, "size": f.size} for f in self.removed],
            "changed": [
                {"path": f.path, "size_a": f.size_a, "size_b": f.size_b} for f in self.changed
            ],
            "unchanged": self.unchanged,
            "bytes_added": self.bytes_added,
            "bytes_removed": self.bytes_removed,
            "bytes_changed": self.bytes_changed,
            "tensors": [
                {
                    "path": t.path,
                    "unchanged": t.unchanged,
                    "metadata_changed": t.metadata_changed,
                    "changes": [_change_json(c) for c in t.changes],
                }
                for t in self.tensors
            ],
        }


def _change_json(c: TensorChange) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": c.kind,
        "dtype_a": c.dtype_a,
        "dtype_b": c.dtype_b,
        "shape_a": None if c.shape_a is None else list(c.shape_a),
        "shape_b": None if c.shape_b is None else list(c.shape_b),
        "max_abs_diff": _json_float(c.max_abs_diff),
        "rel_l2": _json_float(c.rel_l2),
    }


def _json_float(x: float | None) -> float | str | None:
    # JSON has no inf/nan: those are written as the strings "inf", "-inf", "nan".
    return x if x is None or math.isfinite(x) else str(x)


# -- sides -----------------------------------------------------------------------------------


class Side:
    """One side of a comparison: a label, files by path, and a way to read each file."""

    def __init__(
        self,
        label: str,
        entries: dict[str, FileEntry],
        local: Callable[[FileEntry], str | None],
        blobs: BlobStore | None = None,
    ) -> None:
        self.label = label
        self.entries = entries
        self._local = local
        self._blobs = blobs

    def open(self, entry: FileEntry) -> BinaryIO:
        """Open a file of this side for reading (unbuffered when it is on the local disk)."""
        self._check_whole(entry)
        path = self._local(entry)
        if path is not None:
            try:
                return open(path, "rb", buffering=0)
            except FileNotFoundError:
                if self._blobs is None:
                    raise NotFoundError(f"{path} vanished while it was compared") from None
        assert self._blobs is not None
        return self._blobs.open(Kind.BLOB, entry.digest)  # names a missing blob

    def local_path(self, entry: FileEntry) -> AbstractContextManager[str]:
        """A local path holding the file: itself, or a verified temporary download."""
        self._check_whole(entry)
        path = self._local(entry)
        return nullcontext(path) if path is not None else self._download(entry)

    @contextmanager
    def _download(self, entry: FileEntry) -> Iterator[str]:
        assert self._blobs is not None
        with tempfile.TemporaryDirectory(prefix="artstore-diff-") as tmp:
            dest = Path(tmp) / "file.safetensors"
            self._blobs.get_file(entry.digest, dest)
            yield str(dest)

    def _check_whole(self, entry: FileEntry) -> None:
        if entry.chunks:
            raise UnsupportedFormatError(
                f"{self.label}: {entry.path!r} is stored in chunks, which this artstore cannot "
                "read; upgrade artstore"
            )


def locate(spec: str) -> Path | str:
    """A side given on the command line: a folder when one exists there, else a reference.

    Raises:
        NotFoundError: ``spec`` is neither a folder nor a well-formed ``NAME[:REF]``.
    """
    if os.path.isdir(spec):
        return Path(spec)
    try:
        Ref.parse(spec)
    except InvalidNameError:
        raise NotFoundError(
            f"{spec!r} is neither a folder nor a version reference NAME[:REF]; see: art ls"
        ) from None
    return spec


def version_side(version: ArtifactVersion, blobs: BlobStore) -> Side:
    """A stored version: its manifest's digests; files read from the blob store."""
    root = blobs.local_root

    def local(entry: FileEntry) -> str | None:
        return None if root is None else blobs.path(Kind.BLOB, entry.digest)

    return Side(version.qualified_name, dict(version.manifest().entries), local, blobs)


def folder_side(folder: Path, stat_cache: StatCache) -> Side:
    """A local folder, walked as ``art put`` would; files unchanged since they were last hashed
    take their digest from the stat cache."""
    artifact = Artifact("folder", "folder")
    artifact.add_dir(folder)
    sources = dict(artifact.sources())
    stats = {path: os.stat(source) for path, source in sources.items()}
    keys = {p: (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns) for p, s in stats.items()}
    known = stat_cache.lookup(keys.values())
    fresh: dict[tuple[int, int, int, int], Digest] = {}
    buffer = bytearray(CHUNK_SIZE)
    entries: dict[str, FileEntry] = {}
    for path, source in sources.items():
        digest = known.get(keys[path])
        size = keys[path][2]
        if digest is None:
            digest, size = hash_file(source, buffer)
            if size == keys[path][2]:
                fresh[keys[path]] = digest
        entries[path] = FileEntry(path, digest, size)
    stat_cache.record(fresh)
    return Side(str(folder), entries, lambda entry: sources[entry.path])


# -- comparing -------------------------------------------------------------------------------


def compare(a: Side, b: Side, *, stats: bool = False) -> Diff:
    """Compare two sides: files by digest, then each changed ``.safetensors`` file by tensor.

    Raises:
        UnsupportedFormatError: a changed ``.safetensors`` file is not valid safetensors.
        UserError: ``stats`` without numpy installed.
    """
    changed: list[FileChange] = []
    tensors: list[TensorDiff] = []
    unchanged = 0
    for path in sorted(a.entries.keys() & b.entries.keys()):
        ea, eb = a.entries[path], b.entries[path]
        if ea.digest == eb.digest:
            unchanged += 1
            continue
        changed.append(FileChange(path, ea.size, eb.size))
        if path.lower().endswith(".safetensors"):
            tensors.append(_diff_tensors(a, ea, b, eb, stats=stats))
    return Diff(
        a=a.label,
        b=b.label,
        added=tuple(FileSize(p, b.entries[p].size) for p in sorted(b.entries.keys() - a.entries)),
        removed=tuple(FileSize(p, a.entries[p].size) for p in sorted(a.entries.keys() - b.entries)),
        changed=tuple(changed),
        unchanged=unchanged,
        tensors=tuple(tensors),
    )


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


def _diff_tensors(a: Side, ea: FileEntry, b: Side, eb: FileEntry, *, stats: bool) -> TensorDiff:
    with ExitStack() as stack:
        fa = stack.enter_context(a.open(ea))
        fb = stack.enter_context(b.open(eb))
        ha = _read_header(fa, ea.size, f"{a.label}: {ea.path!r}")
        hb = _read_header(fb, eb.size, f"{b.label}: {eb.path!r}")
        ta, tb = ha.tensors, hb.tensors
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
        # Both files are read at once: hashing and reading release the GIL.
        with ThreadPoolExecutor(1, thread_name_prefix="artstore-diff") as pool:
            pending = pool.submit(_hash_tensors, fa, ta, same_layout)
            digests_b = _hash_tensors(fb, tb, same_layout)
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
    except (UnicodeDecodeError, json.JSONDecodeError):
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
            ok = isinstance(dtype, str) and all(isinstance(n, int) and n >= 0 for n in shape)
            ok = ok and isinstance(begin, int) and isinstance(end, int)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok or not 0 <= begin <= end <= size - start:
            raise bad(f"tensor {name!r} has a malformed entry")
        tensors[name] = _Tensor(dtype, tuple(shape), start + begin, start + end)
    return _Header(tensors, data.get("__metadata__"))


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
    a: Side,
    ea: FileEntry,
    ta: dict[str, _Tensor],
    b: Side,
    eb: FileEntry,
    tb: dict[str, _Tensor],
    names: Sequence[str],
) -> dict[str, tuple[float, float]]:
    """Max |b - a| and ||b - a|| / ||a|| of each named tensor, one tensor pair in memory."""
    try:
        import numpy as np
        from safetensors import safe_open
    except ImportError:
        raise UserError("--stats needs numpy: pip install numpy") from None
    result: dict[str, tuple[float, float]] = {}
    with a.local_path(ea) as pa, b.local_path(eb) as pb:

        def load(path: str, t: _Tensor, name: str) -> npt.NDArray[Any] | None:
            if t.dtype in _NUMPY_DTYPES:
                # A fresh mapping per tensor: safetensors maps the whole file, and every page
                # read through one long-lived mapping would stay in this process's RSS.
                with safe_open(path, framework="numpy") as f:
                    return f.get_tensor(name)  # type: ignore[no-any-return]
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
