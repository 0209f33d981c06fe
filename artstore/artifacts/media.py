"""The typed references a run's history holds for logged media, and the rules of their shape.

A reference is a small JSON object with a ``_type``. The bytes it names are one
content-addressed blob (``digest``, ``size``, ``format``); a histogram is small enough to be
held inline instead; a gallery lists references of one type. The tracker writes references,
the spool reader and the catalog's readers check and read them through this module alone
(the shapes are in docs/format.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from artstore.errors import InvalidNameError, InvalidValueError
from artstore.storage import Digest

__all__ = [
    "MAX_BINS",
    "MAX_GALLERY",
    "MAX_SIDE",
    "MEDIA_FORMATS",
    "MEDIA_TYPES",
    "blobs_of",
    "check_reference",
    "describe",
]

#: The widest or tallest image kept, in pixels.
MAX_SIDE = 2**15
#: Histogram bins at most (as W&B's ``Histogram``).
MAX_BINS = 512
#: Items of one gallery (a list of media logged under one key) at most.
MAX_GALLERY = 1000
_MAX_TEXT = 1024
_MAX_COUNT = 2**63 - 1

#: The ``format`` each blob-backed type may have.
MEDIA_FORMATS: dict[str, tuple[str, ...]] = {
    "image": ("png", "jpeg", "gif"),
    "table": ("json",),
    "audio": ("wav", "mp3", "ogg", "flac"),
    "video": ("mp4", "webm", "gif", "ogg"),
    "object3d": ("obj", "gltf", "glb", "babylon", "stl", "pts.json"),
    "html": ("html",),
}
MEDIA_TYPES = (*MEDIA_FORMATS, "histogram", "gallery")
_BLOB_FIELDS = ("_type", "digest", "size", "format")


def _fail(problem: str) -> InvalidValueError:
    return InvalidValueError(f"media reference {problem}")


def _int_in(value: Any, low: int, high: int, name: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _fail(f"{name} {str(value)[:40]!r} is not a whole number from {low} to {high}")
    return value


def _caption(value: Any, name: str = "caption") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT or "\x00" in value:
        raise _fail(f"{name} is not text of up to {_MAX_TEXT} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(f"{name} is not valid Unicode") from None
    return value


def _names(value: Any, most: int) -> list[str]:
    if type(value) is not list or len(value) > most:
        raise _fail(f"columns is not a list of up to {most} names")
    for name in value:
        if _caption(name, "a column name") is None:
            raise _fail("a column name is not text")
    return value


def _chart(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict or not 1 <= len(value) <= 16 or "type" not in value:
        raise _fail("chart is not an object with a type and up to 15 fields")
    for name, field in value.items():
        _caption(name, "a chart field")
        if type(field) is list:
            _names(field, 1000)
        else:
            _caption(field, f"chart field {name[:40]!r}")
    return value


def _image(ref: dict[str, Any]) -> set[str]:
    for side in ("width", "height"):
        if ref.get(side) is not None or ref["format"] == "png":
            _int_in(ref.get(side), 1, MAX_SIDE, side)
    _caption(ref.get("caption"))
    return {"width", "height", "caption"}


def _table(ref: dict[str, Any]) -> set[str]:
    _names(ref.get("columns"), 10_000)
    _int_in(ref.get("rows"), 0, _MAX_COUNT, "rows")
    _chart(ref.get("chart"))
    return {"columns", "rows", "chart"}


def _audio(ref: dict[str, Any]) -> set[str]:
    if ref.get("sample_rate") is not None:
        _int_in(ref["sample_rate"], 1, 2**31 - 1, "sample_rate")
    _caption(ref.get("caption"))
    return {"sample_rate", "caption"}


def _captioned(ref: dict[str, Any]) -> set[str]:
    _caption(ref.get("caption"))
    return {"caption"}


def _histogram(ref: dict[str, Any]) -> set[str]:
    bins, values = ref.get("bins"), ref.get("values")
    if type(values) is not list or not 1 <= len(values) <= MAX_BINS:
        raise _fail(f"values is not a list of 1-{MAX_BINS} counts")
    for count in values:
        _int_in(count, 0, _MAX_COUNT, "a count")
    if type(bins) is not list or len(bins) != len(values) + 1:
        raise _fail("bins is not a list of one edge more than its counts")
    for edge in bins:
        if type(edge) not in (int, float) or not math.isfinite(edge):
            raise _fail(f"bin edge {str(edge)[:40]!r} is not a finite number")
    if any(a > b for a, b in itertools.pairwise(bins)):
        raise _fail("bins are not in increasing order")
    return {"bins", "values"}


_EXTRA: dict[str, Callable[[dict[str, Any]], set[str]]] = {
    "image": _image,
    "table": _table,
    "audio": _audio,
    "video": _captioned,
    "object3d": _captioned,
    "html": _captioned,
}


def check_reference(value: Any, *, nested: bool = False) -> dict[str, Any]:
    """Return ``value`` if it is a media reference as artstore writes it.

    Raises:
        InvalidValueError: not an object, an unknown ``_type``, a missing, extra or
            out-of-range field, or (``nested``) a gallery inside a gallery.
    """
    if type(value) is not dict:
        raise _fail(f"{str(value)[:40]!r} is not an object")
    kind = value.get("_type")
    if kind not in MEDIA_TYPES or (nested and kind == "gallery"):
        raise _fail(f"_type {str(kind)[:40]!r} is not one of {', '.join(MEDIA_TYPES)}")
    if kind == "histogram":
        allowed = {"_type", *_histogram(value)}
    elif kind == "gallery":
        items = value.get("items")
        if type(items) is not list or not 1 <= len(items) <= MAX_GALLERY:
            raise _fail(f"items is not a list of 1-{MAX_GALLERY} references")
        kinds = {check_reference(item, nested=True)["_type"] for item in items}
        if len(kinds) != 1:
            raise _fail("items are not all of one type")
        allowed = {"_type", "items"}
    else:
        try:
            Digest.parse(value.get("digest"))  # type: ignore[arg-type]
        except InvalidNameError:
            raise _fail("digest is not 32 lowercase hex digits") from None
        _int_in(value.get("size"), 0, _MAX_COUNT, "size")
        if value.get("format") not in MEDIA_FORMATS[kind]:
            shown = ", ".join(MEDIA_FORMATS[kind])
            raise _fail(f"format {str(value.get('format'))[:40]!r} of a {kind} is not {shown}")
        allowed = {*_BLOB_FIELDS, *_EXTRA[kind](value)}
    extra = sorted(value.keys() - allowed, key=str)
    if extra:
        raise _fail(f"field {str(extra[0])[:40]!r} is not a field of a {kind}")
    return value


def blobs_of(ref: dict[str, Any]) -> list[tuple[str, int]]:
    """The (digest, size) of every blob a checked reference names, in order."""
    if ref["_type"] == "gallery":
        return [blob for item in ref["items"] for blob in blobs_of(item)]
    if ref["_type"] == "histogram":
        return []
    return [(ref["digest"], ref["size"])]


def describe(ref: dict[str, Any]) -> str:
    """A short label for a reference: ``<image 32x32>``, ``<table 3x10>``, ``<histogram 64
    bins>``, ``<gallery 4 image>``."""
    kind = ref.get("_type")
    if kind == "image" and ref.get("width"):
        return f"<image {ref['width']}x{ref['height']}>"
    if kind == "table":
        return f"<table {len(ref.get('columns') or [])}x{ref.get('rows')}>"
    if kind == "histogram":
        return f"<histogram {len(ref.get('values') or [])} bins>"
    if kind == "gallery":
        items = ref.get("items") or [{}]
        return f"<gallery {len(items)} {items[0].get('_type')}>"
    return f"<{kind}>"
