"""``Run``: one tracked execution: config, metrics, summary, console, artifacts."""

from __future__ import annotations

import atexit
import builtins
import glob
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from artstore.artifacts import Artifact, ArtifactVersion
from artstore.artifacts.aliases import alias_list
from artstore.errors import InvalidArgumentError, InvalidValueError, RunStateError
from artstore.lineage import MetricRecord
from artstore.tracker._writer import BatchWriter
from artstore.tracker.alerts import Alerter
from artstore.tracker.console import ConsoleCapture
from artstore.tracker.exits import exit_codes, exit_status
from artstore.tracker.files import KeptFiles, save_glob
from artstore.tracker.mappings import Config, Summary
from artstore.tracker.media import is_media, media_reference, reference_text
from artstore.tracker.metrics import MetricDefinition, MetricSummaries, define
from artstore.tracker.sinks import RunSink
from artstore.tracker.values import (
    MAX_STEP,
    check_key,
    check_run_text,
    summarise,
    text_problem,
    to_cell,
)
from artstore.tracker.watch import Watcher

__all__ = ["Mode", "Run", "RunOptions", "SummaryKind"]

logger = logging.getLogger(__name__)

Mode = Literal["online", "offline", "disabled"]
SummaryKind = Literal["min", "max", "mean", "last"]

# Integers strictly inside this bound convert to a float without overflow.
_FLOAT_INT = 2**1023


class RunOptions:
    """How a run writes: batching, heartbeat, console capture."""

    __slots__ = ("capture_console", "flush_interval", "flush_rows", "heartbeat_interval")

    def __init__(
        self,
        *,
        flush_interval: float = 1.0,
        flush_rows: int = 10_000,
        heartbeat_interval: float = 10.0,
        capture_console: bool = True,
    ) -> None:
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.heartbeat_interval = heartbeat_interval
        self.capture_console = capture_console

    @property
    def heartbeat_timeout(self) -> float:
        """Silence after which readers call a running run crashed."""
        return 3.0 * max(self.heartbeat_interval, self.flush_interval)


class Run:
    """A tracked run. Create one with ``artstore.init(...)``; use it as a context manager or
    call :meth:`finish`.

    ``log()`` only appends to memory: a background thread writes batches, so logging does not
    slow training, and everything is durable after :meth:`finish` or a normal interpreter exit.
    """

    def __init__(
        self,
        *,
        run_id: str,
        project: str,
        name: str | None,
        mode: Mode,
        sink: RunSink,
        options: RunOptions,
        start_fields: dict[str, Any],
        resume: bool,
        first_step: int = 0,
        config: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
        owns_status: bool = True,
        spool: Path | None = None,
        on_finish: Callable[[Run], None] | None = None,
        entity: str | None = None,
        tags: Iterable[str] = (),
        notes: str | None = None,
        allow_val_change: bool = False,
        make_dir: Callable[[], Path] | None = None,
    ) -> None:
        self.id = run_id
        self.project = project
        self._name = name
        #: W&B's entity (a team or user name), kept with the run.
        self.entity = entity
        self._tags = tuple(tags)
        self._notes = notes
        self.mode: Mode = mode
        self._dir = spool
        self._make_dir = make_dir
        self._sink = sink
        # The current-run registry forgets this run through it, so run.py needs no import of it.
        self._on_finish = on_finish
        self._owns_status = owns_status
        self._finished = False
        self._step = first_step
        # The step of the last row logged, which an alert records (0 before the first one).
        self._logged_step = max(first_step - 1, 0)
        self._summary_kinds: dict[str, tuple[SummaryKind, int]] = {}
        self._known_keys: set[str] = set()
        self._summary_dirty = False
        self._metrics = MetricSummaries()
        self.config = Config(self._config_changed, allow_val_change=allow_val_change)
        self.summary = Summary(self._summary_changed)
        self.config.load(config or {})
        self.summary.load(summary or {})
        sink.start(start_fields, resume=resume)
        self._writer = BatchWriter(
            sink.write,
            flush_interval=options.flush_interval,
            flush_rows=options.flush_rows,
            heartbeat_interval=options.heartbeat_interval,
            extra_fields=self._pending_summary,
            label=f"run {run_id}",
        )
        self._console: ConsoleCapture | None = None
        if options.capture_console:
            self._console = ConsoleCapture(self._keep_console)
            self._console.start()
        self._files = KeptFiles(sink.keep_file)

        # Read when an alert is posted: a resumed run's entity, or a name set since, is current.
        def about() -> dict[str, Any]:
            return {
                "run_id": self.id,
                "project": self.project,
                "name": self.name,
                "entity": self.entity,
            }

        self._alerts = Alerter(sink.alert, sink.alert_webhook, about, enabled=mode != "disabled")
        self._watcher = Watcher(lambda data: self.log(data, commit=False))
        exit_codes.hold()
        atexit.register(self._finish_at_exit)

    # -- what W&B's run shows -------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The display name; setting it stores it with the run, as in W&B."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = self._set_text("name", value)

    @property
    def notes(self) -> str | None:
        """Free text about the run; setting it stores it with the run, as in W&B."""
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._notes = self._set_text("notes", value)

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's labels, a tuple as in W&B: ``run.tags = run.tags + ("best",)`` stores
        them with the run."""
        return self._tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        if isinstance(value, str) or not all(isinstance(tag, str) for tag in value):
            raise InvalidValueError("run.tags takes a list or tuple of strings")
        tags = tuple(dict.fromkeys(value))
        for tag in tags:
            check_run_text("tag", tag)
        self._check_open()
        self._tags = tags
        self._writer.set_fields(tags=list(tags))

    def _set_text(self, what: str, value: str | None) -> str | None:
        if value is not None and not isinstance(value, str):
            raise InvalidValueError(f"run.{what} takes a string, not a {type(value).__name__}")
        check_run_text(what, value)
        self._check_open()
        self._writer.set_fields(**{what: value})
        return value

    @property
    def path(self) -> str:
        """``entity/project/id`` as W&B's (``project/id`` for a run without an entity)."""
        return "/".join(part for part in (self.entity, self.project, self.id) if part)

    @property
    def url(self) -> None:
        """None: no web page shows a run; ``art runs show ID`` does."""
        return None

    @property
    def dir(self) -> Path | None:
        """The run's folder. Offline: the spool folder, for ``art sync``. Online and disabled:
        a folder made on first use (as W&B's run folder) whose files ``finish()`` keeps with
        the run."""
        if self._dir is None and self._make_dir is not None:
            self._check_open()
            self._dir = self._make_dir()
        return self._dir

    # -- logging --------------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` writes to."""
        return self._step

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Record metrics for a step.

        Args:
            data: key (1-512 characters) -> number (int, float, bool, numpy or torch scalar;
                NaN and infinities are kept as they are), string of up to 1024 characters, or
                media (``artstore.Image``, ``Table``, ``Histogram``, ``Audio``, ``Video``,
                ``Object3D``, ``Html``, ``artstore.plot.*``; a list of one type is a gallery),
                kept as a blob and referenced from the row.
            step: the step to log at; lower than the current step: dropped with a warning.
                The step stays open (unless ``commit=True``), so another ``log`` at the same
                step joins the same row, as in W&B.
            commit: True moves to the next step after this one, False stays on it; None (the
                default, as in W&B): move on only when no ``step`` is given (decision 108).

        Raises:
            InvalidValueError: a key or value artstore cannot keep, or a step that is not a
                whole number from 0 to 2**63 - 1 (nothing is logged).
            RunStateError: the run is finished.
        """
        if self._finished:
            raise RunStateError(f"run {self.id} is finished; start another with artstore.init()")
        if step is not None:
            step = _check_step(step)
        if step is not None and step < self._step:
            logger.warning(
                "run %s: step %d is lower than the current step %d; dropped",
                self.id,
                step,
                self._step,
            )
            return
        # Convert every value before touching anything, so a refused value leaves no trace:
        # no rows, no summary change, no step change.
        cells: list[tuple[str, Any, str | None]] = []
        known = self._known_keys
        try:
            pairs = data.items()
        except AttributeError:
            raise InvalidValueError(
                f"log takes a mapping of key -> value, not a {type(data).__name__}"
            ) from None
        metrics = self._metrics if self._metrics.active else None
        if metrics is not None:
            data = dict(data)
            data.update(metrics.step_additions(data))
            pairs = data.items()
        media: list[tuple[str, Any]] = []
        for key, value in pairs:
            if key not in known:
                known.add(check_key(key))
            kind = type(value)
            if kind is float:
                cells.append((key, value, None))
            elif kind is int and -_FLOAT_INT < value < _FLOAT_INT:
                cells.append((key, value, None))  # the summary keeps it an int
            elif is_media(value):
                media.append((key, value))
            else:
                cells.append((key, *to_cell(key, value)))
        at = self._step if step is None else step
        now, run_id = time.time(), self.id
        # Blobs are stored (durably) before any row names them; a refused value stored none.
        references: list[tuple[str, dict[str, Any], str]] = []
        if media:
            put = self._sink.put_media
            for key, value in media:
                reference = media_reference(key, value, put)
                references.append((key, reference, reference_text(reference)))
        writer, summary, kinds = self._writer, self.summary, self._summary_kinds
        with writer.lock:
            # Scalar rows are exact tuples of MetricRecord's fields: the garbage collector
            # untracks those, not a named tuple, which made log() of 10 scalars ~40% slower.
            rows: list[tuple[Any, ...]] = writer.metrics  # type: ignore[assignment]
            for key, number, text in cells:
                # NaN is stored as no number and no text (SQLite cannot hold a NaN).
                stored = None if number is None or number != number else float(number)
                rows.append((run_id, at, key, stored, text, now, None))
                if metrics is not None:
                    value = number if text is None else text
                    if key in metrics.step_values:
                        metrics.step_values[key] = value
                    defined = metrics.find(key)
                    if defined is not None:
                        entry = metrics.fold(key, defined, summary.get(key), value)
                        if entry is not None:
                            summary.set_quietly(key, entry)
                        continue
                if number is None:
                    summary.set_quietly(key, text)
                    continue
                if key in kinds:
                    how, count = kinds[key]
                    kinds[key] = (how, count + 1)
                    number = summarise(how, summary.get(key), count + 1, number)
                summary.set_quietly(key, number)
            for key, reference, text in references:
                # As in W&B, a media key's summary is its last reference.
                rows.append(MetricRecord(run_id, at, key, None, None, now, text))
                summary.set_quietly(key, reference)
            self._summary_dirty = True
            writer.nudge()
        advance = commit if commit is not None else step is None
        self._step = at + 1 if advance else at
        self._logged_step = at

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> MetricDefinition:
        """Define a metric as W&B does: ``summary="min"`` keeps ``summary[name] == {"min": x}``.

        Args:
            name: a metric key, or a prefix ending in ``*`` (``"val/*"``).
            step_metric: the metric its values are plotted against; with ``step_sync`` (the
                default) a logged row without it gets its last logged value.
            step_sync: False: do not add ``step_metric`` to rows.
            hidden: accepted for W&B; artstore has no chart to hide it from.
            summary: ``min``, ``max``, ``mean``, ``last``, ``first``, ``best`` (with ``goal``),
                several joined by commas, ``copy`` (the last value itself) or ``none``.
            goal: ``minimize`` or ``maximize``, for ``best``.
            overwrite: True replaces an earlier definition of ``name``; else merged into it.

        Raises:
            InvalidArgumentError: an unknown summary kind or goal, or a kind given as the
                second argument (W&B's ``step_metric``); ``summarize`` keeps one number.
        """
        previous = None if overwrite else self._metrics.definitions.get(name)
        definition = define(name, step_metric, step_sync, hidden, summary, goal, previous)
        with self._writer.lock:
            self._metrics.add(definition)
        return definition

    def summarize(self, name: str, summary: SummaryKind = "last") -> None:
        """Make ``summary[name]`` one number: the min, max, mean or last of logged values."""
        if summary not in ("min", "max", "mean", "last"):
            raise InvalidValueError(f"summary must be min, max, mean or last, not {summary!r}")
        self._summary_kinds[name] = (summary, 0)

    def _pending_summary(self) -> dict[str, Any]:
        # Called by the writer with its lock held: the summary is not changing now.
        if not self._summary_dirty:
            return {}
        self._summary_dirty = False
        return {"summary": dict(self.summary)}

    def _summary_changed(self) -> None:
        with self._writer.lock:
            self._summary_dirty = True

    def _config_changed(self) -> None:
        if not self._finished:
            self._writer.set_fields(config=self.config.as_dict())

    def _keep_console(self, row: tuple[int, str, str, float]) -> None:
        seq, stream, text, at = row
        if text_problem(text) is not None:
            # What a program prints is kept even when the catalog cannot store it as it is.
            text = text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
        with self._writer.lock:
            self._writer.console.append((self.id, seq, stream, text, at))

    def record_console(self, stream: str, text: str) -> None:
        """Keep output that did not pass through ``sys.stdout`` (a child process's, say)."""
        if self._console is None:
            self._console = ConsoleCapture(self._keep_console)
        self._console.record(stream, text)

    # -- artifacts ------------------------------------------------------------------------------

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | Iterable[str] | None = None,
        type: str | None = None,
        aliases: Iterable[str] | str | None = None,
        tags: Iterable[str] | None = None,
    ) -> ArtifactVersion | None:
        """Log an artifact as produced by this run (offline: spooled, returns None), with W&B's
        arguments: an :class:`Artifact`, or a file or folder logged as the artifact ``name``
        (default ``run-<run id>-<file or folder name>``) of ``type`` (default
        ``unspecified``). A string of ``aliases`` is one alias, as in W&B. With an
        :class:`Artifact`, a list given second is its aliases (artstore's earlier
        ``log_artifact(artifact, aliases)``).

        Raises:
            InvalidArgumentError: ``artifact_or_path`` is neither an :class:`Artifact` nor a
                path; ``name`` or ``type`` with an :class:`Artifact` (it has its own), a
                ``name`` that is not text with a path, aliases twice, ``aliases`` neither a
                list nor a string, or ``tags`` (versions have aliases and metadata).
            InvalidNameError: an alias or the name is malformed, or an alias is
                version-shaped or ``latest``.
            NotFoundError: the path does not exist.
        """
        self._check_open()
        if tags:
            raise InvalidArgumentError(
                "artstore versions have no tags; use aliases=[...] or the Artifact's metadata"
            )
        if isinstance(artifact_or_path, Artifact):
            if isinstance(name, list | tuple):
                if aliases is not None:
                    raise InvalidArgumentError(
                        "aliases given twice: as log_artifact's second argument and as "
                        "aliases=; pass them once, as aliases=[...]"
                    )
                name, aliases = None, name
            if name is not None or type is not None:
                raise InvalidArgumentError(
                    "an Artifact has its own name and type; pass name= and type= with a path, "
                    "and an alias as aliases=[...]"
                )
            artifact = artifact_or_path
        elif isinstance(artifact_or_path, str | os.PathLike):
            if name is not None and not isinstance(name, str):
                raise InvalidArgumentError(
                    "with a path, log_artifact's second argument is the artifact's name, as "
                    "in W&B; pass aliases=[...] for aliases"
                )
            artifact = self._path_artifact(Path(artifact_or_path), name, type)
        else:
            raise InvalidArgumentError(
                f"log_artifact takes an artstore.Artifact or a file or folder path, not a "
                f"{builtins.type(artifact_or_path).__name__}"
            )
        return self._sink.log_artifact(artifact, alias_list(aliases or ()))

    def _path_artifact(self, path: Path, name: str | None, type: str | None) -> Artifact:
        artifact = Artifact(name or f"run-{self.id}-{path.name}", type=type or "unspecified")
        if path.is_dir():
            artifact.add_dir(path)
        else:
            artifact.add_file(path)
        return artifact

    def use_artifact(self, ref: str | ArtifactVersion, type: str | None = None) -> ArtifactVersion:
        """The version ``name:ref`` names, recorded as used by this run; ``type``, if given,
        must be the version's, as W&B checks it.

        Raises:
            InvalidNameError: the reference is malformed.
            NotFoundError: no such artifact, version or alias.
            InvalidArgumentError: the version is of another type (its use is not recorded).
        """
        self._check_open()
        text = ref.qualified_name if isinstance(ref, ArtifactVersion) else ref
        return self._sink.use_artifact(text, type)

    # -- files and alerts -----------------------------------------------------------------------

    def save(self, glob_str: Any = None, base_path: Any = None, policy: str = "live") -> list[str]:
        """Keep files with the run, as ``wandb.save``: each a blob in the store, listed by
        ``art runs files``.

        Args:
            glob_str: a file or glob; relative to the working folder, inside ``base_path``.
            base_path: the folder names start from (default: the working folder, or for an
                absolute glob the folder above the file's folder).
            policy: ``live`` (kept now, and again at the end if changed), ``now`` (kept now)
                or ``end`` (kept when the run finishes).

        Returns:
            The names of the files the glob matches now.

        Raises:
            InvalidArgumentError: no glob, a URL, a NUL character, or an unknown policy.
            UnsafePathError: the glob reaches outside ``base_path``, or a file leads outside
                it through a link.
            SourceChangedError: a file changed while it was read (nothing of it is kept).
            RunStateError: the run is finished.
        """
        self._check_open()
        return self._files.save(save_glob(glob_str, base_path, policy))

    def alert(
        self, title: str, text: str = "", level: Any = None, wait_duration: Any = None
    ) -> None:
        """Raise an alert, as ``wandb.alert``: recorded with the run (time, level, and the step
        of the last ``log()``, 0 before the first), printed on stderr, and posted to the alert
        webhook if one is set.

        Args:
            title: 1-64 characters.
            text: up to 10,000 characters.
            level: ``INFO`` (default), ``WARN`` or ``ERROR`` (or an ``AlertLevel``).
            wait_duration: seconds or a ``timedelta`` (default one minute): another alert of
                this title within it is suppressed (not printed, recorded nor posted).

        Raises:
            InvalidValueError: a title, text, level or wait_duration artstore cannot keep.
            ConfigError: the alert webhook is not an http(s) URL (nothing is recorded).
            RunStateError: the run is finished.
        """
        self._check_open()
        self._alerts.alert(title, text, level, wait_duration, self._logged_step)

    # -- watching a model ----------------------------------------------------------------------

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """Log histograms of a torch model's gradients and parameters, as ``wandb.watch``.

        Every ``log_freq`` forward passes ``parameters/<name>``, every ``log_freq`` gradients
        of a parameter ``gradients/<name>``, each an ``artstore.Histogram`` of 64 bins logged
        with ``commit=False``: it lands on the step the next ``log()`` writes to.

        Args:
            models: a ``torch.nn.Module``, or a list or tuple of them.
            criterion: W&B's; unused there too, ignored with one warning.
            log: ``gradients`` (default), ``parameters``, ``all``, or None (nothing).
            log_freq: log every this many batches.
            idx: W&B's graph index; artstore logs no graph, ignored with one warning.
            log_graph: artstore logs no graph; True is ignored with one warning.

        Raises:
            ConfigError: torch is not installed.
            InvalidArgumentError: a model that is not a ``torch.nn.Module``, an unknown
                ``log``, or a ``log_freq`` that is not a whole number >= 1.
            RunStateError: the run is finished.
        """
        self._check_open()
        ignored = {"criterion": criterion, "idx": idx, "log_graph": log_graph}
        self._watcher.watch(models, log, log_freq, ignored)

    def unwatch(self, models: Any = None) -> None:
        """Stop logging ``models`` (a module, or a list or tuple of them; None: every one
        watched), as ``run.unwatch`` in W&B. ``finish()`` stops them all.

        Raises:
            ConfigError: torch is not installed.
            InvalidArgumentError: a model that is not a ``torch.nn.Module``.
        """
        self._watcher.unwatch(models)

    def _check_open(self) -> None:
        if self._finished:
            raise RunStateError(f"run {self.id} is finished; start another with artstore.init()")

    # -- finishing ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything logged so far now (normally the writer thread does it)."""
        self._writer.flush()

    def mark_preempting(self) -> None:
        """Tag the run ``preempting`` (W&B's ``mark_preempting``): it may be stopped and
        resumed, so a stop is not a crash of the code."""
        self._check_open()
        if "preempting" not in self.tags:
            self.tags = (*self.tags, "preempting")

    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` has ended the run."""
        return self._finished

    def _finish_at_exit(self) -> None:
        # A run left open when the interpreter exits ends with the code the process exits
        # with: 1 after an uncaught exception (the interpreter keeps it in sys.last_value
        # before exit handlers run), else what sys.exit was given (decision 121), else 0.
        if getattr(sys, "last_value", None) is not None:
            self.finish(1)
        else:
            self.finish(exit_codes.code or 0)

    def finish(self, exit_code: int | None = 0, quiet: bool | None = None) -> None:
        """End the run: ``finished`` for exit code 0, else ``failed``; writes what is left.

        ``quiet`` is W&B's; artstore prints nothing when a run finishes.
        """
        if self._finished:
            return
        exit_code = exit_code or 0
        if self._make_dir is not None and self._dir is not None:
            self._keep_dir(self._dir)
        self._watcher.close()
        self._files.finish()
        self._finished = True
        atexit.unregister(self._finish_at_exit)
        exit_codes.release()
        why = f"run {self.id} is finished; start another with artstore.init()"
        self.config.close(why)
        self.summary.close(why)
        if self._console is not None:
            self._console.stop()
        # Summary and config were written whenever they changed (the last change goes with
        # this final batch), so only the status is set here: a run joined by another process
        # (``art run``) must not overwrite what that process recorded.
        fields: dict[str, Any] = {}
        if self._owns_status:
            fields.update(
                status="finished" if exit_code == 0 else "failed",
                exit_code=exit_code,
                finished_at=datetime.now(UTC),
            )
        self._writer.set_fields(**fields)
        self._writer.close()
        self._alerts.close()
        self._sink.close()
        if self._on_finish is not None:
            self._on_finish(self)

    def _keep_dir(self, folder: Path) -> None:
        # Every file under run.dir, subfolders included (a glob matches one level); a folder
        # name's own '[', '*' or '?' is no glob.
        for sub in sorted({folder, *(p.parent for p in folder.rglob("*") if p.is_file())}):
            escaped = glob.escape(sub.relative_to(folder).as_posix())
            self._files.save(save_glob(str(folder / escaped / "*"), folder, "end"))

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, SystemExit):
            self.finish(exit_code=exit_status(exc.code))
        else:
            self.finish(exit_code=0 if exc_type is None else 1)

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.name or self.id} ({self.id}) {self.mode}>"


def _check_step(step: Any) -> int:
    index = getattr(step, "__index__", None)  # int, numpy and torch integers; not floats
    number = index() if callable(index) and not isinstance(step, bool) else None
    if not isinstance(number, int) or not 0 <= number <= MAX_STEP:
        raise InvalidValueError(
            f"step must be a whole number from 0 to 2**63 - 1, not {str(step)[:40]!r}"
        )
    return number
