"""Reading an offline spool: every record and field checked before anything is written.

A spool is replayed into a catalog only whole. So it is read and checked to the last field
first (JSON, types, ranges, names, that every row names the spool's own run, that the files of
every logged artifact are in the spool's store) and any fault is one
:class:`~artstore.errors.InvalidSpoolError` naming the file, the line and the field.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from artstore.artifacts import Manifest, check_name, check_settable_alias, safe_relpath
from artstore.artifacts.media import blobs_of, check_reference
from artstore.artifacts.names import MAX_VERSION, check_run_id
from artstore.errors import (
    ArtstoreError,
    InvalidNameError,
    InvalidSpoolError,
    InvalidValueError,
    NotFoundError,
    UnsupportedFormatError,
)
from artstore.lineage import MetricRecord, RunAlert, RunFile
from artstore.storage import BlobStore, Digest, Kind, open_store
from artstore.tracker.alerts import ALERT_LEVELS, MAX_ALERT_TEXT, MAX_ALERT_TITLE
from artstore.tracker.files import POLICIES
from artstore.tracker.mappings import MAX_DEPTH
from artstore.tracker.values import MAX_KEY, MAX_STEP, MAX_TEXT, text_problem

__all__ = [
    "SPOOL_FILE",
    "Spool",
    "SpooledArtifact",
    "SpooledUse",
    "read_spool",
]

logger = logging.getLogger(__name__)

SPOOL_FILE = "run.jsonl"

_FOLDER = re.compile(r"offline-run-\d{8}_\d{6}-(.+)")
#: Record formats this reader knows: 2 marks records a format-1 reader must refuse, 3 batches
#: with media rows, which a reader of formats 1-2 must refuse.
SPOOL_FORMATS = (1, 2, 3)
_INT32 = 2**31 - 1
_STATUSES = ("running", "finished", "failed")
_STREAMS = ("stdout", "stderr")
_RECORD_FIELDS = {
    "start": ({"fields"}, {"resume"}),
    "batch": ({"metrics", "console", "fields"}, {"media"}),
    "artifact": ({"name", "artifact_type", "description", "metadata", "digest", "aliases"}, set()),
    "use": ({"name", "number", "digest"}, set()),
    "finish": ({"fields"}, set()),
    "file": ({"name", "digest", "size", "policy", "saved_at"}, set()),
    "alert": ({"at", "level", "title", "text", "step"}, set()),
}
# Record types, and run columns, that only format 2 has.
_FORMAT_2_TYPES = ("file", "alert")
_FORMAT_2_COLUMNS = ("entity",)


@dataclass(frozen=True, slots=True)
class SpooledArtifact:
    """An artifact the run logged offline; its files are in the spool's store."""

    line: int
    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    digest: str
    aliases: tuple[str, ...]
    size: int
    file_count: int


@dataclass(frozen=True, slots=True)
class SpooledUse:
    """A version the run used offline, as it was resolved then."""

    line: int
    name: str
    number: int
    digest: str


@dataclass(frozen=True, slots=True)
class Spool:
    """A checked spool: the run's columns as its records end them, its rows, its lineage.

    ``columns`` are the start record's fields (without ``id``) updated by every batch and
    finish record in order; ``finished`` says whether the spool records the run's end;
    ``files`` and ``alerts`` are the files the run kept (their blobs in the spool's store) and
    the alerts it raised, in order.
    """

    folder: Path
    run_id: str
    columns: dict[str, Any]
    metrics: tuple[MetricRecord, ...]
    console: tuple[tuple[str, int, str, str, float], ...]
    lineage: tuple[SpooledArtifact | SpooledUse, ...]
    finished: bool
    files: tuple[RunFile, ...] = ()
    alerts: tuple[RunAlert, ...] = ()
    #: The digests of the blobs its media rows name (in the spool's store), sorted.
    media_blobs: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        """The spool file, ``run.jsonl``."""
        return self.folder / SPOOL_FILE

    @property
    def blobs(self) -> BlobStore:
        """The spool's own store, holding the files of the artifacts the run logged."""
        return open_store(str(self.folder / "store"))


class _Bad(Exception):
    """A field's problem; the reader adds the file, line and field (``part``: a part of it)."""

    def __init__(self, problem: str, part: str | None = None) -> None:
        super().__init__(problem)
        self.part = part


def _part(part: str, rule: Callable[[Any], Any], value: Any) -> Any:
    try:
        return rule(value)
    except _Bad as bad:
        raise _Bad(str(bad), part) from None


def read_spool(folder: Path) -> Spool:
    """Read and check the spool in ``folder``; a torn last line is dropped with a warning.

    Raises:
        NotFoundError: no spool file in ``folder``.
        UnsupportedFormatError: a record of an unknown format or type (upgrade artstore).
        InvalidSpoolError: anything else that is not as artstore writes it.
    """
    path = folder / SPOOL_FILE
    if not path.is_file():
        raise NotFoundError(f"{folder} is not an offline run folder (no {SPOOL_FILE})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidSpoolError(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = _Reader(folder, path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        record = _parse_line(path, number, raw, last=number == len(lines))
        if record is not None:
            reader.record(number, record)
    return reader.result()


def _parse_line(path: Path, number: int, raw: bytes, *, last: bool) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad JSON or UTF-8, a number too long to read
        if last:
            logger.warning("%s: last line is incomplete (the run was killed); ignored", path)
            return None
        raise InvalidSpoolError(
            f"{path}:{number} is not a JSON record; nothing was synced"
        ) from None
    if not isinstance(record, dict):
        raise InvalidSpoolError(f"{path}:{number} is not a JSON object; nothing was synced")
    return record


class _Reader:
    """Checks records one by one and gathers the run."""

    def __init__(self, folder: Path, path: Path) -> None:
        self.folder = folder
        self.path = path
        self.run_id: str | None = None
        self.columns: dict[str, Any] = {}
        self.metrics: list[MetricRecord] = []
        self.media_blobs: set[str] = set()
        self.console: list[tuple[str, int, str, str, float]] = []
        self.lineage: list[SpooledArtifact | SpooledUse] = []
        self.files: list[RunFile] = []
        self.alerts: list[RunAlert] = []
        self.finished = False
        self.format = 1
        self._blobs: BlobStore | None = None
        self.line = 0

    def fail(self, where: str, problem: str) -> InvalidSpoolError:
        return InvalidSpoolError(f"{self.path}:{self.line}: {where} {problem}; nothing was synced")

    def check(self, where: str, value: Any, rule: Callable[[Any], Any]) -> Any:
        try:
            return rule(value)
        except _Bad as bad:
            raise self.fail(
                where if bad.part is None else f"{where}.{bad.part}", str(bad)
            ) from None
        except ArtstoreError as exc:  # a name checker's own message
            raise self.fail(where, f"is invalid: {exc}") from None

    def record(self, number: int, record: dict[str, Any]) -> None:
        self.line = number
        where = f"{self.path}:{number}"
        fmt = record.get("format")
        if type(fmt) is not int:
            raise self.fail("format", f"{_show(fmt)} is not a format number")
        if fmt not in SPOOL_FORMATS:
            raise UnsupportedFormatError(
                f"{where} has format {fmt}; this artstore reads spool formats "
                f"{SPOOL_FORMATS[0]}-{SPOOL_FORMATS[-1]}: upgrade artstore to sync this run"
            )
        self.format = fmt
        kind = record.get("type")
        if not isinstance(kind, str):
            raise self.fail("type", f"{_show(kind)} is not a record type")
        if kind not in _RECORD_FIELDS:
            raise UnsupportedFormatError(
                f"{where}: unknown record type {kind!r}; upgrade artstore to sync this run"
            )
        if kind in _FORMAT_2_TYPES and fmt < 2:
            raise self.fail("format", f"1 cannot hold a {kind} record (format 2 can)")
        required, optional = _RECORD_FIELDS[kind]
        for name in sorted(required - record.keys()):
            raise self.fail(name, "is missing")
        for name in sorted(record.keys() - required - optional - {"format", "type"}):
            raise self.fail(_show(name), "is not a field of a spool record")
        if (kind == "start") != (self.run_id is None):
            problem = "is not the first line" if kind == "start" else "is not a start record"
            raise self.fail(f"{kind} record", problem)
        getattr(self, f"_{kind}")(record)

    def _start(self, record: dict[str, Any]) -> None:
        if record.get("resume", False) is not False:
            raise self.fail("resume", "must be false: offline runs cannot resume")
        fields = self.check("fields", record["fields"], _object)
        for name in ("id", *_IDENTITY):
            if name not in fields:
                raise self.fail(f"fields.{name}", "is missing")
        run_id = self.check("fields.id", fields["id"], check_run_id)
        named = _FOLDER.fullmatch(self.folder.name)
        if named is not None and named.group(1) != run_id:
            raise self.fail(
                "fields.id", f"{run_id!r} is not the run {named.group(1)!r} the folder is named for"
            )
        self.run_id = run_id
        self.columns = self.columns_of(fields, start=True)
        if "heartbeat_at" not in self.columns:
            raise self.fail("fields.heartbeat_at", "is missing")

    def _batch(self, record: dict[str, Any]) -> None:
        metrics = self.check("metrics", record["metrics"], _list)
        console = self.check("console", record["console"], _list)
        for i, row in enumerate(metrics):
            self.metrics.append(self.check(f"metrics[{i}]", row, self.metric_row))
        for i, row in enumerate(console):
            self.console.append(self.check(f"console[{i}]", row, self.console_row))
        if "media" in record:
            if self.format < 3:
                raise self.fail("media", f"needs record format 3, not {self.format}")
            media = self.check("media", record["media"], _list)
            for i, row in enumerate(media):
                self.metrics.append(self.check(f"media[{i}]", row, self.media_row))
        self._end(record)

    def _finish(self, record: dict[str, Any]) -> None:
        self._end(record)
        self.finished = True

    def _end(self, record: dict[str, Any]) -> None:
        fields = self.check("fields", record["fields"], _object)
        changed = self.columns_of(fields, start=False)
        self.columns.update(changed)
        # A finishing run's last batch carries its final status.
        if changed.get("status", "running") != "running":
            self.finished = True

    def _artifact(self, record: dict[str, Any]) -> None:
        name = self.check("name", record["name"], check_name)
        kind = self.check("artifact_type", record["artifact_type"], _artifact_type)
        description = self.check("description", record["description"], _optional(_text))
        metadata = self.check("metadata", record["metadata"], _json_object)
        digest = self.check("digest", record["digest"], _digest)
        aliases = self.check("aliases", record["aliases"], _list)
        for i, alias in enumerate(aliases):
            self.check(f"aliases[{i}]", alias, check_settable_alias)
        manifest = self.manifest(digest)
        self.lineage.append(
            SpooledArtifact(
                self.line,
                name,
                kind,
                description,
                metadata,
                digest,
                tuple(aliases),
                manifest.size,
                len(manifest),
            )
        )

    def _use(self, record: dict[str, Any]) -> None:
        name = self.check("name", record["name"], check_name)
        number = self.check("number", record["number"], _int_in(0, MAX_VERSION))
        digest = self.check("digest", record["digest"], _digest)
        self.lineage.append(SpooledUse(self.line, name, number, digest))

    def _file(self, record: dict[str, Any]) -> None:
        name = self.check("name", record["name"], _run_file_name)
        digest = self.check("digest", record["digest"], _digest)
        size = self.check("size", record["size"], _int_in(0, MAX_STEP))
        policy = self.check("policy", record["policy"], _policy)
        saved_at = self.check("saved_at", record["saved_at"], _time)
        problem = self._blob_problem(digest, size)
        if problem is not None:
            raise self.fail(*problem)
        self.files.append(RunFile(name, digest, size, policy, saved_at))

    def _blob_problem(self, digest: str, size: int) -> tuple[str, str] | None:
        """(field, message) saying why blob ``digest`` of ``size`` bytes is not in the spool's
        store as named (the field is ``digest`` or ``size``), or None."""
        blobs = self.spool_blobs()
        parsed = Digest.parse(digest)
        if not blobs.has(Kind.BLOB, parsed):
            return "digest", f"names blob {digest}, which {self.folder / 'store'} lacks"
        if blobs.size(Kind.BLOB, parsed) != size:
            return "size", f"{size} is not the size of blob {digest}"
        return None

    def _alert(self, record: dict[str, Any]) -> None:
        at = self.check("at", record["at"], _time)
        level = self.check("level", record["level"], _level)
        title = self.check("title", record["title"], _alert_title)
        text = self.check("text", record["text"], _alert_text)
        step = self.check("step", record["step"], _int_in(0, MAX_STEP))
        self.alerts.append(RunAlert(at, level, title, text, step))

    def spool_blobs(self) -> BlobStore:
        """The spool's store, holding the files the run logged or kept.

        Raises:
            InvalidSpoolError: the spool has no store.
        """
        store = self.folder / "store"
        if self._blobs is None:
            if not (store / "artstore.json").is_file():
                raise self.fail("digest", f"names files, but {store} is not a store")
            self._blobs = open_store(str(store))
        return self._blobs

    def manifest(self, digest: str) -> Manifest:
        """The manifest of a logged artifact, with every blob it names in the spool's store."""
        store = self.folder / "store"
        blobs = self.spool_blobs()
        try:
            raw = blobs.read_bytes(Kind.MANIFEST, Digest.parse(digest))
        except NotFoundError:
            raise self.fail("digest", f"names manifest {digest}, which {store} lacks") from None
        manifest = Manifest.decode(raw, f"{self.path}:{self.line}: manifest {digest}")
        missing = blobs.missing(
            Kind.BLOB, {blob.digest for entry in manifest for blob in entry.blob_refs()}
        )
        if missing:
            first = min(str(d) for d in missing)
            raise self.fail("digest", f"names blob {first}, which {store} lacks")
        return manifest

    def columns_of(self, fields: dict[str, Any], *, start: bool) -> dict[str, Any]:
        """Checked run columns; identity columns (and the id) only in the start record."""
        columns: dict[str, Any] = {}
        for name, value in fields.items():
            rule = _COLUMNS.get(name)
            if name == "id" and start:
                continue
            if rule is None or (name in _FIXED and not start):
                shown = (
                    "is not a run column" if rule is None or name == "id" else "is fixed at start"
                )
                raise self.fail(f"fields.{_show(name)}", shown)
            if name in _FORMAT_2_COLUMNS and self.format < 2:
                raise self.fail(f"fields.{name}", "needs record format 2")
            columns[name] = self.check(f"fields.{name}", value, rule)
        return columns

    def metric_row(self, row: Any) -> MetricRecord:
        run_id, step, key, value, text, at = _row(row, 6)
        _part("run", self.own, run_id)
        step = _part("step", _int_in(0, MAX_STEP), step)
        key = _part("key", _key, key)
        if value is not None:
            value = _part("value", _number, value)
            if math.isnan(value):
                value = None  # stored as no number and no text
        if text is not None:
            if value is not None:
                raise _Bad("holds both a number and a text")
            text = _part("text", _short_text, text)
        return MetricRecord(run_id, step, key, value, text, _part("time", _finite, at))

    def media_row(self, row: Any) -> MetricRecord:
        """A media row: run id, step, key, reference, time; every blob it names in the spool's
        store with its size."""
        run_id, step, key, reference, at = _row(row, 5)
        _part("run", self.own, run_id)
        step = _part("step", _int_in(0, MAX_STEP), step)
        key = _part("key", _key, key)
        try:
            check_reference(reference)
        except InvalidValueError as exc:
            raise _Bad(str(exc), "reference") from None
        for digest, size in blobs_of(reference):
            problem = self._blob_problem(digest, size)
            if problem is not None:
                raise _Bad(problem[1], "reference")
            self.media_blobs.add(digest)
        text = json.dumps(reference, allow_nan=False, separators=(",", ":"))
        return MetricRecord(run_id, step, key, None, None, _part("time", _finite, at), text)

    def console_row(self, row: Any) -> tuple[str, int, str, str, float]:
        run_id, seq, stream, text, at = _row(row, 5)
        _part("run", self.own, run_id)
        seq = _part("seq", _int_in(0, MAX_STEP), seq)
        if stream not in _STREAMS:
            raise _Bad(f"{_show(stream)} is not stdout or stderr", "stream")
        return run_id, seq, stream, _part("text", _text, text), _part("time", _finite, at)

    def own(self, run_id: Any) -> None:
        """Refuse a row of another run than the spool's."""
        if run_id != self.run_id:
            raise _Bad(f"{_show(run_id)} is not this spool's run {self.run_id!r}")

    def result(self) -> Spool:
        if self.run_id is None:
            raise InvalidSpoolError(
                f"{self.path} does not begin with a start record; nothing was synced"
            )
        return Spool(
            self.folder,
            self.run_id,
            self.columns,
            tuple(self.metrics),
            tuple(self.console),
            tuple(self.lineage),
            self.finished,
            tuple(self.files),
            tuple(self.alerts),
            tuple(sorted(self.media_blobs)),
        )


# -- field rules: each returns the value to keep, or raises _Bad naming the problem ------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{_show(value)} is not a string")
    problem = text_problem(value)
    if problem is not None:
        raise _Bad(problem)
    return value


def _text_of(most: int, least: int = 0) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if not least <= len(_text(value)) <= most:
            if least:
                raise _Bad(f"{_show(value)} is not {least}-{most} characters long")
            raise _Bad(f"is longer than {most} characters")
        return str(value)

    return rule


_key = _text_of(MAX_KEY, 1)
_short_text = _text_of(MAX_TEXT)
_alert_title = _text_of(MAX_ALERT_TITLE, 1)
_alert_text = _text_of(MAX_ALERT_TEXT)


def _optional(rule: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else rule(value)


def _nonempty(value: Any) -> str:
    if _text(value) == "":
        raise _Bad("is empty")
    return str(value)


def _artifact_type(value: Any) -> str:
    return check_name(value, "artifact type")


def _digest(value: Any) -> str:
    try:
        return str(Digest.parse(value))
    except InvalidNameError:
        raise _Bad(f"{_show(value)} is not a digest (32 lowercase hex digits)") from None


def _int_in(low: int, high: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise _Bad(f"{_show(value)} is not a whole number from {low} to {high}")
        return value

    return rule


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise _Bad(f"{_show(value)} is not a number")
    try:
        return float(value)
    except OverflowError:
        raise _Bad(f"{_show(value)} is beyond the range of a float") from None


def _finite(value: Any) -> float:
    number = _number(value)
    if not math.isfinite(number):
        raise _Bad(f"{_show(value)} is not a finite number")
    return number


def _positive(value: Any) -> float:
    number = _finite(value)
    if number <= 0:
        raise _Bad(f"{_show(value)} is not a positive number")
    return number


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad(f"{_show(value)} is not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{_show(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise _Bad(f"{_show(value)} has no UTC offset")
    return moment


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if value not in choices:
            raise _Bad(f"{_show(value)} is not one of {', '.join(choices)}")
        return str(value)

    return rule


_status = _one_of(_STATUSES)
_policy = _one_of(POLICIES)
_level = _one_of(ALERT_LEVELS)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Bad(f"{_show(value)} is not a list")
    return value


def _object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Bad(f"{_show(value)} is not an object")
    return value


def _tags(value: Any) -> list[str]:
    for tag in _list(value):
        _text(tag)
    return list(value)


def _json_object(value: Any) -> dict[str, Any]:
    # Iterative: a spool may nest deeper than a recursive walk could follow.
    stack: list[tuple[Any, int]] = [(_object(value), 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Bad(f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, inner in item.items():
                _text(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            _text(item)
    return value  # type: ignore[no-any-return]


def _run_file_name(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{_show(value)} is not a string")
    name = safe_relpath(value)  # UnsafePathError: reported by check() with its reason
    if name != value:
        raise _Bad(f"{_show(value)} is not in NFC form")
    return name


def _row(row: Any, length: int) -> list[Any]:
    if type(row) is not list or len(row) != length:
        raise _Bad(f"{_show(row)} is not a row of {length} values")
    return row


_IDENTITY = ("project", "user", "created_at")
_FIXED = (*_IDENTITY, "entity")
_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "project": _nonempty,
    "entity": _optional(_nonempty),
    "user": _text,
    "created_at": _time,
    "name": _optional(_text),
    "notes": _optional(_text),
    "host": _optional(_text),
    "python": _optional(_text),
    "command": _optional(_text),
    "git_commit": _optional(_text),
    "git_dirty": _optional(_bool),
    "config": _json_object,
    "summary": _json_object,
    "tags": _tags,
    "status": _status,
    "exit_code": _optional(_int_in(-_INT32 - 1, _INT32)),
    "finished_at": _optional(_time),
    "heartbeat_at": _time,
    "heartbeat_timeout": _positive,
}
