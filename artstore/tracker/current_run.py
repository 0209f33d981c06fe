"""The process's current run: ``artstore.init`` starts it, ``log`` and ``finish`` act on it."""

from __future__ import annotations

import logging
import os
import secrets
import string
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from artstore.artifacts import Artifact, ArtifactVersion, Store, who
from artstore.artifacts.names import check_run_id
from artstore.errors import (
    InvalidArgumentError,
    NotFoundError,
    RunStateError,
    UserError,
)
from artstore.tracker.environment import run_environment
from artstore.tracker.habits import Settings, environ, ignore
from artstore.tracker.mappings import Config, to_plain
from artstore.tracker.metrics import MetricDefinition
from artstore.tracker.run import Mode, Run, RunOptions
from artstore.tracker.sinks import CatalogSink, NullSink, SpoolSink
from artstore.tracker.spool import SpoolWriter, spool_folder
from artstore.tracker.values import check_run_text

__all__ = [
    "current",
    "define_metric",
    "finish",
    "forget",
    "init",
    "log",
    "log_artifact",
    "mark_preempting",
    "unwatch",
    "use_artifact",
    "watch",
]

logger = logging.getLogger(__name__)

_ID_ALPHABET = string.ascii_lowercase + string.digits
_MODES = ("online", "offline", "disabled")

# The run init() started, for its context and the contexts copied from it (asyncio tasks,
# copy_context().run). A thread the user starts begins with an empty context, so the
# process's active run stands in there, as W&B's wandb.run does for every thread.
_context_run: ContextVar[Run | None] = ContextVar("artstore_current_run", default=None)
_process_run: Run | None = None
_REINIT = {
    None: "finish_previous",
    True: "finish_previous",
    "default": "finish_previous",
    "finish_previous": "finish_previous",
    False: "return_previous",
    "return_previous": "return_previous",
}


def current() -> Run | None:
    """The run started by the last ``init()`` and not finished yet: this context's, else the
    process's (so a thread the user started sees it too)."""
    run = _context_run.get()
    if run is None or run.finished:
        return _process_run
    return run


def forget(run: Run) -> None:
    """A finishing run's callback: it is no longer current."""
    global _process_run
    if _process_run is run:
        _process_run = None
    if _context_run.get() is run:
        _context_run.set(None)


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
    entity: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    reinit: bool | str | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    allow_val_change: bool | None = None,
    settings: Settings | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    save_code: bool | None = None,
    anonymous: str | None = None,
    force: bool | None = None,
    magic: Any = None,
    tensorboard: bool | None = None,
    sync_tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
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
        dir: where offline runs are spooled (default: ``$WANDB_DIR``, else the working folder).
        entity: W&B's team or user name, kept with the run (default ``$WANDB_ENTITY``).
        group: kept as the tag ``group:<group>``.
        job_type: kept as the tag ``job_type:<job_type>``.
        reinit: what happens to a run still going: True, None, ``"default"`` or
            ``"finish_previous"`` finish it (None with a warning); False or
            ``"return_previous"`` return it; artstore has one current run per process.
        config_exclude_keys: keys of ``config`` not kept.
        config_include_keys: the only keys of ``config`` kept.
        allow_val_change: True lets ``run.config`` change a key's value.
        settings: a :class:`Settings`; what it holds fills in what is not given here.
        resume_from: refused: artstore does not rewind a run (continue it with ``resume``).
        fork_from: refused: artstore does not fork a run.
        save_code, anonymous, force, magic, tensorboard, sync_tensorboard, monitor_gym: W&B's;
            accepted and ignored, with one warning.

    Raises:
        InvalidArgumentError: ``resume_from`` or ``fork_from``, an unknown ``reinit``, or
            include and exclude keys together.
        InvalidNameError: a malformed id.
        InvalidValueError: the project, name, notes or a tag holds a NUL character or a lone
            surrogate, which catalogs cannot store.
        NotFoundError: ``resume="must"`` and there is no such run.
        RunStateError: ``id`` exists and resuming was not asked for.
    """
    global _process_run
    if resume_from is not None or fork_from is not None:
        raise InvalidArgumentError(
            "artstore does not rewind or fork a run; continue one with "
            "init(id=..., resume='allow'), or start a new one"
        )
    ignore(
        "artstore.init",
        {
            "save_code": save_code,
            "anonymous": anonymous,
            "force": force,
            "magic": magic,
            "tensorboard": tensorboard,
            "sync_tensorboard": sync_tensorboard,
            "monitor_gym": monitor_gym,
        },
    )
    if reinit not in _REINIT:
        raise InvalidArgumentError(
            f"reinit must be True, False, 'finish_previous' or 'return_previous', not "
            f"{reinit!r}; artstore has one current run per process"
        )
    previous = current()
    if previous is not None:
        if _REINIT[reinit] == "return_previous":
            return previous
        if reinit is None:
            logger.warning("artstore.init: finishing the previous run %s first", previous.id)
        previous.finish()
    given = settings or Settings()
    chosen: str = mode or given.mode or environ("mode") or "online"
    if chosen not in _MODES:
        raise UserError(f"mode must be one of {', '.join(_MODES)}, not {chosen!r}")
    run_mode: Mode = chosen  # type: ignore[assignment]
    # A project asked for (not the default) must be a resumed run's own.
    asked_project = project or given.project or environ("project")
    project = asked_project or "uncategorized"
    name = name or given.run_name
    notes = notes or given.run_notes
    id = id or given.run_id
    entity = entity or given.entity or environ("entity")
    dir = dir or given.root_dir or environ("dir")
    if given.console == "off":
        capture_console = False
    tags = list(tags or given.run_tags or ())
    group, job_type = group or given.run_group, job_type or given.run_job_type
    tags += [
        f"{label}:{value}" for label, value in (("group", group), ("job_type", job_type)) if value
    ]
    named = [("project", project), ("name", name), ("notes", notes), ("entity", entity)]
    for what, text in named + [("tag", tag) for tag in tags]:
        check_run_text(what, text)
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
    plain_config = _chosen_keys(plain_config, config_include_keys, config_exclude_keys)
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
    if entity is not None:
        fields["entity"] = entity
    habits: dict[str, Any] = {
        "entity": entity,
        "tags": tags,
        "notes": notes,
        "allow_val_change": bool(allow_val_change),
    }
    # One builder for the four ways a run starts; each passes what differs.
    build = partial(
        Run,
        run_id=run_id,
        project=project,
        name=name,
        mode=run_mode,
        options=options,
        resume=False,
        config=plain_config,
        on_finish=forget,
        make_dir=_run_folder(run_id),
        **habits,
    )
    if run_mode == "disabled":
        options.capture_console = False
        run = build(sink=NullSink(store_obj), start_fields=fields)
    elif run_mode == "offline":
        if policy != "never" or attach_to:
            raise RunStateError("offline runs cannot resume or join a run; resume it online")
        folder = spool_folder(Path(dir) if dir else Path.cwd(), run_id, now)
        run = build(
            sink=SpoolSink(SpoolWriter(folder), store_obj),
            start_fields={"id": run_id, **fields, **run_environment()},
            spool=folder,
            make_dir=None,
        )
    else:
        joining = attach_to is not None
        run = _online(
            build, store_obj, run_id, fields, options, policy, joining, habits, asked_project
        )
    _process_run = run
    _context_run.set(run)
    return run


def _online(
    build: Callable[..., Run],
    store: Store,
    run_id: str,
    fields: dict[str, Any],
    options: RunOptions,
    policy: str,
    attaching: bool,
    habits: dict[str, Any],
    asked_project: str | None,
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
        # Host and git state describe a new run; a disabled, joined or resumed one would
        # throw them away, so git is not asked there.
        return build(sink=CatalogSink(store, run_id), start_fields={**fields, **run_environment()})
    if asked_project not in (None, existing.project):
        if not attaching:
            raise RunStateError(
                f"run {run_id!r} is in project {existing.project!r}, not {asked_project!r}; "
                "resume it with its own project or none"
            )
        # `art run` made the run and chose its project; the command it runs only joins it.
        logger.warning(
            "artstore.init: joining run %s of project %r made by art run, not project %r; "
            "pass art run --project to choose it",
            run_id,
            existing.project,
            asked_project,
        )
    # init's config passes the rule every later change does: a key keeps its value unless
    # allow_val_change is given.
    checked = Config(lambda: None, allow_val_change=habits["allow_val_change"])
    checked.load(existing.config)
    given = fields["config"]
    if attaching and os.environ.get("ARTSTORE_SWEEP_ID"):
        # A sweep agent made the run with the trial's parameters: they win over the defaults
        # the script passes, as they do in a W&B sweep.
        given = {key: value for key, value in given.items() if key not in existing.config}
    checked.update(given)
    config = checked.as_dict()
    # An entity is fixed when a run starts; resuming may only fill in one it lacks.
    entity = existing.entity or habits["entity"]
    if habits["entity"] not in (None, entity):
        raise RunStateError(
            f"run {run_id!r} has entity {entity!r}, not {habits['entity']!r}; resume it "
            "with its own entity or none"
        )
    tags = [*existing.tags, *(t for t in dict.fromkeys(habits["tags"]) if t not in existing.tags)]
    changed: dict[str, Any] = {"config": config}
    if entity != existing.entity:
        changed["entity"] = entity
    if tags != list(existing.tags):
        changed["tags"] = tags
    if fields["name"]:
        changed["name"] = fields["name"]
    if fields["notes"] is not None:
        changed["notes"] = fields["notes"]
    reopened = {
        "status": "running",
        "finished_at": None,
        "exit_code": None,
        "heartbeat_timeout": fields["heartbeat_timeout"],
    }
    last = runs.max_step(run_id)
    return build(
        project=existing.project,
        name=fields["name"] or existing.name,
        sink=CatalogSink(store, run_id),
        start_fields=changed if attaching else {**reopened, **changed},
        resume=True,
        first_step=0 if last is None else last + 1,
        config=config,
        summary=existing.summary,
        owns_status=not attaching,
        entity=entity,
        tags=tags,
        notes=changed.get("notes", existing.notes),
    )


def _run_folder(run_id: str) -> Callable[[], Path]:
    # W&B's run.dir for an online run: a local folder whose files finish() keeps. It is made
    # in the temporary folder on first use, and left there: removing it after finish() would
    # lose a file that could not be kept.
    return lambda: Path(tempfile.mkdtemp(prefix=f"artstore-run-{run_id}-"))


def _chosen_keys(
    config: dict[str, Any], include: Sequence[str] | None, exclude: Sequence[str] | None
) -> dict[str, Any]:
    # W&B's config_include_keys / config_exclude_keys: they filter init's config only.
    if include is not None and exclude is not None:
        raise InvalidArgumentError("pass config_include_keys or config_exclude_keys, not both")
    if include is not None:
        return {k: v for k, v in config.items() if k in set(include)}
    return {k: v for k, v in config.items() if k not in set(exclude or ())}


def _resume_policy(resume: str | bool | None) -> str:
    if resume is None or resume is False or resume == "never":
        return "never"
    if resume is True or resume == "allow":
        return "allow"
    if resume == "must":
        return "must"
    raise UserError(f"resume must be 'allow', 'must' or 'never', not {resume!r}")


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``run.log`` on the current run.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
    """
    _require().log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one (``quiet`` is W&B's; nothing is printed)."""
    run = current()
    if run is not None:
        run.finish(exit_code)


def define_metric(name: str, *args: Any, **kwargs: Any) -> MetricDefinition:
    """:meth:`Run.define_metric` (W&B's arguments and summary shapes) on the current run.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
        InvalidArgumentError: an unknown summary kind or goal.
    """
    return _require().define_metric(name, *args, **kwargs)


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | Sequence[str] | None = None,
    type: str | None = None,
    aliases: Sequence[str] | str | None = None,
    tags: Sequence[str] | None = None,
) -> ArtifactVersion | None:
    """W&B's ``wandb.log_artifact``: :meth:`Run.log_artifact` on the current run, an
    :class:`Artifact` or a file or folder logged as one.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
        InvalidArgumentError: as :meth:`Run.log_artifact`: ``tags``, ``name``/``type`` with
            an :class:`Artifact`, or a wrong type.
        NotFoundError: the path does not exist.
    """
    return _require().log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(ref: str | ArtifactVersion, type: str | None = None) -> ArtifactVersion:
    """``run.use_artifact`` on the current run; ``type``, if given, must be the version's.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
        InvalidArgumentError: the version is of another type (its use is not recorded).
    """
    return _require().use_artifact(ref, type)


def mark_preempting() -> None:
    """``run.mark_preempting`` on the current run: tags it ``preempting``.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
    """
    _require().mark_preempting()


def watch(models: Any, *args: Any, **kwargs: Any) -> None:
    """:meth:`Run.watch` (W&B's arguments) on the current run: histograms of a torch model's
    gradients and parameters.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
        ConfigError: torch is not installed.
        InvalidArgumentError: a model that is not a ``torch.nn.Module``, an unknown ``log``,
            or a ``log_freq`` that is not a whole number >= 1.
    """
    _require().watch(models, *args, **kwargs)


def unwatch(models: Any = None) -> None:
    """:meth:`Run.unwatch` on the current run: its hooks on ``models`` (None: all) removed.

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
        InvalidArgumentError: a model that is not a ``torch.nn.Module``.
    """
    _require().unwatch(models)


def _require() -> Run:
    run = current()
    if run is None:
        raise RunStateError("no run is active; call artstore.init() first")
    return run
