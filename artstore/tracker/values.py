"""What ``Run.log`` keeps: numbers and short strings, converted once, refused otherwise (media
objects are told apart before, in ``Run.log``)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from artstore.errors import InvalidValueError

__all__ = [
    "MAX_KEY",
    "MAX_STEP",
    "MAX_TEXT",
    "check_key",
    "check_run_text",
    "summarise",
    "text_problem",
    "to_cell",
]

MAX_TEXT = 1024
# Keys are indexed: PostgreSQL refuses index entries over ~2,700 bytes, 4 per character at most.
MAX_KEY = 512
#: The highest step (and console sequence number): the catalog keeps them as signed 64-bit.
MAX_STEP = 2**63 - 1


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored in the catalog (NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode (it holds a lone surrogate)"
    return None


def check_run_text(what: str, text: object) -> None:
    """Refuse a run's name, notes, tag or project that the catalog's text columns cannot hold;
    anything but a string passes (its type is checked where it is used).

    Raises:
        InvalidValueError: a NUL character or a lone surrogate.
    """
    problem = text_problem(text) if isinstance(text, str) else None
    if problem is not None:
        raise InvalidValueError(f"run {what} {str(text)[:40]!r} {problem}")


def check_key(key: object) -> str:
    """Return ``key`` if it may name a metric.

    Raises:
        InvalidValueError: not a string, empty, longer than ``MAX_KEY``, or not storable.
    """
    if not isinstance(key, str):
        raise InvalidValueError(f"log keys must be strings, not {key!r}")
    problem = text_problem(key)
    if not key or len(key) > MAX_KEY:
        problem = f"must be 1-{MAX_KEY} characters"
    if problem is not None:
        raise InvalidValueError(f"log key {key[:60]!r} {problem}")
    return key


def to_cell(key: str, value: Any) -> tuple[float | None, str | None]:
    """Convert one logged value to (number, text), exactly one of them set.

    Accepts int, float, bool, numpy scalars, zero-dimensional arrays and tensors (anything with
    ``.item()`` and one element) and strings up to ``MAX_TEXT`` characters. NaN and infinities
    are numbers like any other.

    Raises:
        InvalidValueError: anything else (a number beyond the float range, a string with a NUL
            character), naming ``key``.
    """
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, numbers.Real):
        try:
            return float(value), None
        except (OverflowError, ValueError, TypeError):
            raise InvalidValueError(
                f"log key {key!r}: {type(value).__name__} {str(value)[:40]} is beyond the range "
                "of a float; log it as a string or scale it"
            ) from None
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise InvalidValueError(
                f"log key {key!r}: strings are kept up to {MAX_TEXT} characters "
                f"(got {len(value)}); log long text as an artifact file"
            )
        problem = text_problem(value)
        if problem is not None:
            raise InvalidValueError(f"log key {key!r}: the string {problem}")
        return None, value
    item = getattr(value, "item", None)
    size = getattr(value, "size", None)
    numel = getattr(value, "numel", None)
    count = size if isinstance(size, int) else (numel() if callable(numel) else None)
    if callable(item) and count == 1:
        inner = item()
        if type(inner) is not type(value):  # an item() that returns its own kind never ends
            return to_cell(key, inner)
    raise InvalidValueError(
        f"log key {key!r}: cannot keep a {type(value).__name__}; log numbers, short strings or "
        "media (artstore.Image, Table, Histogram, Audio, Video, Object3D, Html, plot.*; a list "
        "of one of them); log other arrays as artifact files"
    )


def summarise(kind: str, previous: float | None, count: int, value: float) -> float:
    """Fold ``value`` into a summary of ``kind`` (min, max, mean, last)."""
    if previous is None or (isinstance(previous, float) and math.isnan(previous)):
        return value
    if kind == "min":
        return min(previous, value)
    if kind == "max":
        return max(previous, value)
    if kind == "mean":
        return previous + (value - previous) / count
    return value
