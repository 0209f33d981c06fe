"""Versions holding files stored in chunks, made by hand (each piece put as a blob, the manifest
built from ``FileEntry(chunks=...)``), for the tests of every verb that reads them."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence

import numpy as np

from artstore.artifacts import ArtifactVersion, Store
from artstore.artifacts.manifest import Chunk, FileEntry, Manifest
from artstore.storage import Kind, hash_bytes
from tests.conftest import record_version

__all__ = ["Pieces", "chunked_entry", "log_chunked", "safetensors_pieces"]

#: A file given as its pieces: bytes, or (bytes, tensor name) for a piece of a tensor.
Pieces = Sequence[bytes | tuple[bytes, str | None]]


def chunked_entry(store: Store, path: str, pieces: Pieces) -> FileEntry:
    """Put each piece as a blob; the entry of the file they make (whole if one piece)."""
    chunks: list[Chunk] = []
    for piece in pieces:
        data, tensor = piece if isinstance(piece, tuple) else (piece, None)
        result = store.blobs.put_bytes(Kind.BLOB, data)
        chunks.append(Chunk(result.digest, len(data), tensor))
    whole = b"".join(p[0] if isinstance(p, tuple) else p for p in pieces)
    if len(chunks) == 1 and chunks[0].tensor is None:
        return FileEntry(path, hash_bytes(whole), len(whole))
    return FileEntry(path, hash_bytes(whole), len(whole), chunks=tuple(chunks))


def log_chunked(
    store: Store, name: str, files: Mapping[str, Pieces], *, type: str = "model"
) -> ArtifactVersion:
    """Record a version of ``name`` whose files are stored as the given pieces."""
    entries = [chunked_entry(store, path, pieces) for path, pieces in files.items()]
    manifest = Manifest.build(entries)
    digest = store.blobs.put_bytes(Kind.MANIFEST, manifest.encode()).digest
    store.blobs.sync()
    record_version(store, name, digest.hex, size=manifest.size, file_count=len(manifest), type=type)
    return store.artifact(f"{name}:latest")


def safetensors_pieces(
    tensors: Mapping[str, np.ndarray], split: int = 0
) -> list[tuple[bytes, str | None]]:
    """A safetensors file cut at tensor boundaries: the 8-byte length and header, then each
    tensor's bytes (cut further into pieces of ``split`` bytes when given)."""
    header: dict[str, object] = {}
    offset = 0
    datas = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        dtype = {"float32": "F32", "float64": "F64", "int64": "I64", "float16": "F16"}[
            str(array.dtype)
        ]
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        datas.append((name, data))
    raw = json.dumps(header).encode()
    pieces: list[tuple[bytes, str | None]] = [(struct.pack("<Q", len(raw)) + raw, None)]
    for name, data in datas:
        step = split or len(data)
        pieces.extend((data[i : i + step], name) for i in range(0, len(data), step))
    return [p for p in pieces if p[0]]
