"""``Run.config`` and ``Run.summary``: dicts that tell the run when they change."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from artstore.errors import InvalidValueError
from artstore.tracker.values import text_problem

__all__ = ["MAX_DEPTH", "Config", "Summary", "to_plain"]

# JSON nesting kept at most: deeper values would exhaust the recursion of JSON encoders.
MAX_DEPTH = 100


def to_plain(value: Any, where: str) -> Any:
    """JSON-ready form of a config value: dataclasses, Namespaces and mappings become dicts.

    Raises:
        InvalidValueError: the value cannot be stored as JSON: not a JSON type, nested deeper
            than ``MAX_DEPTH``, or a string with a NUL character or a lone surrogate.
    """
    return _plain(value, where, 1)


def _plain(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidValueError(f"{where}: nested deeper than {MAX_DEPTH} levels; flatten it")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, argparse.Namespace):
        value = vars(value)
    if isinstance(value, Mapping):
        return {
            _text(str(k), where): _plain(v, f"{where}.{k}", depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain(v, where, depth + 1) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", getattr(value, "numel", lambda: 0)) in (1,):
        value = item()
    if isinstance(value, str):
        return _text(value, where)
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"{where}: cannot store a {type(value).__name__} as JSON; use numbers, strings, "
            "lists or dicts"
        ) from None
    return value


def _text(text: str, where: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise InvalidValueError(f"{where}: the string {text[:40]!r} {problem}")
    return text


class _Notifying(MutableMapping[str, Any]):
    def __init__(self, on_change: Callable[[], None], what: str) -> None:
        self._data: dict[str, Any] = {}
        self._on_change = on_change
        self._what = what

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = to_plain(value, f"{self._what}[{key!r}]")
        self._on_change()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._on_change()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{self._what} has no key {name!r}") from None

    def as_dict(self) -> dict[str, Any]:
        """A plain copy."""
        return json.loads(json.dumps(self._data))  # type: ignore[no-any-return]

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the contents without notifying (used when a run resumes)."""
        self._data = dict(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Config(_Notifying):
    """A run's hyperparameters: ``run.config["lr"] = 1e-3``, ``run.config.update(args)``.

    Nested dicts, dataclasses and ``argparse.Namespace`` objects are accepted and stored as
    JSON; every change is persisted with the run.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change, "config")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Merge a mapping, dataclass or Namespace (and keyword arguments) into the config."""
        plain = to_plain(other, "config") if other != () else {}
        if not isinstance(plain, dict):
            raise InvalidValueError("config.update takes a mapping, dataclass or Namespace")
        plain.update(to_plain(kwargs, "config"))
        self._data.update(plain)
        self._on_change()


class Summary(_Notifying):
    """A run's final numbers: the last logged value of each key unless set or defined."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change, "summary")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Merge values into the summary."""
        plain = to_plain(dict(other) if other != () else {}, "summary")
        plain.update(to_plain(kwargs, "summary"))
        self._data.update(plain)
        self._on_change()

    def set_quietly(self, key: str, value: Any) -> None:
        """Set a value from ``log()``; the writer persists summaries with each flush."""
        self._data[key] = value
