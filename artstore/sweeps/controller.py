"""The sweep controller over the catalog: creating a sweep, leasing its next trial, stopping
or cancelling it, and its trials ranked by the metric.

There is no controller process: every agent runs the controller's step (requeue expired
leases, lease a queued trial or propose a new one) inside one catalog transaction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artstore.errors import InvalidSweepConfigError
from artstore.redaction import redact_argv
from artstore.settings import env_seconds
from artstore.sweeps.config import SweepConfig, parse_sweep_config
from artstore.sweeps.search import propose
from artstore.sweeps.trials import Trial

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage.catalog import Catalog
    from artstore.lineage.catalog_sweeps import Lease, RunFields, SweepRecord, TrialRecord

__all__ = [
    "LEASE_ENV",
    "SweepView",
    "cancel_sweep",
    "create_sweep",
    "lease_next",
    "lease_seconds",
    "ranked",
    "show_sweep",
    "stop_sweep",
    "sweep",
    "sweep_config",
]

#: Seconds an agent's lease on a trial lasts without a heartbeat (default 60).
LEASE_ENV = "ARTSTORE_SWEEP_LEASE"
_DEFAULT_LEASE = 60.0


@dataclass(frozen=True, slots=True)
class SweepView:
    """A sweep with its trials ranked by the metric (best first; trials without a value
    after, by number) and the best trial's parameters."""

    sweep: SweepRecord
    trials: tuple[TrialRecord, ...]
    best: TrialRecord | None


def catalog_of(store: Store) -> Catalog:
    """The catalog of a store that may be written (``./.artstore`` is created if missing)."""
    return store.writable().repository.catalog


def lease_seconds() -> float:
    """How long a lease lasts: ``$ARTSTORE_SWEEP_LEASE`` seconds, else 60.

    Raises:
        ConfigError: the variable is not a number of seconds > 0.
    """
    return env_seconds(LEASE_ENV, _DEFAULT_LEASE, zero=False)


def create_sweep(
    store: Store,
    config: Mapping[str, object] | str | os.PathLike[str],
    *,
    project: str | None = None,
) -> SweepRecord:
    """Check a sweep config and record the sweep, ``running``.

    The project is ``project``, else the config's, else ``$ARTSTORE_PROJECT`` /
    ``$WANDB_PROJECT``, else ``uncategorized``.

    Raises:
        InvalidSweepConfigError: the config breaks W&B's schema, or its command holds a
            credential (the catalog keeps no secret: pass it through the environment).
        FileAccessError: the config file cannot be read.
    """
    from artstore.artifacts.identity import who
    from artstore.tracker.current_run import new_run_id
    from artstore.tracker.habits import environ

    parsed = parse_sweep_config(config)
    if parsed.command is not None and redact_argv(parsed.command) != list(parsed.command):
        raise InvalidSweepConfigError(
            "command",
            "holds a credential, which the catalog would keep; pass it through the "
            "environment instead (${envvar:NAME})",
        )
    chosen = project or parsed.project or environ("project") or "uncategorized"
    return catalog_of(store).sweeps.create(
        new_run_id(), project=chosen, name=parsed.name, config=parsed.to_dict(), user=who()
    )


def sweep(
    sweep: Mapping[str, object] | str | os.PathLike[str],
    entity: str | None = None,
    project: str | None = None,
    *,
    store: Store | str | None = None,
) -> str:
    """``wandb.sweep``: record a sweep from its config (a mapping, YAML text, or a YAML file:
    a path, or a one-line string ending in ``.yaml`` or ``.yml``) and return its id, for
    ``agent()`` or ``art agent``. ``entity`` is W&B's and unused.

    Raises:
        InvalidSweepConfigError: the config breaks W&B's schema, or its command holds a
            credential.
    """
    from artstore.artifacts import Store

    chosen = store if isinstance(store, Store) else Store(store)
    if isinstance(sweep, str) and sweep.endswith((".yaml", ".yml")) and "\n" not in sweep:
        sweep = Path(sweep)  # a file name, not YAML text
    return create_sweep(chosen, sweep, project=project).id


def sweep_config(sweep: SweepRecord) -> SweepConfig:
    """The checked config a sweep was created with."""
    return parse_sweep_config(sweep.config)


def lease_next(
    catalog: Catalog,
    sweep: SweepRecord,
    agent: str,
    *,
    seconds: float,
    run_fields: RunFields,
) -> Lease:
    """Lease the sweep's next trial to ``agent`` (see ``catalog.sweeps.lease``), proposing a
    new one from the config and the trials so far when none is queued.

    Raises:
        NotFoundError: the sweep is gone.
        ConfigError: a random or bayes sweep without optuna installed.
    """
    config = sweep_config(sweep)

    def ask(trials: Sequence[TrialRecord]) -> dict[str, Any] | None:
        return propose(config, [_trial(t) for t in trials], sweep_id=sweep.id)

    return catalog.sweeps.lease(
        sweep.id, agent, seconds=seconds, propose=ask, run_fields=run_fields
    )


def show_sweep(store: Store, sweep_id: str) -> SweepView:
    """A sweep and its trials, ranked by the metric (a read: a read-only store will do).

    Raises:
        NotFoundError: no such sweep.
    """
    sweeps = store.repository.catalog.sweeps  # a read: a read-only store will do
    return sweep_view(sweeps.get(sweep_id), sweeps.trials(sweep_id))


def sweep_view(sweep: SweepRecord, trials: Sequence[TrialRecord]) -> SweepView:
    """A sweep and the trials read with it, ranked by the metric, with its best trial."""
    order = ranked(sweep, trials)
    first = order[0] if order else None
    best = first if first is not None and first.metric is not None and _ended(first) else None
    return SweepView(sweep, tuple(order), best)


def ranked(sweep: SweepRecord, trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Trials best first by the sweep's metric goal: finished and stopped ones, then the
    others with a value (failed: not a result, decision 154), then those without
    one, by number."""
    goal = sweep.config.get("metric", {}).get("goal", "minimize")
    sign = -1.0 if goal == "maximize" else 1.0
    scored = sorted(
        (t for t in trials if t.metric is not None),
        key=lambda t: (not _ended(t), sign * (t.metric or 0.0), t.number),
    )
    return scored + [t for t in trials if t.metric is None]


def _ended(trial: TrialRecord) -> bool:
    # A trial whose value is a result: it ran to its end, or hyperband stopped it there.
    return trial.state in ("finished", "stopped")


def stop_sweep(store: Store, sweep_id: str) -> SweepRecord:
    """No new trials; running ones finish.

    Raises:
        NotFoundError: no such sweep.
        RunStateError: the sweep is finished or cancelled.
    """
    return catalog_of(store).sweeps.set_state(sweep_id, "stopped")


def cancel_sweep(store: Store, sweep_id: str) -> SweepRecord:
    """No new trials; agents stop their running ones.

    Raises:
        NotFoundError: no such sweep.
        RunStateError: the sweep is finished already.
    """
    return catalog_of(store).sweeps.set_state(sweep_id, "cancelled")


def _trial(record: TrialRecord) -> Trial:
    state = (
        record.state if record.state in ("queued", "running", "finished", "stopped") else "failed"
    )
    return Trial(record.number, record.params, state, record.metric)  # type: ignore[arg-type]
