"""W&B's hyperband early termination, as ``wandb/sweeps`` documents and runs it; pure.

Brackets sit at iterations ``min_iter * eta**i`` (or, given ``max_iter`` and ``s``, at
``max_iter / eta**i`` for i = 1..s). An iteration is a logged value of the metric: the n-th
value a run logged, in step order (W&B counts history rows the same way; steps without the
metric, and values that are not finite, do not count). At each bracket the threshold is the
value ranked ``int(n / eta)`` from the best among the n runs (any state) that reached it. A
running run is stopped when, at the last bracket it reached, its value there (``strict``, the
default) or its best value so far is worse than that threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from artstore.sweeps.config import Goal, Hyperband

__all__ = ["RunMetric", "Stop", "brackets", "runs_to_stop"]


@dataclass(frozen=True, slots=True)
class RunMetric:
    """One run's metric history (step -> value) and whether it is still running."""

    history: Mapping[int, float]
    running: bool = True


@dataclass(frozen=True, slots=True)
class Stop:
    """A run to stop: at its last bracket (an iteration count) its value (``strict``) or its
    best value was worse than the threshold there."""

    run: str
    bracket: int
    value: float
    threshold: float


def brackets(hyperband: Hyperband, longest: int) -> tuple[int, ...]:
    """The bracket iterations up to ``longest``, ascending."""
    found: list[int] = []
    if hyperband.max_iter is not None:
        assert hyperband.s is not None
        band = float(hyperband.max_iter)
        for _ in range(hyperband.s):
            band /= hyperband.eta
            if band < 1:
                break
            found.append(int(band))
        return tuple(sorted(b for b in found if b <= longest))
    assert hyperband.min_iter is not None
    band = float(hyperband.min_iter)
    while int(band) <= longest:
        found.append(int(band))
        band *= hyperband.eta
    return tuple(found)


def runs_to_stop(
    hyperband: Hyperband, goal: Goal, runs: Mapping[str, RunMetric]
) -> tuple[Stop, ...]:
    """The running runs hyperband stops now, in the order of ``runs``.

    Args:
        hyperband: the sweep's ``early_terminate``.
        goal: the metric's goal; values are compared as losses (negated for maximize).
        runs: every run of the sweep by id, finished and stopped ones included: they set
            the thresholds too.
    """
    sign = 1.0 if goal == "minimize" else -1.0
    losses = {
        run: [sign * value for _, value in sorted(metric.history.items()) if math.isfinite(value)]
        for run, metric in runs.items()
    }
    longest = max((len(values) for values in losses.values()), default=0)
    thresholds: dict[int, float] = {}
    for bracket in brackets(hyperband, longest):
        reached = sorted(v[bracket - 1] for v in losses.values() if len(v) >= bracket)
        # W&B's arithmetic exactly: (1 / eta) * n, truncated.
        thresholds[bracket] = reached[int((1.0 / hyperband.eta) * len(reached))]
    stops = []
    for run, metric in runs.items():
        values = losses[run]
        passed = [bracket for bracket in thresholds if bracket <= len(values)]
        if not metric.running or not passed:
            continue
        bracket = passed[-1]
        value = values[bracket - 1] if hyperband.strict else min(values)
        if value > thresholds[bracket]:
            stops.append(Stop(run, bracket, sign * value, sign * thresholds[bracket]))
    return tuple(stops)
