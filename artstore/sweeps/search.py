"""The next trial's parameters, from the sweep config and the trials so far (plain data).

Stateless: each call rebuilds an in-memory optuna study from the past trials and asks it for
one point, with the sampler seeded from the sweep id and the new trial's number, so the same
inputs always give the same parameters (an agent that loses a race for a trial number and asks
again with the winner's trial included gets a fresh point). Grid search enumerates the grid
itself (:mod:`artstore.sweeps.grid`); random uses optuna's ``RandomSampler``; bayes its
``TPESampler(multivariate=True, constant_liar=True)``, the liar keeping parallel agents apart.

optuna (the ``artstore[sweeps]`` extra) is imported only when a random or bayes trial is
proposed, through :mod:`artstore.sweeps.study`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from artstore.errors import ConfigError
from artstore.sweeps.config import SweepConfig
from artstore.sweeps.grid import next_grid_point
from artstore.sweeps.parameters import nest
from artstore.sweeps.space import dimension, to_value
from artstore.sweeps.trials import Trial, TrialState

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = ["Trial", "TrialState", "done_reason", "propose"]


def done_reason(config: SweepConfig, trials: Sequence[Trial]) -> str | None:
    """Why the sweep proposes no more trials (``run_cap``, ``metric.target``), or None."""
    if config.run_cap is not None and len(trials) >= config.run_cap:
        return f"run_cap {config.run_cap} reached"
    metric = config.metric
    if metric is not None and metric.target is not None:
        sign = 1.0 if metric.goal == "minimize" else -1.0
        for trial in trials:
            if trial.metric is not None and sign * (trial.metric - metric.target) <= 0:
                return f"trial {trial.number} reached metric.target {metric.target}"
    return None


def propose(
    config: SweepConfig, trials: Sequence[Trial], *, sweep_id: str
) -> dict[str, JSONValue] | None:
    """The parameters of trial number ``len(trials)``, nested as the run's config gets them,
    or None when the sweep is done (:func:`done_reason`, or every grid point proposed).

    Raises:
        ConfigError: optuna is not installed (random and bayes need the sweeps extra).
    """
    if done_reason(config, trials) is not None:
        return None
    if config.method == "grid":
        return next_grid_point(config.parameters, (trial.params for trial in trials))
    number = len(trials)
    seed = int.from_bytes(hashlib.sha256(f"{sweep_id}/{number}".encode()).digest()[:4], "big")
    try:
        from artstore.sweeps import study
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "optuna":
            raise
        raise ConfigError(
            "random and bayes sweeps need optuna: pip install 'artstore[sweeps]'"
        ) from exc
    point = study.ask(config, trials, seed)
    pairs = []
    for parameter in config.parameters:
        found = dimension(parameter)
        if found is None:
            pairs.append((parameter.path, parameter.value))
        else:
            pairs.append((parameter.path, to_value(parameter, point[found.name])))
    return nest(pairs)
