"""What ``Run.log`` keeps: numbers and short strings, converted once, refused otherwise."""

from __future__ import annotations

import math
import numbers
from typing import Any

from artstore.errors import InvalidValueError

__all__ = ["MAX_TEXT", "to_cell"]

MAX_TEXT = 1024


def to_cell(key: str, value: Any) -> tuple[float | None, str | None]:
    """Convert one logged value to (number, text), exactly one of them set.

    Accepts int, float, bool, numpy scalars, zero-dimensional arrays and tensors (anything with
    ``.item()`` and one element) and strings up to ``MAX_TEXT`` characters.

    Raises:
        InvalidValueError: anything else, naming ``key``.
    """
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, numbers.Real):
        return float(value), None
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise InvalidValueError(
                f"log key {key!r}: strings are kept up to {MAX_TEXT} characters "
                f"(got {len(value)}); log long text as an artifact file"
            )
        return None, value
    item = getattr(value, "item", None)
    size = getattr(value, "size", None)
    numel = getattr(value, "numel", None)
    count = size if isinstance(size, int) else (numel() if callable(numel) else None)
    if callable(item) and count == 1:
        return to_cell(key, item())
    raise InvalidValueError(
        f"log key {key!r}: cannot keep a {type(value).__name__}; log numbers or short strings "
        "(log arrays, images and tables as artifact files)"
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
