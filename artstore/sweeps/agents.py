"""A sweep agent: lease a trial, run it as a tracked run, heartbeat, stop it early when
hyperband (or a cancel) says so, record its metric; again, up to ``count`` trials.

Each trial's run is created in the lease's transaction, its config the trial's parameters.
A command (``program``/``command``) runs as a child process that sees ``ARTSTORE_RUN_ID``
and ``ARTSTORE_SWEEP_ID``: its ``init()`` joins that run, and the sweep's parameters win over
the defaults it passes (``wandb.config`` in a W&B sweep's child is the same). A function runs
in this process with the same variables set around the call.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

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

__all__ = ["GRACE_ENV", "SWEEP_ENV", "AgentResult", "TrialOutcome", "agent", "run_agent"]

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
        InvalidArgumentError: ``count`` is below 1, or a bad ``$ARTSTORE_SWEEP_LEASE``.
    """
    from artstore.artifacts import Store
    from artstore.errors import InvalidArgumentError

    if count is not None and count < 1:
        raise InvalidArgumentError(f"count must be at least 1, not {count}")
    chosen = store if isinstance(store, Store) else Store(store)
    env = {"ARTSTORE_URL": _absolute(chosen.location.url)}
    return run_agent(chosen, sweep_id, function=function, count=count, env=env)


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
        InvalidArgumentError: ``$ARTSTORE_SWEEP_LEASE`` or ``$ARTSTORE_SWEEP_GRACE`` is bad.
        InvalidSweepConfigError: the command needs what is not there (``${envvar:}``).
    """
    from artstore.artifacts.identity import who
    from artstore.tracker.current_run import new_run_id

    seconds = lease_seconds()
    grace = _grace()
    catalog = catalog_of(store)
    sweep = catalog.sweeps.get(sweep_id)
    config = sweep_config(sweep)
    agent = f"{who()}/{os.getpid()}/{new_run_id()}"
    outcomes: list[TrialOutcome] = []
    reason = f"ran {count} trials"
    environment = _environment()
    with tempfile.TemporaryDirectory(prefix="artstore-agent-") as folder:
        while count is None or len(outcomes) < count:
            launch = _Launch(sweep, config, Path(folder) / f"args-{len(outcomes)}.json")
            launch.command = function is None
            launch.user, launch.environment = who(), environment
            lease = lease_next(catalog, sweep, agent, seconds=seconds, run_fields=launch.fields)
            for number in lease.requeued:
                logger.warning(
                    "sweep %s: trial %d's lease expired; it is queued again", sweep_id, number
                )
            if lease.trial is None and lease.wait:
                # Another agent's trial may yet be queued again (its agent dies).
                time.sleep(min(seconds / 3, _IDLE))
                continue
            if lease.trial is None:
                reason = lease.reason or "no trial"
                break
            trial = lease.trial
            if function is None:
                launch.args_file.write_text(args_json(trial.params), encoding="utf-8")
            outcomes.append(
                _run_trial(
                    catalog,
                    sweep,
                    config,
                    trial,
                    agent,
                    seconds,
                    grace,
                    function,
                    launch.argv,
                    env,
                    echo,
                )
            )
    return AgentResult(sweep_id, tuple(outcomes), reason)


def _run_trial(
    catalog: Catalog,
    sweep: SweepRecord,
    config: SweepConfig,
    trial: TrialRecord,
    agent: str,
    seconds: float,
    grace: float,
    function: Callable[[], Any] | None,
    argv: list[str],
    env: Mapping[str, str] | None,
    echo: IO[str] | None,
) -> TrialOutcome:
    assert trial.run_id is not None
    run_id = trial.run_id
    logger.info(
        "sweep %s: trial %d, run %s: %s", sweep.id, trial.number, run_id, json.dumps(trial.params)
    )
    variables = {"ARTSTORE_RUN_ID": run_id, SWEEP_ENV: sweep.id, **(env or {})}
    watch = _Watch()
    child: subprocess.Popen[bytes] | None = None
    if function is None:
        child = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **variables},
        )
    beat = threading.Thread(
        target=_heartbeat,
        args=(catalog, sweep, config, trial, agent, seconds, grace, watch, child),
        name=f"artstore-sweep-{sweep.id}-{trial.number}",
        daemon=True,
    )
    beat.start()
    try:
        code = _wait(catalog, run_id, child, echo) if child else _call(function, variables, run_id)
    finally:
        watch.done.set()
        beat.join()
    state, status = _ending(code, watch.stop)
    metric = _metric(catalog, config, run_id, state)
    recorded = catalog.sweeps.record(
        sweep.id,
        trial.number,
        agent,
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


def _heartbeat(
    catalog: Catalog,
    sweep: SweepRecord,
    config: SweepConfig,
    trial: TrialRecord,
    agent: str,
    seconds: float,
    grace: float,
    watch: _Watch,
    child: subprocess.Popen[bytes] | None,
) -> None:
    # Extends the lease, and asks whether the trial must stop: the sweep was cancelled,
    # hyperband stops its run, or the lease was lost (another agent re-queued the trial).
    interval = min(seconds / 3, _POLL)
    while not watch.done.wait(interval):
        try:
            state = catalog.sweeps.heartbeat(sweep.id, trial.number, agent, seconds=seconds)
            if state is None:
                watch.stop = "lost"
            elif state == "cancelled":
                watch.stop = "cancelled"
            elif _hyperband_stops(catalog, sweep, config, trial):
                watch.stop = "hyperband"
        except Exception:  # (a catalog hiccup must not end the trial)
            logger.warning("sweep %s: heartbeat failed", sweep.id, exc_info=True)
            continue
        if watch.stop is not None:
            logger.info("sweep %s: stopping trial %d (%s)", sweep.id, trial.number, watch.stop)
            if child is not None:
                _terminate(child, grace, watch.done)
            return


def _hyperband_stops(
    catalog: Catalog, sweep: SweepRecord, config: SweepConfig, trial: TrialRecord
) -> bool:
    if config.early_terminate is None or config.metric is None:
        return False
    found = catalog.sweeps.histories(sweep.id, config.metric.name)
    runs = {run: RunMetric(history, state == "running") for run, (state, history) in found.items()}
    stops = runs_to_stop(config.early_terminate, config.metric.goal, runs)
    return any(stop.run == trial.run_id for stop in stops)


def _terminate(child: subprocess.Popen[bytes], grace: float, done: threading.Event) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    if not done.wait(grace) and child.poll() is None:
        child.kill()


def _wait(
    catalog: Catalog, run_id: str, child: subprocess.Popen[bytes], echo: IO[str] | None
) -> int:
    assert child.stdout is not None and child.stderr is not None
    console = _Console(catalog, run_id)
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, echo or sys.stdout, "stdout", console)),
        threading.Thread(target=_pump, args=(child.stderr, sys.stderr, "stderr", console)),
    ]
    for pump in pumps:
        pump.start()
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.terminate()
        child.wait()
        raise
    finally:
        for pump in pumps:
            pump.join()
    return code


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


class _Console:
    """Keeps a child's output with its run (the child's own ``init()`` joins the run and
    leaves its console to the agent, as under ``art run``)."""

    def __init__(self, catalog: Catalog, run_id: str) -> None:
        self._catalog = catalog
        self._run_id = run_id
        self._seq = 0
        self._lock = threading.Lock()

    def keep(self, stream: str, text: str) -> None:
        with self._lock:
            self._seq += 1
            row = (self._run_id, self._seq, stream, text, time.time())
            try:
                self._catalog.runs.write_batch(self._run_id, [], [row], {})
            except Exception:  # (losing console text must not fail the trial)
                logger.warning("could not keep the trial's console output", exc_info=True)


def _pump(source: IO[bytes], target: IO[str], stream: str, console: _Console) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := source.read1(65536) if hasattr(source, "read1") else source.read(65536):
        text = decoder.decode(chunk)
        if text:
            target.write(text)
            target.flush()
            console.keep(stream, text)
    tail = decoder.decode(b"", final=True)
    if tail:
        target.write(tail)
        console.keep(stream, tail)


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
    command: bool = True
    user: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)
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
            self.argv = trial_command(
                self.config.command,
                program=self.config.program,
                parameters=self.config.parameters,
                params=params,
                interpreter=sys.executable,
                args_json_file=str(self.args_file),
            )
            found["command"] = shlex.join(redact_argv(self.argv))
        return found


def _environment() -> dict[str, Any]:
    from artstore.tracker.environment import run_environment

    found = run_environment()
    return {
        key: value
        for key, value in found.items()
        if key in ("host", "python", "git_commit", "git_dirty")
    }


def _grace() -> float:
    from artstore.errors import InvalidArgumentError

    text = os.environ.get(GRACE_ENV, "").strip()
    if not text:
        return 10.0
    try:
        return max(0.0, float(text))
    except ValueError:
        raise InvalidArgumentError(
            f"{GRACE_ENV} must be a number of seconds, not {text!r}"
        ) from None


def _absolute(url: str) -> str:
    return url if "://" in url else os.path.abspath(url)
