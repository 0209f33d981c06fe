"""Where each kind of object lives inside a store root. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum

from artstore.errors import InvalidNameError
from artstore.storage.digest import Digest

__all__ = [
    "MARKER_FILE",
    "QUARANTINE_DIR",
    "SETTINGS_FILE",
    "TMP_DIR",
    "Kind",
    "key_for",
    "parse_key",
]

MARKER_FILE = "artstore.json"
SETTINGS_FILE = "artstore.yaml"
TMP_DIR = "tmp"
QUARANTINE_DIR = "quarantine"


class Kind(StrEnum):
    """The immutable, content-named object kinds and the folder each lives in."""

    BLOB = "blobs"
    MANIFEST = "manifests"


_KINDS = frozenset(kind.value for kind in Kind)


def key_for(kind: Kind, digest: Digest) -> str:
    """The key of an object relative to the store root: ``blobs/ab/<30 hex>``."""
    return f"{kind.value}/{digest.hex[:2]}/{digest.hex[2:]}"


def parse_key(key: str) -> tuple[Kind, Digest]:
    """Invert :func:`key_for`.

    Raises:
        InvalidNameError: the key is not shaped like an object key (a ``ValueError``).
    """
    parts = key.strip("/").split("/")
    if len(parts) != 3 or len(parts[1]) != 2 or parts[0] not in _KINDS:
        raise InvalidNameError(f"not an object key: {key[:80]!r}")
    return Kind(parts[0]), Digest.parse(parts[1] + parts[2])
