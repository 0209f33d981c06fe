"""The store marker ``artstore.json``, the format versions this code reads, canonical JSON."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from artstore.errors import UnsupportedFormatError
from artstore.storage.digest import HASH_NAME

__all__ = [
    "FORMAT_CURRENT",
    "FORMAT_MAX",
    "FORMAT_MIN",
    "MANIFEST_FORMAT_MAX",
    "StoreFormat",
    "canonical_json",
    "parse_format",
    "parse_manifest_format",
    "parse_marker",
]

FORMAT_MIN = 1
FORMAT_MAX = 1
FORMAT_CURRENT: Literal[1] = 1
#: Manifests holding a chunked file are format 2, so that a reader of format 1 alone refuses
#: them by name instead of taking a file's digest for a blob; all others stay format 1 and keep
#: their digests.
MANIFEST_FORMAT_MAX = 2
# The id keys per-user caches, so it must be a safe file name: what artstore writes.
_STORE_ID = re.compile(r"[0-9a-f]{32}")


def canonical_json(obj: Any) -> bytes:
    """The one JSON encoding of every file artstore names by its digest."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_format(data: object, where: str) -> Literal[1]:
    """Narrow a store marker's ``format`` field to a version this code reads.

    Raises:
        UnsupportedFormatError: the field is missing or names another version.
    """
    _check_format(data, where, FORMAT_MAX)
    return 1


def parse_manifest_format(data: object, where: str) -> Literal[1, 2]:
    """Narrow a manifest's ``format`` field to a version this code reads.

    Raises:
        UnsupportedFormatError: the field is missing or names another version.
    """
    _check_format(data, where, MANIFEST_FORMAT_MAX)
    return 1 if data == 1 else 2


def _check_format(data: object, where: str, newest: int) -> None:
    # Exactly the integer: 1.0, true and "1" compare or convert equal, but no artstore
    # writes them, so a document holding one was made by hand or by another tool.
    if type(data) is int and FORMAT_MIN <= data <= newest:
        return
    if type(data) is int and data > newest:
        raise UnsupportedFormatError(
            f"{where} has format {data}; this artstore reads formats "
            f"{FORMAT_MIN}-{newest}: upgrade artstore"
        )
    raise UnsupportedFormatError(
        f"{where} has format {data!r}; this artstore reads formats {FORMAT_MIN}-{newest}"
    )


@dataclass(frozen=True, slots=True)
class StoreFormat:
    """The contents of ``artstore.json``: written once when the store is created."""

    format: Literal[1]
    hash: str
    id: str
    created: str
    fanout: int = 2

    @classmethod
    def new(cls) -> StoreFormat:
        """A marker for a store created now, with a fresh random id."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(format=FORMAT_CURRENT, hash=HASH_NAME, id=secrets.token_hex(16), created=now)

    def encode(self) -> bytes:
        """Canonical JSON bytes of the marker."""
        return canonical_json(
            {
                "created": self.created,
                "fanout": self.fanout,
                "format": self.format,
                "hash": self.hash,
                "id": self.id,
            }
        )


def parse_marker(raw: bytes, where: str) -> StoreFormat:
    """Parse and check ``artstore.json``.

    Raises:
        UnsupportedFormatError: not a marker this code can read.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, an integer too long to read
        raise UnsupportedFormatError(f"{where}/artstore.json is not valid JSON") from None
    if not isinstance(data, dict):
        raise UnsupportedFormatError(f"{where}/artstore.json is not a JSON object")
    fmt = parse_format(data.get("format"), where)
    if data.get("hash") != HASH_NAME:
        raise UnsupportedFormatError(
            f"{where} hashes with {data.get('hash')!r}; this artstore reads {HASH_NAME} stores"
        )
    store_id, created, fanout = data.get("id"), data.get("created"), data.get("fanout", 2)
    if (
        not isinstance(store_id, str)
        or not _STORE_ID.fullmatch(store_id)
        or not isinstance(created, str)
        or type(fanout) is not int
        or fanout != 2
    ):
        raise UnsupportedFormatError(f"{where}/artstore.json lacks a valid id, created or fanout")
    return StoreFormat(format=fmt, hash=HASH_NAME, id=store_id, created=created, fanout=fanout)
