"""The in-memory optuna study one proposal is asked of, rebuilt from the past trials; the only
module that imports optuna (the ``artstore[sweeps]`` extra)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState, create_trial

from artstore.sweeps.config import SweepConfig
from artstore.sweeps.parameters import lookup
from artstore.sweeps.space import Dimension, dimension, to_point
from artstore.sweeps.trials import Trial

__all__ = ["ask"]


def ask(config: SweepConfig, trials: Sequence[Trial], seed: int) -> dict[str, float]:
    """A new point (dimension name -> point) for a random or bayes sweep, given its trials.

    optuna's INFO lines (one per study and trial) and its experimental-feature warnings are
    held back for the call; its logger's level is restored after.
    """
    distributions: dict[str, BaseDistribution] = {}
    for parameter in config.parameters:
        found = dimension(parameter)
        if found is not None:
            distributions[found.name] = _distribution(found)
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler: BaseSampler
            if config.method == "random":
                sampler = RandomSampler(seed=seed)
            else:
                sampler = TPESampler(multivariate=True, constant_liar=True, seed=seed)
            goal = "minimize" if config.metric is None else config.metric.goal
            study = optuna.create_study(direction=goal, sampler=sampler)
            for trial in sorted(trials, key=lambda t: t.number):
                study.add_trial(_past(config, trial, distributions))
            return dict(study.ask(fixed_distributions=distributions).params)
    finally:
        logger.setLevel(level)


def _past(
    config: SweepConfig, trial: Trial, distributions: dict[str, BaseDistribution]
) -> FrozenTrial:
    """A past trial as optuna's FrozenTrial: its values mapped back into the dimensions (a
    value that no longer fits the config is left out, as if that parameter were not sampled)."""
    params: dict[str, float] = {}
    for parameter in config.parameters:
        found = dimension(parameter)
        present, value = lookup(trial.params, parameter.path)
        if found is None or not present:
            continue
        point = to_point(parameter, value)
        if point is not None:
            params[found.name] = int(point) if found.kind != "float" else point
    value = None
    if trial.state in ("queued", "running"):
        state = TrialState.RUNNING
    elif trial.state in ("finished", "stopped") and trial.metric is not None:
        state, value = TrialState.COMPLETE, trial.metric
    else:
        state = TrialState.FAIL
    return create_trial(
        params=params,
        distributions={name: distributions[name] for name in params},
        value=value,
        state=state,
    )


def _distribution(found: Dimension) -> BaseDistribution:
    if found.kind == "categorical":
        return CategoricalDistribution(tuple(range(found.choices)))
    if found.kind == "int":
        return IntDistribution(int(found.low), int(found.high))
    return FloatDistribution(found.low, found.high, log=found.log)
