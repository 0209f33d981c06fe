"""Content digests: xxh3-128 of a file's bytes, as 32 lowercase hex characters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import xxhash

from artstore.errors import InvalidNameError

__all__ = ["CHUNK_SIZE", "HASH_NAME", "Digest", "Hasher", "hash_bytes", "hash_file", "hash_stream"]

HASH_NAME = "xxh3-128"
# Large enough that per-call overhead vanishes, small enough that memory stays flat.
CHUNK_SIZE = 8 * 1024 * 1024
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Digest:
    """The xxh3-128 digest of some bytes. ``str(d)`` is the 32-hex form."""

    hex: str

    def __post_init__(self) -> None:
        if not isinstance(self.hex, str) or not _HEX32.fullmatch(self.hex):
            shown = repr(self.hex)
            shown = shown if len(shown) <= 80 else f"{shown[:60]}... ({len(shown)} characters)"
            raise InvalidNameError(f"not an xxh3-128 digest (32 lowercase hex characters): {shown}")

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Validate ``text`` as a digest.

        Raises:
            InvalidNameError: ``text`` is not 32 lowercase hex characters (a ``ValueError``).
        """
        return cls(text)

    @classmethod
    def trusted(cls, text: str) -> Digest:
        """A digest from artstore's own records, without validating it again."""
        digest = object.__new__(cls)
        object.__setattr__(digest, "hex", text)
        return digest

    @property
    def short(self) -> str:
        """The first 8 hex characters, for tables."""
        return self.hex[:8]

    def __str__(self) -> str:
        return self.hex


class Hasher:
    """Incremental xxh3-128, for hashing a stream while it is copied."""

    __slots__ = ("_state", "size")

    def __init__(self) -> None:
        self._state = xxhash.xxh3_128()
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes of the content."""
        self._state.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        """The digest of everything fed so far."""
        return Digest.trusted(self._state.hexdigest())


def hash_bytes(data: bytes | memoryview) -> Digest:
    """The digest of ``data``."""
    return Digest.trusted(xxhash.xxh3_128_hexdigest(data))


def hash_stream(stream: BinaryIO, buffer: bytearray | None = None) -> tuple[Digest, int]:
    """Hash a binary stream to its end in fixed-size chunks; return (digest, size)."""
    buf = buffer if buffer is not None else bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    hasher = Hasher()
    while n := stream.readinto(view):  # type: ignore[attr-defined]
        hasher.update(view[:n])
    return hasher.digest(), hasher.size


def hash_file(path: str | Path, buffer: bytearray | None = None) -> tuple[Digest, int]:
    """Hash a local file in fixed-size chunks; return (digest, size)."""
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f, buffer)
