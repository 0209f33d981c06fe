"""What each kind of filesystem can promise, as flags rather than protocol checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Backend", "backend_for"]


@dataclass(frozen=True, slots=True)
class Backend:
    """Properties of a filesystem that change how objects are written.

    Attributes:
        protocol: fsspec's first protocol name for the filesystem.
        local: paths are operating-system paths (same-folder rename, fsync, stat).
    """

    protocol: str
    local: bool


def backend_for(fs: Any) -> Backend:
    """The properties of an fsspec filesystem instance."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    first = protocols[0]
    return Backend(
        protocol=first,
        local="file" in protocols or "local" in protocols,
    )
