"""``Run.config`` and ``Run.summary``: dicts that tell the run when they change."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from artstore.errors import InvalidValueError, RunStateError
from artstore.tracker.values import text_problem

__all__ = ["MAX_DEPTH", "Config", "Summary", "to_plain", "unstarted"]

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
        # Why changes are refused (the run is finished, or none was started); None: open.
        self._closed: str | None = None

    def close(self, why: str) -> None:
        """Refuse every later change with ``RunStateError(why)``; reads still work."""
        self._closed = why

    def _check_open(self) -> None:
        if self._closed is not None:
            raise RunStateError(self._closed)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_open()
        self._data[key] = self._checked(key, to_plain(value, f"{self._what}[{key!r}]"))
        self._on_change()

    def __setattr__(self, name: str, value: Any) -> None:
        # ``run.config.dropout = 0.2`` is ``run.config["dropout"] = 0.2``, as in W&B: an
        # attribute of its own would read back in this process and never be stored.
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{self._what} has no key {name!r}") from None

    def _checked(self, key: str, value: Any) -> Any:
        """The value to keep under ``key`` (a subclass may refuse it)."""
        return value

    def __delitem__(self, key: str) -> None:
        self._check_open()
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
            why = f"; {self._closed}" if self._closed is not None and not self._data else ""
            raise AttributeError(f"{self._what} has no key {name!r}{why}") from None

    def as_dict(self) -> dict[str, Any]:
        """A plain copy."""
        return json.loads(json.dumps(self._data))  # type: ignore[no-any-return]

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the contents without notifying (used when a run resumes)."""
        self._data = dict(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Config(_Notifying):
    """A run's hyperparameters: ``run.config["lr"] = 1e-3``, ``run.config.lr = 1e-3``,
    ``run.config.update(args)``.

    Nested dicts, dataclasses and ``argparse.Namespace`` objects are accepted and stored as
    JSON; every change is persisted with the run. As in W&B, a key keeps its first value: a
    different value is refused unless ``allow_val_change`` is given to ``update`` (or to
    ``init``, for every change of the run).
    """

    def __init__(self, on_change: Callable[[], None], *, allow_val_change: bool = False) -> None:
        super().__init__(on_change, "config")
        self._allow_val_change = allow_val_change

    def _checked(self, key: str, value: Any, allow: bool | None = None) -> Any:
        if allow or (allow is None and self._allow_val_change):
            return value
        if key in self._data and self._data[key] != value:
            raise InvalidValueError(
                f"config[{key!r}] is already {str(self._data[key])[:40]}, not "
                f"{str(value)[:40]}; pass allow_val_change=True to config.update() or "
                "init() to change it"
            )
        return value

    def update(
        self, other: Any = (), /, allow_val_change: bool | None = None, **kwargs: Any
    ) -> None:
        """Merge a mapping, dataclass or Namespace (and keyword arguments) into the config.

        Raises:
            InvalidValueError: a value cannot be stored as JSON, or changes a key's value
                without ``allow_val_change`` (nothing is changed).
            RunStateError: the run is finished, or none was started.
        """
        self._check_open()
        plain = to_plain(other, "config") if other != () else {}
        if not isinstance(plain, dict):
            raise InvalidValueError("config.update takes a mapping, dataclass or Namespace")
        plain.update(to_plain(kwargs, "config"))
        for key, value in plain.items():
            self._checked(key, value, allow_val_change)
        self._data.update(plain)
        self._on_change()

    def setdefaults(self, other: Any) -> None:
        """Add the keys of ``other`` that the config does not hold yet (W&B's ``setdefaults``).

        Raises:
            InvalidValueError: a value cannot be stored as JSON.
            RunStateError: the run is finished, or none was started.
        """
        self._check_open()
        plain = to_plain(other, "config")
        if not isinstance(plain, dict):
            raise InvalidValueError("config.setdefaults takes a mapping, dataclass or Namespace")
        self._data.update({k: v for k, v in plain.items() if k not in self._data})
        self._on_change()


class Summary(_Notifying):
    """A run's final numbers: the last logged value of each key unless set or defined."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change, "summary")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Merge values into the summary.

        Raises:
            InvalidValueError: a value cannot be stored as JSON.
            RunStateError: the run is finished, or none was started.
        """
        self._check_open()
        plain = to_plain(dict(other) if other != () else {}, "summary")
        plain.update(to_plain(kwargs, "summary"))
        self._data.update(plain)
        self._on_change()

    def set_quietly(self, key: str, value: Any) -> None:
        """Set a value from ``log()``; the writer persists summaries with each flush."""
        self._data[key] = value


def unstarted(what: str) -> Config | Summary:
    """``artstore.config`` or ``artstore.summary`` when no run is active: empty, and every
    change refused (W&B raises there too; a value kept for no run would be lost, or land in a
    later run).
    """
    mapping: Config | Summary = Config(_nothing) if what == "config" else Summary(_nothing)
    mapping.close(f"no run is active; call artstore.init() before setting artstore.{what}")
    return mapping


def _nothing() -> None:
    return None
