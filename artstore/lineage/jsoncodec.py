"""How JSON columns (config, summary, tags, metadata) hold what JSON cannot: NaN and ±infinity.

PostgreSQL's ``json`` type refuses the ``NaN`` and ``Infinity`` tokens Python writes, and a
value read back must be the value written on every database. So a non-finite float is stored
as a tagged object, ``{"$float": "NaN"}``, ``{"$float": "Infinity"}`` or
``{"$float": "-Infinity"}``, and decoded on read. A user's own object whose only key is
``$float`` or ``$dict`` is escaped as ``{"$dict": [[key, value]]}``, so it reads back as itself.
Values written before this encoding (the bare tokens, on SQLite) still read back as floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "loads"]

_FLOAT = "$float"
_DICT = "$dict"
_TAGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value: Any) -> str:
    """JSON text of a column value; non-finite floats tagged, tag-shaped objects escaped."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:  # a non-finite float somewhere
        return json.dumps(_tagged(value), allow_nan=False)
    if _FLOAT in text or _DICT in text:
        return json.dumps(_tagged(value), allow_nan=False)
    return text


def loads(text: str | bytes) -> Any:
    """The value :func:`dumps` wrote (or a plain JSON document)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if _FLOAT in text or _DICT in text:
        return json.loads(text, object_hook=_untag)
    return json.loads(text)


def _tagged(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT: "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, dict):
        items = {k: _tagged(v) for k, v in value.items()}
        if len(items) == 1 and next(iter(items)) in (_FLOAT, _DICT):
            return {_DICT: [[k, v] for k, v in items.items()]}
        return items
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    return value


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) != 1:
        return obj
    key, inner = next(iter(obj.items()))
    if key == _FLOAT and isinstance(inner, str) and inner in _TAGS:
        return _TAGS[inner]
    if key == _DICT and isinstance(inner, list) and all(_is_pair(p) for p in inner):
        return {k: v for k, v in inner}
    return obj


def _is_pair(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
