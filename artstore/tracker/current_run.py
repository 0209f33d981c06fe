"""The process's current run: ``artstore.init`` starts it, ``log`` and ``finish`` act on it."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import string
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from artstore.artifacts import Store, who
from artstore.artifacts.names import check_run_id
from artstore.errors import InvalidValueError, NotFoundError, RunStateError, UserError
from artstore.tracker.environment import run_environment
from artstore.tracker.mappings import to_plain
from artstore.tracker.run import Mode, Run, RunOptions
from artstore.tracker.sinks import CatalogSink, NullSink, RunSink, SpoolSink
from artstore.tracker.spool import SpoolWriter, spool_folder
from artstore.tracker.values import text_problem

__all__ = ["current", "finish", "forget", "init", "log"]

logger = logging.getLogger(__name__)

_ID_ALPHABET = string.ascii_lowercase + string.digits
_MODES = ("online", "offline", "disabled")

_run: Run | None = None
_failed_by_exception = False
_hooks_installed = False


def current() -> Run | None:
    """The run started by the last ``init()`` and not finished yet."""
    return _run


def forget(run: Run) -> None:
    """A finishing run's callback: it is no longer current."""
    global _run
    if _run is run:
        _run = None


def new_run_id() -> str:
    """Eight random lowercase letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    mode: Mode | None = None,
    store: Store | str | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    *,
    flush_interval: float = 1.0,
    flush_rows: int = 10_000,
    heartbeat_interval: float = 10.0,
    capture_console: bool = True,
    dir: str | Path | None = None,
) -> Run:
    """Start a run, as ``wandb.init`` does: ``with artstore.init(project="mnist") as run: ...``.

    Args:
        project: the run's project (default ``$ARTSTORE_PROJECT``, else ``uncategorized``).
        name: a display name.
        config: hyperparameters: a dict, dataclass or ``argparse.Namespace``.
        tags: labels for filtering.
        notes: free text.
        mode: ``online`` (write to the store), ``offline`` (spool to ``./artstore-runs``, then
            ``art sync``), ``disabled`` (no side effects); default ``$ARTSTORE_MODE`` or online.
        store: a ``Store`` or a store URL (default: as ``Store()`` finds it).
        id: the run id (default: random; ``$ARTSTORE_RUN_ID`` joins the run ``art run`` made).
        resume: ``"allow"`` (continue run ``id`` if it exists), ``"must"`` (it must exist), or
            None/``"never"`` (``id`` must be new).
        flush_interval: the longest time logged rows wait in memory, in seconds.
        flush_rows: the most rows that wait in memory.
        heartbeat_interval: seconds between heartbeats; a run silent for three intervals is
            shown as crashed.
        capture_console: keep stdout and stderr with the run.
        dir: where offline runs are spooled (default: the working folder).

    Raises:
        InvalidNameError: a malformed id.
        InvalidValueError: the project, name, notes or a tag holds a NUL character or a lone
            surrogate, which catalogs cannot store.
        NotFoundError: ``resume="must"`` and there is no such run.
        RunStateError: ``id`` exists and resuming was not asked for.
    """
    global _run
    if _run is not None:
        logger.warning("artstore.init: finishing the previous run %s first", _run.id)
        _run.finish()
    chosen: str = mode or os.environ.get("ARTSTORE_MODE") or "online"
    if chosen not in _MODES:
        raise UserError(f"mode must be one of {', '.join(_MODES)}, not {chosen!r}")
    run_mode: Mode = chosen  # type: ignore[assignment]
    project = project or os.environ.get("ARTSTORE_PROJECT") or "uncategorized"
    tags = list(tags or ())
    for what, text in [("project", project), ("name", name), ("notes", notes)] + [
        ("tag", tag) for tag in tags
    ]:
        _check_text(what, text)
    store_obj = store if isinstance(store, Store) else Store(store)
    options = RunOptions(
        flush_interval=flush_interval,
        flush_rows=flush_rows,
        heartbeat_interval=heartbeat_interval,
        capture_console=capture_console,
    )
    plain_config = to_plain(config or {}, "config")
    if not isinstance(plain_config, dict):
        raise UserError("config must be a mapping, dataclass or argparse.Namespace")
    policy = _resume_policy(resume)
    attach_to = None if id is not None else os.environ.get("ARTSTORE_RUN_ID")
    run_id = id or attach_to or new_run_id()
    check_run_id(run_id)

    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "project": project,
        "name": name,
        "config": plain_config,
        "tags": tags,
        "notes": notes,
        "user": who(),
        "created_at": now,
        "heartbeat_at": now,
        "heartbeat_timeout": options.heartbeat_timeout,
    }
    if run_mode == "disabled":
        run = Run(
            run_id=run_id,
            project=project,
            name=name,
            mode=run_mode,
            sink=NullSink(store_obj),
            options=_quiet(options),
            start_fields=fields,
            resume=False,
            config=plain_config,
            on_finish=forget,
        )
    elif run_mode == "offline":
        if policy != "never" or attach_to:
            raise RunStateError("offline runs cannot resume or join a run; resume it online")
        folder = spool_folder(Path(dir) if dir else Path.cwd(), run_id, now)
        sink: RunSink = SpoolSink(SpoolWriter(folder), store_obj)
        run = Run(
            run_id=run_id,
            project=project,
            name=name,
            mode=run_mode,
            sink=sink,
            options=options,
            start_fields={"id": run_id, **fields, **run_environment()},
            resume=False,
            config=plain_config,
            spool=folder,
            on_finish=forget,
        )
    else:
        run = _online(store_obj, run_id, fields, options, policy, attach_to is not None)
    _run = run
    _install_exit_hooks()
    return run


def _online(
    store: Store,
    run_id: str,
    fields: dict[str, Any],
    options: RunOptions,
    policy: str,
    attaching: bool,
) -> Run:
    runs = store.writable().repository.catalog.runs
    existing = runs.find(run_id)
    if attaching and existing is not None:
        # A process inside `art run`: log into that run; `art run` owns its status and console.
        options.capture_console = False
        policy = "allow"
    if existing is None and policy == "must":
        raise NotFoundError(f"no run {run_id!r} to resume in {store.url}; see: art runs")
    if existing is not None and policy == "never":
        raise RunStateError(
            f"run {run_id!r} already exists; pass resume='allow' to continue it, or another id"
        )
    if existing is None:
        return Run(
            run_id=run_id,
            project=fields["project"],
            name=fields["name"],
            mode="online",
            sink=CatalogSink(store, run_id),
            options=options,
            # Host and git state describe a new run; a disabled, joined or resumed one
            # would throw them away, so git is not asked there.
            start_fields={**fields, **run_environment()},
            resume=False,
            config=fields["config"],
            on_finish=forget,
        )
    config = {**existing.config, **fields["config"]}
    reopened = {
        "status": "running",
        "finished_at": None,
        "exit_code": None,
        "config": config,
        "heartbeat_timeout": fields["heartbeat_timeout"],
    }
    if fields["name"]:
        reopened["name"] = fields["name"]
    last = runs.max_step(run_id)
    return Run(
        run_id=run_id,
        project=existing.project,
        name=fields["name"] or existing.name,
        mode="online",
        sink=CatalogSink(store, run_id),
        options=options,
        start_fields={"config": config} if attaching else reopened,
        resume=True,
        first_step=0 if last is None else last + 1,
        config=config,
        summary=existing.summary,
        owns_status=not attaching,
        on_finish=forget,
    )


def _check_text(what: str, text: object) -> None:
    # The catalog's text columns cannot hold what log() refuses in keys and strings either.
    problem = text_problem(text) if isinstance(text, str) else None
    if problem is not None:
        raise InvalidValueError(f"run {what} {str(text)[:40]!r} {problem}")


def _resume_policy(resume: str | bool | None) -> str:
    if resume is None or resume is False or resume == "never":
        return "never"
    if resume is True or resume == "allow":
        return "allow"
    if resume == "must":
        return "must"
    raise UserError(f"resume must be 'allow', 'must' or 'never', not {resume!r}")


def _quiet(options: RunOptions) -> RunOptions:
    options.capture_console = False
    return options


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """``run.log`` on the current run.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
    """
    _require().log(data, step=step, commit=commit)


def finish(exit_code: int = 0) -> None:
    """Finish the current run, if there is one."""
    if _run is not None:
        _run.finish(exit_code)


def _require() -> Run:
    if _run is None:
        raise RunStateError("no run is active; call artstore.init() first")
    return _run


def _install_exit_hooks() -> None:
    # A normal interpreter exit finishes the run (failed if an exception ended the program).
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        global _failed_by_exception
        _failed_by_exception = True
        previous(kind, value, tb)

    sys.excepthook = excepthook
    atexit.register(lambda: finish(1 if _failed_by_exception else 0))
