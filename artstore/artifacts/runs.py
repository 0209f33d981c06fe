"""Read-only run queries: ``list_runs``, ``get_run`` and ``RunInfo`` (the tracker writes
runs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from artstore.artifacts.download import materialize
from artstore.artifacts.lookup import get_version
from artstore.artifacts.manifest import FileEntry
from artstore.artifacts.media import check_reference, describe
from artstore.artifacts.names import check_run_id
from artstore.errors import (
    ConfigError,
    FileAccessError,
    InvalidArgumentError,
    NotFoundError,
    UserError,
)
from artstore.lineage import RunAlert, RunFile, RunRecord
from artstore.storage import Digest, Kind

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.artifacts.version import ArtifactVersion
    from artstore.lineage.dashboard import ConsoleLine
    from artstore.lineage.series import Series, XAxis

__all__ = [
    "LOGICAL_OPERATORS",
    "RunFileInfo",
    "RunInfo",
    "RunMediaInfo",
    "get_run",
    "list_runs",
    "matches",
    "pandas_module",
    "parse_filters",
    "run_value",
]


def _regex(actual: Any, pattern: Any) -> bool:
    if not isinstance(pattern, str):
        raise UserError(f"$regex takes a regular expression as text, not {pattern!r}")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise UserError(f"invalid $regex {pattern[:80]!r}: {error}") from None
    return isinstance(actual, str) and compiled.search(actual) is not None


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: a in b,
    "$nin": lambda a, b: a not in b,
    "$exists": lambda a, b: (a is not None) == bool(b),
    "$regex": _regex,
}
_COMBINE: dict[str, Callable[[Iterator[bool]], bool]] = {
    "$and": all,
    "$or": any,
    "$nor": lambda found: not any(found),
}
#: The filter keys that combine a list of filters.
LOGICAL_OPERATORS = tuple(_COMBINE)


class RunInfo:
    """One tracked run, as ``Store.runs()`` and ``Store.run()`` return it.

    Its history, console output and the versions it used or produced are read from the
    repository it came from when asked.
    """

    def __init__(self, record: RunRecord, repo: Repository) -> None:
        self.record = record
        self._repo = repo

    id = property(lambda self: self.record.id, doc="The run id.")
    project = property(lambda self: self.record.project, doc="The project.")
    name = property(lambda self: self.record.name, doc="The run's name.")
    state = property(lambda self: self.record.status, doc="running, finished, failed or crashed.")
    config = property(lambda self: dict(self.record.config), doc="Hyperparameters.")
    summary = property(lambda self: dict(self.record.summary), doc="Final numbers.")
    tags = property(lambda self: list(self.record.tags), doc="Tags.")
    entity = property(lambda self: self.record.entity, doc="The W&B entity, or None.")

    def history(
        self, keys: Sequence[str] | None = None, *, pandas: bool = False
    ) -> list[dict[str, Any]] | Any:
        """The logged metrics, one row per step with ``_step``; a DataFrame with ``pandas``.

        Raises:
            ConfigError: ``pandas=True`` but pandas is not installed.
        """
        rows = self._repo.catalog.runs.history(self.id, keys)
        if not pandas:
            return rows
        return pandas_module("history(pandas=True)", "history()").DataFrame(rows)

    def console(self) -> str:
        """Everything the run printed, stdout and stderr interleaved as written."""
        return "".join(text for _, text in self._repo.catalog.runs.console(self.id))

    def series(
        self, key: str, *, x: str = "step", points: int = 1000, after: int | None = None
    ) -> Series:
        """The numbers logged under ``key`` after step ``after``, for a chart: at most about
        ``points``, downsampled in the catalog when there are more (equal step ranges, each
        keeping its lowest and highest point, so no spike is hidden). ``x`` is ``step``,
        ``time`` (seconds since the run started) or ``wall`` (Unix seconds).

        Raises:
            InvalidArgumentError: ``x`` is none of those, or ``points`` is not 2 to 100,000.
        """
        if x not in ("step", "time", "wall"):
            raise InvalidArgumentError(f"x must be step, time or wall, not {str(x)[:40]!r}")
        if not isinstance(points, int) or not 2 <= points <= 100_000:
            raise InvalidArgumentError(f"points must be 2 to 100000, not {str(points)[:40]}")
        axis = cast("XAxis", x)
        return self._repo.catalog.runs.series(self.id, key, x=axis, points=points, after=after)

    def console_after(
        self, after: int = 0, contains: str | None = None, limit: int = 1000
    ) -> list[ConsoleLine]:
        """Up to ``limit`` pieces of console output written after position ``after`` (the
        ``position`` of the last piece read), only those holding ``contains`` if given."""
        return self._repo.catalog.runs.console_after(self.id, after, contains, limit)

    def media_steps(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        """(step, reference) of every media value logged under ``key``, by step."""
        return self._repo.catalog.runs.media_steps(self.id, key)

    def used(self) -> list[ArtifactVersion]:
        """The versions this run used, in order."""
        return self._edges("used")

    def produced(self) -> list[ArtifactVersion]:
        """The versions this run produced (or re-logged unchanged), in order."""
        return self._edges("produced")

    def files(self) -> list[RunFileInfo]:
        """The files kept with the run (``run.save``), each as last saved, sorted by name."""
        return [
            RunFileInfo(self, kept, self._repo) for kept in self._repo.catalog.runs.files(self.id)
        ]

    def file(self, name: str) -> RunFileInfo:
        """One file kept with the run.

        Raises:
            NotFoundError: the run kept no file of that name.
            InvalidArgumentError: ``name`` is not a string.
        """
        if not isinstance(name, str):
            raise InvalidArgumentError(f"a file name is a string, not a {type(name).__name__}")
        for kept in self._repo.catalog.runs.files(self.id):
            if kept.name == name:
                return RunFileInfo(self, kept, self._repo)
        raise NotFoundError(
            f"run {self.id} kept no file {name[:80]!r}; see: art runs files {self.id}"
        )

    def media_counts(self) -> dict[str, int]:
        """How many media values the run logged, by key (keys without media left out)."""
        return self._repo.catalog.runs.media_counts(self.id)

    def media(self, key: str, step: int | None = None, index: int = 0) -> RunMediaInfo:
        """A media value the run logged under ``key``: at ``step``, or its last one; ``index``
        picks an item of a gallery (a list logged under one key).

        Raises:
            NotFoundError: no media under ``key`` (at that step, or at that index).
        """
        found = self._repo.catalog.runs.media_value(self.id, key, step)
        if found is None:
            where = f"at step {step}" if step is not None else "at any step"
            raise NotFoundError(
                f"run {self.id} logged no media under {key[:80]!r} {where}; "
                f"see: art runs show {self.id}"
            )
        at, reference = found
        if reference["_type"] == "gallery":
            items = reference["items"]
            if not 0 <= index < len(items):
                raise NotFoundError(
                    f"the gallery {key[:80]!r} at step {at} has {len(items)} items, no {index}"
                )
            reference = items[index]
        return RunMediaInfo(self, key, at, reference, self._repo)

    def alerts(self) -> list[RunAlert]:
        """The alerts the run raised (``run.alert``), oldest first."""
        return self._repo.catalog.runs.alerts(self.id)

    def _edges(self, kind: str) -> list[ArtifactVersion]:
        return [
            get_version(self._repo, f"{name}:v{number}")
            for k, name, number in self._repo.catalog.runs.edges(self.id)
            if k == kind
        ]

    def __repr__(self) -> str:
        return f"<RunInfo {self.project}/{self.name or self.id} ({self.id}) {self.state}>"


class RunFileInfo:
    """A file kept with a run: ``name``, ``size``, ``digest``, ``policy``, ``saved_at``."""

    def __init__(self, run: RunInfo, kept: RunFile, repo: Repository) -> None:
        self.run = run
        self.record = kept
        self._repo = repo

    name = property(lambda self: self.record.name, doc="Its path relative to the save base.")
    size = property(lambda self: self.record.size, doc="Its size in bytes.")
    digest = property(lambda self: self.record.digest, doc="The xxh3-128 of its content.")
    policy = property(lambda self: self.record.policy, doc="live, now or end.")

    @property
    def saved_at(self) -> datetime:
        """When this content was kept."""
        return self.record.saved_at

    def download(
        self, root: str | Path = ".", replace: bool = False, exist_ok: bool = False
    ) -> Path:
        """Write the file to ``root/<name>``, verified against its digest; returns the path.

        As W&B's ``File.download``: a file already there is an error, unless ``replace``
        (written again) or ``exist_ok`` (left as it is).

        Raises:
            FileAccessError: a file is already there (and neither flag is given), the
                destination cannot be written, or it lies in the store's own folder or is its
                catalog.
            UnsafePathError: the destination would fall outside ``root`` through a link.
            CorruptBlobError: the stored bytes do not match the digest.
            NotFoundError: the blob is missing from the store.
        """
        target = Path(root) / self.record.name
        if target.exists() and not replace:
            if exist_ok:
                return target
            raise FileAccessError(
                str(target), "it exists; pass replace=True to overwrite or exist_ok=True to keep"
            )
        entry = FileEntry(self.record.name, Digest.parse(self.record.digest), self.record.size)
        label = f"run {self.run.id} file"
        materialize(
            self._repo.blobs, [entry], Path(root), label=label, keep_out=self._repo.keep_out
        )
        return target

    def __repr__(self) -> str:
        return f"<RunFileInfo {self.run.id}:{self.name} ({self.size} bytes)>"


class RunMediaInfo:
    """A media value a run logged: ``key``, ``step`` and its ``reference`` (a dict with
    ``_type``; see docs/format.md)."""

    def __init__(
        self, run: RunInfo, key: str, step: int, reference: dict[str, Any], repo: Repository
    ) -> None:
        self.run = run
        self.key = key
        self.step = step
        self.reference = reference
        self._repo = repo

    @property
    def name(self) -> str:
        """Where :meth:`download` writes it: ``media/<type>/<key>_<step>_<digest>.<format>``."""
        ref = self.reference
        key = re.sub(r"[^A-Za-z0-9._-]", "_", self.key)[:100]
        return f"media/{ref['_type']}/{key}_{self.step}_{ref['digest'][:8]}.{ref['format']}"

    def _entry(self) -> FileEntry:
        ref = check_reference(self.reference)
        if ref["_type"] == "histogram":
            raise InvalidArgumentError(
                f"the histogram {self.key[:80]!r} is kept inline: read its bins and values "
                "from .reference"
            )
        return FileEntry(self.name, Digest.parse(ref["digest"]), ref["size"])

    def read(self) -> bytes:
        """The bytes, verified against the digest.

        Raises:
            InvalidArgumentError: a histogram (kept inline, no bytes).
            NotFoundError: the blob is missing; CorruptBlobError: it does not match.
        """
        return self._repo.blobs.read_bytes(Kind.BLOB, self._entry().digest)

    def download(self, root: str | Path = ".") -> Path:
        """Write the bytes to ``root/<name>``, verified; returns the path.

        Raises:
            InvalidArgumentError: a histogram (kept inline, no bytes).
            FileAccessError, UnsafePathError: the destination cannot be written.
            NotFoundError: the blob is missing; CorruptBlobError: it does not match.
        """
        entry = self._entry()
        label = f"run {self.run.id} media"
        materialize(
            self._repo.blobs, [entry], Path(root), label=label, keep_out=self._repo.keep_out
        )
        return Path(root) / entry.path

    def __repr__(self) -> str:
        return f"<RunMediaInfo {self.run.id}:{self.key}@{self.step} {describe(self.reference)}>"


def pandas_module(call: str, instead: str) -> Any:
    """The pandas module, for ``call``, which returns a DataFrame.

    Raises:
        ConfigError: pandas is not installed; the message names ``instead``, the call that
            returns a list of dicts.
    """
    try:
        import pandas
    except ImportError:
        raise ConfigError(
            f"{call} returns a pandas DataFrame and pandas is not installed: "
            f"pip install pandas, or call {instead} for a list of dicts"
        ) from None
    return pandas


def list_runs(
    repo: Repository, project: str | None = None, filters: Mapping[str, Any] | None = None
) -> list[RunInfo]:
    """Runs, newest first: of one project, matching ``filters`` (see :func:`matches`).

    Raises:
        UserError: an unknown filter key or operator.
    """
    records = repo.catalog.runs.newest_first(project)
    return [RunInfo(r, repo) for r in records if matches(r, filters or {})]


def get_run(repo: Repository, run_id: str) -> RunInfo:
    """One run.

    Raises:
        InvalidNameError: ``run_id`` is not shaped like a run id.
        NotFoundError: no such run.
    """
    return RunInfo(repo.catalog.runs.get(check_run_id(run_id)), repo)


_FILTER = re.compile(r"^([A-Za-z_][\w.\-]*)(>=|<=|!=|=|>|<)(.*)$")
_OPS = {"=": "$eq", "!=": "$ne", ">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


def parse_filters(
    pairs: Sequence[str], label: str = "--filter", *, regex: bool = True
) -> dict[str, Any]:
    """``config.lr=0.001``, ``summary.acc>=0.9``, ``state=finished``, ``tags=baseline``, or a
    JSON filter document as ``Store.runs`` takes it (``{"$or": [{...}, {...}]}``); a run must
    match them all (``art runs --filter``, the UI's filter box). ``label`` names the option
    in messages; ``regex=False`` refuses ``$regex`` (a pattern can take exponential time).

    Raises:
        UserError: a term is malformed, nested too deeply, or a refused ``$regex``.
    """
    filters: dict[str, Any] = {}
    documents: list[dict[str, Any]] = []
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            try:
                document = json.loads(pair)
            except json.JSONDecodeError as error:
                raise UserError(f"{label} {pair[:80]!r} is not a JSON object: {error}") from None
            except RecursionError:
                raise UserError(f"{label} {pair[:80]!r} is nested too deeply") from None
            if not isinstance(document, dict):
                raise UserError(f"{label} {pair[:80]!r} is not a JSON object")
            if not regex and "$regex" in _keys(document):
                raise UserError(f"the UI {label} takes no $regex; use `art runs --filter`")
            documents.append(document)
            continue
        match = _FILTER.match(pair)
        if match is None:
            raise UserError(f"{label} takes KEY=VALUE (or >, >=, <, <=, !=), got {pair!r}")
        key, op, raw = match.groups()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        except RecursionError:
            raise UserError(f"{label} {pair[:80]!r} is nested too deeply") from None
        if key == "tags":
            # Store.runs matches tags by name (or {"$in": [...]}), not by operators.
            if op != "=" or not isinstance(value, str):
                raise UserError(f"{label} tags takes tags=NAME, got {pair!r}")
            filters[key] = value
            continue
        filters.setdefault(key, {})[_OPS[op]] = value
    if documents:
        filters["$and"] = documents
    return filters


def _keys(document: Any) -> set[str]:
    # Every key of a JSON document at any depth (a loop: the document may nest deeply).
    found: set[str] = set()
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            found.update(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def matches(record: RunRecord, filters: Mapping[str, Any]) -> bool:
    """Whether a run matches every filter.

    Keys are ``state``, ``project``, ``entity``, ``name``, ``id``, ``user``, ``host``,
    ``created_at`` (ISO 8601 UTC text, ``2024-01-31T12:00:00``, compared as text), ``tags``
    (matches when the run has the tag, or any tag of a ``$in`` list) or dotted paths into
    ``config.`` and ``summary.``; values are compared for equality, or given as
    ``{"$gt": 0.9}``-style operators ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists (a
    key missing or None does not exist), $regex (a Python regular expression found in text)).
    ``$and``, ``$or`` and ``$nor`` take a list of such filters, as MongoDB's (and W&B's) do:
    ``{"$or": [{"state": "failed"}, {"summary.acc": {"$lt": 0.5}}]}``.

    Raises:
        InvalidArgumentError: ``$and``, ``$or`` or ``$nor`` not given a list of filters.
        UserError: an unknown key or operator.
    """
    for key, condition in filters.items():
        if key in _COMBINE:
            if not isinstance(condition, list) or not all(isinstance(c, dict) for c in condition):
                raise InvalidArgumentError(
                    f"{key} takes a list of filters, not {str(condition)[:80]!r}"
                )
            if not _COMBINE[key](matches(record, clause) for clause in condition):
                return False
            continue
        if key == "tags":
            wanted = condition.get("$in", []) if isinstance(condition, dict) else [condition]
            if not set(wanted) & set(record.tags):
                return False
            continue
        actual = run_value(record, key)
        checks = condition if isinstance(condition, dict) else {"$eq": condition}
        for op, expected in checks.items():
            test = _OPERATORS.get(op)
            if test is None:
                raise UserError(f"unknown filter operator {op!r}; use one of {sorted(_OPERATORS)}")
            try:
                if not test(actual, expected):
                    return False
            except TypeError:
                return False
    return True


def run_value(record: RunRecord, key: str) -> Any:
    """What a run holds under a filter key (see :func:`matches`): a column, or the value at a
    dotted path into its config or summary (None where a part is missing).

    Raises:
        UserError: an unknown key.
    """
    head, _, rest = key.partition(".")
    if head in ("state", "status") and not rest:
        return record.status
    if head in ("project", "entity", "name", "id", "user", "host") and not rest:
        return getattr(record, head)
    if head == "created_at" and not rest:
        return record.created_at.strftime("%Y-%m-%dT%H:%M:%S")
    if head not in ("config", "summary") or not rest:
        raise UserError(
            f"cannot filter runs on {key!r}; use state, project, entity, name, id, user, host, "
            "created_at, tags, config.KEY or summary.KEY"
        )
    value: Any = record.config if head == "config" else record.summary
    for part in rest.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
