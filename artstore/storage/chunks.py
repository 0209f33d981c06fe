"""Chunks: the pieces a large file is stored in, one blob each."""

from __future__ import annotations

from dataclasses import dataclass

from artstore.storage.digest import Digest

__all__ = ["Chunk"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a file stored as several blobs: the blob's digest and size, and, for a
    safetensors file cut at tensor boundaries, the tensor whose bytes the piece holds (None for
    the header and for pieces cut by content)."""

    digest: Digest
    size: int
    tensor: str | None = None
