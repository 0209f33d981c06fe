"""A sweep agent: lease a trial, run it as a tracked run, heartbeat, stop it early when
hyperband (or a cancel) says so, record its metric; again, up to ``count`` trials.

Each trial's run is created in the lease's transaction, its config the trial's parameters.
A command (``program``/``command``) runs as a child process that sees ``ARTSTORE_RUN_ID``
and ``ARTSTORE_SWEEP_ID``: its ``init()`` joins that run, and the sweep's parameters win over
the defaults it passes (``wandb.config`` in a W&B sweep's child is the same). A function runs
in this process with the same variables set around the call.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from artstore.sweeps.child import terminate, wait
from artstore.sweeps.command import args_json, trial_command
from artstore.sweeps.controller import (
    catalog_of,
    lease_next,
    lease_seconds,
    sweep_config,
)
from artstore.sweeps.hyperband import RunMetric, runs_to_stop

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage.catalog import Catalog
    from artstore.lineage.catalog_sweeps import SweepRecord, TrialRecord
    from artstore.sweeps.config import SweepConfig

__all__ = [
    "GRACE_ENV",
    "SWEEP_ENV",
    "AgentResult",
    "TrialOutcome",
    "agent",
    "run_agent",
    "store_environment",
]

logger = logging.getLogger(__name__)

#: The variable naming the sweep a child process's run belongs to.
SWEEP_ENV = "ARTSTORE_SWEEP_ID"
#: Seconds between SIGTERM and SIGKILL when a trial is stopped (default 10).
GRACE_ENV = "ARTSTORE_SWEEP_GRACE"
# How often, at most, an agent heartbeats and asks hyperband about its trial.
_POLL = 5.0
# How often an agent with nothing to lease asks again while other agents' trials run: soon
# enough that agents end together when the last trial ends, one small transaction each.
_IDLE = 1.0


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """How one trial this agent ran ended."""

    number: int
    run_id: str
    state: str
    metric: float | None
    recorded: bool


@dataclass(frozen=True, slots=True)
class AgentResult:
    """The trials an agent ran, in order, and why it stopped leasing."""

    sweep_id: str
    trials: tuple[TrialOutcome, ...]
    reason: str


@dataclass
class _Watch:
    """What the heartbeat thread learnt about the running trial."""

    stop: str | None = None  # why the trial is being stopped: "hyperband", "cancelled", "lost"
    done: threading.Event = field(default_factory=threading.Event)


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
    *,
    store: Store | str | None = None,
) -> AgentResult:
    """``wandb.agent``: run trials of a sweep in this process (``function``) or as the
    config's command, up to ``count`` trials. ``entity`` and ``project`` are W&B's; the sweep
    id names the sweep in the catalog, so they are not needed.

    Raises:
        NotFoundError: no such sweep.
        InvalidArgumentError: ``count`` is below 1.
        ConfigError: a bad ``$ARTSTORE_SWEEP_LEASE`` or ``$ARTSTORE_SWEEP_GRACE``.
        FileAccessError: the command's program cannot start (its trial is recorded failed).
    """
    from artstore.artifacts import Store
    from artstore.errors import InvalidArgumentError

    if count is not None and count < 1:
        raise InvalidArgumentError(f"count must be at least 1, not {count}")
    chosen = store if isinstance(store, Store) else Store(store)
    return run_agent(
        chosen, sweep_id, function=function, count=count, env=store_environment(chosen)
    )


def run_agent(
    store: Store,
    sweep_id: str,
    *,
    function: Callable[[], Any] | None = None,
    count: int | None = None,
    env: Mapping[str, str] | None = None,
    echo: IO[str] | None = None,
) -> AgentResult:
    """Run trials of a sweep until it has none left, or ``count`` trials were run.

    Args:
        store: the store whose catalog holds the sweep.
        function: called once per trial in this process (``wandb.agent(function=)``); its
            ``init()`` gets the parameters in ``config``. None runs the config's command.
        count: at most this many trials.
        env: more variables for each trial's process (the catalog URL the agent was given).
        echo: where a command's output is copied (stdout by default).

    Raises:
        NotFoundError: no such sweep.
        ConfigError: ``$ARTSTORE_SWEEP_LEASE`` or ``$ARTSTORE_SWEEP_GRACE`` is not a number
            of seconds.
        InvalidSweepConfigError: the command needs what is not there (``${envvar:}``).
        FileAccessError: the command's program cannot start (its trial is recorded failed).
    """
    from artstore.artifacts.identity import who
    from artstore.tracker.current_run import new_run_id

    catalog = catalog_of(store)
    sweep = catalog.sweeps.get(sweep_id)
    user = who()
    me = _Agent(
        catalog=catalog,
        sweep=sweep,
        config=sweep_config(sweep),
        name=f"{user}/{os.getpid()}/{new_run_id()}",
        seconds=lease_seconds(),
        grace=_grace(),
        function=function,
        env=dict(env or {}),
        echo=echo,
    )
    outcomes: list[TrialOutcome] = []
    reason = f"ran {count} trials"
    environment = _environment()
    with tempfile.TemporaryDirectory(prefix="artstore-agent-") as folder:
        while count is None or len(outcomes) < count:
            args_file = Path(folder) / f"args-{len(outcomes)}.json"
            launch = _Launch(sweep, me.config, args_file, function is None, user, environment)
            lease = lease_next(
                catalog, sweep, me.name, seconds=me.seconds, run_fields=launch.fields
            )
            for number in lease.requeued:
                logger.warning(
                    "sweep %s: trial %d's lease expired; it is queued again", sweep_id, number
                )
            if lease.trial is None and lease.wait:
                # Another agent's trial may yet be queued again (its agent dies).
                time.sleep(min(me.seconds / 3, _IDLE))
                continue
            if lease.trial is None:
                reason = lease.reason or "no trial"
                break
            if function is None:
                launch.args_file.write_text(args_json(lease.trial.params), encoding="utf-8")
            outcomes.append(_run_trial(me, lease.trial, launch.argv))
    return AgentResult(sweep_id, tuple(outcomes), reason)


@dataclass(frozen=True, slots=True)
class _Agent:
    """What every trial of one agent shares: the catalog, the sweep, the agent's name, its
    lease and grace seconds, and how it runs a trial (a function, or a command with ``env``
    added and its output copied to ``echo``)."""

    catalog: Catalog
    sweep: SweepRecord
    config: SweepConfig
    name: str
    seconds: float
    grace: float
    function: Callable[[], Any] | None
    env: dict[str, str]
    echo: IO[str] | None


def _run_trial(me: _Agent, trial: TrialRecord, argv: list[str]) -> TrialOutcome:
    assert trial.run_id is not None
    run_id, sweep = trial.run_id, me.sweep
    logger.info(
        "sweep %s: trial %d, run %s: %s", sweep.id, trial.number, run_id, json.dumps(trial.params)
    )
    variables = {"ARTSTORE_RUN_ID": run_id, SWEEP_ENV: sweep.id, **me.env}
    watch = _Watch()
    child: subprocess.Popen[bytes] | None = None
    if me.function is None:
        try:
            child = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **variables},
            )
        except OSError as exc:
            _not_started(me, trial, argv, exc)
    beat = threading.Thread(
        target=_heartbeat,
        args=(me, trial, watch, child),
        name=f"artstore-sweep-{sweep.id}-{trial.number}",
        daemon=True,
    )
    beat.start()
    try:
        if child is not None:
            code = wait(me.catalog, run_id, child, me.echo)
        else:
            code = _call(me.function, variables, run_id)
    finally:
        watch.done.set()
        beat.join()
    state, status = _ending(code, watch.stop)
    metric = _metric(me.catalog, me.config, run_id, state)
    recorded = me.catalog.sweeps.record(
        sweep.id,
        trial.number,
        me.name,
        state=state,
        metric=metric,
        run={"status": status, "exit_code": code},
    )
    if not recorded:
        logger.warning(
            "sweep %s: trial %d was leased again after this agent's lease expired",
            sweep.id,
            trial.number,
        )
    return TrialOutcome(trial.number, run_id, state, metric, recorded)


def _not_started(me: _Agent, trial: TrialRecord, argv: list[str], exc: OSError) -> NoReturn:
    # Every trial would fail the same way: the trial is recorded failed with the shell's
    # exit code (127 not found, 126 cannot run) and the agent stops (decision 153).
    from artstore.errors import FileAccessError

    code = 127 if isinstance(exc, FileNotFoundError) else 126
    me.catalog.sweeps.record(
        me.sweep.id,
        trial.number,
        me.name,
        state="failed",
        metric=None,
        run={"status": "failed", "exit_code": code},
    )
    reason = exc.strerror or str(exc)
    raise FileAccessError(argv[0], f"the trial's program cannot start ({reason})") from None


def _heartbeat(
    me: _Agent, trial: TrialRecord, watch: _Watch, child: subprocess.Popen[bytes] | None
) -> None:
    # Extends the lease, and asks whether the trial must stop: the sweep was cancelled,
    # hyperband stops its run, or the lease was lost (another agent re-queued the trial).
    sweep_id = me.sweep.id
    while not watch.done.wait(min(me.seconds / 3, _POLL)):
        try:
            state = me.catalog.sweeps.heartbeat(sweep_id, trial.number, me.name, seconds=me.seconds)
            # A function cannot be signalled: only a lost lease ends its heartbeats.
            if state is None:
                watch.stop = "lost"
            elif child is not None and state == "cancelled":
                watch.stop = "cancelled"
            elif child is not None and _hyperband_stops(me, trial):
                watch.stop = "hyperband"
        except Exception:  # (a catalog hiccup must not end the trial)
            logger.warning("sweep %s: heartbeat failed", sweep_id, exc_info=True)
            continue
        if watch.stop is not None:
            logger.info("sweep %s: stopping trial %d (%s)", sweep_id, trial.number, watch.stop)
            if child is not None:
                terminate(child, me.grace, watch.done)
            return


def _hyperband_stops(me: _Agent, trial: TrialRecord) -> bool:
    config = me.config
    if config.early_terminate is None or config.metric is None:
        return False
    found = me.catalog.sweeps.histories(me.sweep.id, config.metric.name)
    runs = {run: RunMetric(history, state == "running") for run, (state, history) in found.items()}
    stops = runs_to_stop(config.early_terminate, config.metric.goal, runs)
    return any(stop.run == trial.run_id for stop in stops)


def _call(function: Callable[[], Any] | None, variables: Mapping[str, str], run_id: str) -> int:
    from artstore.tracker import current_run

    assert function is not None
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    code = 0
    try:
        function()
    except Exception:  # (W&B's agent reports a failed trial and goes on)
        traceback.print_exc()
        code = 1
    finally:
        run = current_run.current()
        if run is not None and run.id == run_id and not run.finished:
            run.finish()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return code


def _ending(code: int, stop: str | None) -> tuple[str, str]:
    """(trial state, run status) of a trial that exited with ``code``."""
    if stop == "hyperband":
        return "stopped", "killed"
    if stop is not None:
        return "failed", "killed"
    return ("finished", "finished") if code == 0 else ("failed", "failed")


def _metric(catalog: Catalog, config: SweepConfig, run_id: str, state: str) -> float | None:
    """The run's summary value of the metric, or for a stopped run its last logged value."""
    if config.metric is None:
        return None
    name = config.metric.name
    if state != "stopped":
        value = catalog.runs.get(run_id).summary.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    rows = catalog.runs.history(run_id, [name])
    values = [row[name] for row in rows if isinstance(row.get(name), int | float)]
    return float(values[-1]) if values else None


@dataclass
class _Launch:
    """One trial's command line and run columns, made inside the lease's transaction once
    the trial's number and parameters are known."""

    sweep: SweepRecord
    config: SweepConfig
    args_file: Path
    command: bool
    user: str
    environment: Mapping[str, Any]
    argv: list[str] = field(default_factory=list)

    def fields(self, number: int, params: Mapping[str, Any]) -> dict[str, Any]:
        from artstore.redaction import redact_argv
        from artstore.tracker.current_run import new_run_id

        found: dict[str, Any] = {
            **self.environment,
            "id": new_run_id(),
            "project": self.sweep.project,
            "name": f"{self.sweep.name or self.sweep.id}-{number}",
            "user": self.user,
        }
        if self.command:
            self.argv = self._argv(params, os.environ)
            # The stored command keeps ${envvar:NAME} unexpanded: a variable's value may be
            # a credential redaction cannot recognise.
            kept = self._argv(params, {name: "${envvar:" + name + "}" for name in os.environ})
            found["command"] = shlex.join(redact_argv(kept))
        return found

    def _argv(self, params: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
        return trial_command(
            self.config.command,
            program=self.config.program,
            parameters=self.config.parameters,
            params=params,
            interpreter=sys.executable,
            args_json_file=str(self.args_file),
            environ=environ,
        )


def _environment() -> dict[str, Any]:
    from artstore.tracker.environment import run_environment

    found = run_environment()
    return {
        key: value
        for key, value in found.items()
        if key in ("host", "python", "git_commit", "git_dirty")
    }


def _grace() -> float:
    from artstore.settings import env_seconds

    return env_seconds(GRACE_ENV, 10.0)


def store_environment(store: Store, db: str | None = None) -> dict[str, str]:
    """The variables that make a trial's process open ``store``: ``ARTSTORE_URL`` (a local
    path made absolute, as the process may start elsewhere) and ``ARTSTORE_DB`` if given."""
    url = store.location.url
    env = {"ARTSTORE_URL": url if "://" in url else os.path.abspath(url)}
    if db:
        env["ARTSTORE_DB"] = db
    return env
