"""Runs as W&B's public API returns them: ``ApiRun`` (one run) and ``Runs`` (a query's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, overload

from artstore.api.history import HistoryScan, check_keys, sample_indices
from artstore.artifacts.runs import pandas_module
from artstore.errors import InvalidArgumentError

if TYPE_CHECKING:
    from artstore.artifacts import ArtifactVersion, Repository, RunInfo
    from artstore.artifacts.runs import RunFileInfo

__all__ = ["ApiRun", "ReadOnlyDict", "ReadOnlyList", "Runs"]


def _refuse(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise InvalidArgumentError(
        "a run read through Api() is read-only; change its config or summary in the run "
        "itself: artstore.init(id=..., resume='allow') continues it"
    )


class ReadOnlyDict(dict[str, Any]):
    """A run's config or summary as read back: a dict that refuses changes.

    W&B's public run takes edits and stores them on ``run.update()``; here a run is changed
    only by the process that runs it, so an edit is refused rather than kept in memory and
    lost. Every dict and list inside is read-only too, and still equal to a plain one. A copy
    (``copy.deepcopy``, ``pickle``) is a plain dict of plain lists, free to edit.
    """

    @classmethod
    def frozen(cls, value: dict[str, Any]) -> ReadOnlyDict:
        """``value`` with it and every dict and list inside it read-only."""
        return cls({k: _freeze(v) for k, v in value.items()})

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return (dict, (_thaw(self),))

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = setdefault = clear = _refuse


class ReadOnlyList(list[Any]):
    """A list inside a read-back config or summary: equal to the list stored, refusing changes."""

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return (list, (_thaw(self),))

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return ReadOnlyDict.frozen(value)
    if isinstance(value, list):
        return ReadOnlyList(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    return value


class ApiRun:
    """One run as ``Api().run()`` and ``Api().runs()`` return it, named as W&B names it.

    ``entity`` is the entity the run was started for (``init(entity=)``), None if none was
    given. There is no ``url``'s web page: it is None, and ``art runs show ID`` shows the run.
    """

    def __init__(self, info: RunInfo, repo: Repository) -> None:
        self._info = info
        self._runs = repo.catalog.runs

    @property
    def info(self) -> RunInfo:
        """The run as artstore's own API reads it (console, lineage, ...)."""
        return self._info

    id = property(lambda self: self._info.id, doc="The run id.")
    name = property(lambda self: self._info.name, doc="The run's name (W&B's display name).")
    display_name = name
    project = property(lambda self: self._info.project, doc="The project.")
    entity = property(lambda self: self._info.record.entity, doc="The entity, or None.")
    state = property(lambda self: self._info.state, doc="running, finished, failed or crashed.")
    notes = property(lambda self: self._info.record.notes, doc="The run's notes, or None.")
    user = property(lambda self: self._info.record.user, doc="Who ran it (user name).")
    tags = property(lambda self: self._info.tags, doc="Tags (a new list each time).")
    url = property(lambda self: None, doc="Always None: no web page shows a run here.")

    @cached_property
    def config(self) -> ReadOnlyDict:
        """Hyperparameters (read-only), made on first use: a query's runs that are only
        listed never copy theirs."""
        return ReadOnlyDict.frozen(self._info.record.config)

    @cached_property
    def summary(self) -> ReadOnlyDict:
        """Final numbers (read-only), made on first use."""
        return ReadOnlyDict.frozen(self._info.record.summary)

    @property
    def created_at(self) -> str:
        """When the run started: ISO 8601 UTC text, as W&B gives it."""
        return self._info.record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def path(self) -> list[str]:
        """``[entity, project, id]``, or ``[project, id]`` for a run without an entity: its
        ``"/".join`` is a path ``Api().run()`` takes."""
        head = [self.entity] if self.entity else []
        return [*head, self.project, self.id]

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        """The highest step logged, -1 before the first."""
        step = self._runs.max_step(self.id)
        return -1 if step is None else step

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """At most ``samples`` rows of the run's history, evenly spaced (the first and last
        kept), as a pandas DataFrame, or a list of dicts with ``pandas=False``.

        With ``keys``, a row holds ``x_axis`` and those keys, and only steps that logged all
        of them have one.

        Raises:
            ConfigError: ``pandas=True`` but pandas is not installed.
            InvalidArgumentError: ``samples`` below 1, ``keys`` not a list of names, or
                ``stream="system"`` (no machine metrics are kept).
            NotFoundError: the run no longer exists.
        """
        wanted = check_keys(keys)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidArgumentError(f"samples is a whole number from 1, not {samples!r}")
        if stream != "default":
            raise InvalidArgumentError(
                f"stream={stream!r}: artstore keeps no machine metrics; use stream='default'"
            )
        frame = pandas_module("history()", "history(pandas=False)") if pandas else None
        columns = None if wanted is None else [x_axis, *wanted]
        # A count, then one scan holding one page at a time: a long run is never held whole.
        metrics = None if columns is None else [k for k in columns if k != "_step"]
        count = self._runs.step_count(self.id, metrics)
        kept = set(sample_indices(count, samples))
        rows = [row for i, row in enumerate(self.scan_history(keys=columns)) if i in kept]
        return rows if frame is None else frame.DataFrame.from_records(rows)

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> HistoryScan:
        """Every history row of steps ``min_step`` (None: the first) to ``max_step``
        (exclusive; None: the last), by step, read ``page_size`` steps at a time (``use_cache``
        is W&B's and has no effect here).

        With ``keys``, a row holds ``_step`` and those keys, and only steps that logged all
        of them have one.

        Raises:
            InvalidArgumentError: ``keys`` not a list of names, or a step bound or page size
                that is not a whole number (a page size from 1).
        """
        if min_step is None:  # W&B's default
            min_step = 0
        for what, value, low in (("page_size", page_size, 1), ("min_step", min_step, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"{what} is a whole number from {low}, not {value!r}")
        if max_step is not None and (isinstance(max_step, bool) or not isinstance(max_step, int)):
            raise InvalidArgumentError(f"max_step is a whole number or None, not {max_step!r}")
        return HistoryScan(self._runs, self.id, check_keys(keys), page_size, min_step, max_step)

    def logged_artifacts(self, per_page: int = 100) -> list[ArtifactVersion]:
        """The versions this run logged, in order."""
        return self._info.produced()

    def used_artifacts(self, per_page: int = 100) -> list[ArtifactVersion]:
        """The versions this run used, in order."""
        return self._info.used()

    def files(
        self, names: list[str] | None = None, pattern: str | None = None, per_page: int = 50
    ) -> list[RunFileInfo]:
        """The files kept with the run (``run.save``), sorted by name: only ``names`` when
        given, or those matching ``pattern`` (W&B's SQL ``LIKE``: ``%`` any text, ``_`` one
        character).

        Raises:
            InvalidArgumentError: both ``names`` and ``pattern``, or either not text.
        """
        if names and pattern is not None:
            raise InvalidArgumentError("files() takes names or pattern, not both")
        if names:
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise InvalidArgumentError(f"names is a list of file names, not {names!r}")
            return [f for f in self._info.files() if f.name in set(names)]
        if pattern is None:
            return self._info.files()
        if not isinstance(pattern, str):
            raise InvalidArgumentError(f"pattern is text, not {type(pattern).__name__}")
        like = re.compile(
            "".join({"%": ".*", "_": "."}.get(c, re.escape(c)) for c in pattern), re.DOTALL
        )
        return [f for f in self._info.files() if like.fullmatch(f.name)]

    def file(self, name: str) -> RunFileInfo:
        """One file kept with the run: ``run.file("model.pt").download(root=".")``.

        Raises:
            NotFoundError: the run kept no file of that name.
            InvalidArgumentError: ``name`` is not text.
        """
        return self._info.file(name)

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"


class Runs(Sequence[ApiRun]):
    """The runs of an ``Api().runs()`` query: a sequence, read on first use."""

    def __init__(self, load: Callable[[], Iterable[ApiRun]], description: str) -> None:
        self._load = load
        self._runs: list[ApiRun] | None = None
        self._description = description

    def _all(self) -> list[ApiRun]:
        if self._runs is None:
            self._runs = list(self._load())
        return self._runs

    @overload
    def __getitem__(self, index: int) -> ApiRun: ...
    @overload
    def __getitem__(self, index: slice) -> list[ApiRun]: ...
    def __getitem__(self, index: int | slice) -> ApiRun | list[ApiRun]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[ApiRun]:
        return iter(self._all())

    def __repr__(self) -> str:
        return f"<Runs {self._description}>"
