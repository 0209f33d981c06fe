"""Each sweep parameter as a dimension a sampler can search, and back.

optuna samples floats (uniform or log-uniform), integers and categories. W&B's other
distributions are reached through them: the ``q_`` families round the sample to a multiple of
``q``; ``log_uniform`` and ``inv_log_uniform`` (bounds given as exponents) exponentiate a
uniform sample; normal, log-normal, beta and categories with probabilities sample a quantile
``u`` uniformly and map it through the inverse CDF (W&B samples them the same way). The way
back (a past trial's value to its point in the dimension) lets a study be rebuilt from the
values the runs got, with nothing else stored.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from artstore.sweeps.parameters import Parameter
from artstore.sweeps.quantiles import beta_cdf, beta_ppf, normal_cdf, normal_ppf

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = ["Dimension", "dimension", "to_point", "to_value"]

# Quantiles stay off 0 and 1, where the normal's inverse CDF is infinite.
_EDGE = 1e-9
_QUANTILE = (
    "categorical_w_probabilities",
    *("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta"),
)
_LOG = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")


@dataclass(frozen=True, slots=True)
class Dimension:
    """What a sampler searches for one parameter: floats in [low, high] (log-spaced when
    ``log``), integers in [low, high], or ``choices`` categories numbered from 0."""

    name: str
    kind: Literal["float", "int", "categorical"]
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: int = 0


def dimension(parameter: Parameter) -> Dimension | None:
    """The dimension searched for ``parameter``; None for a constant."""
    name = "/".join(parameter.path)
    kind = parameter.distribution
    if kind == "constant":
        return None
    if kind == "categorical":
        count = len(parameter.values)
        return Dimension(name, "categorical", 0, count - 1, choices=count)
    if kind in _QUANTILE:
        return Dimension(name, "float", _EDGE, 1.0 - _EDGE)
    assert parameter.min is not None and parameter.max is not None
    if kind == "int_uniform":
        return Dimension(name, "int", parameter.min, parameter.max)
    return Dimension(name, "float", parameter.min, parameter.max, log=kind in _LOG)


def to_value(parameter: Parameter, point: float) -> JSONValue:
    """The parameter's value at ``point`` of its dimension."""
    kind = parameter.distribution
    if kind == "categorical":
        return parameter.values[int(point)]
    if kind == "categorical_w_probabilities":
        edges = list(itertools.accumulate(parameter.probabilities))
        index = min(bisect.bisect_right(edges, point), len(parameter.values) - 1)
        return parameter.values[index]
    if kind == "int_uniform":
        return int(point)
    value = _continuous(parameter, point)
    return value if parameter.q is None or not kind.startswith("q_") else _round(value, parameter.q)


def to_point(parameter: Parameter, value: JSONValue) -> float | None:
    """Where ``value`` lies in the parameter's dimension (clamped into it), or None when the
    parameter cannot take it (a value not among ``values``, text for a number, ...)."""
    kind = parameter.distribution
    if kind in ("categorical", "categorical_w_probabilities"):
        index = next((i for i, v in enumerate(parameter.values) if _same(v, value)), None)
        if index is None or kind == "categorical":
            return index
        edges = [0.0, *itertools.accumulate(parameter.probabilities)]
        return _clamp((edges[index] + edges[index + 1]) / 2, _EDGE, 1.0 - _EDGE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    point = _inverse(parameter, float(value))
    if point is None:
        return None
    found = dimension(parameter)
    assert found is not None
    point = _clamp(point, found.low, found.high)
    return float(round(point)) if found.kind == "int" else point


def _continuous(parameter: Parameter, point: float) -> float:
    kind = parameter.distribution.removeprefix("q_")
    if kind in ("log_uniform",):
        return math.exp(point)
    if kind == "inv_log_uniform":
        return math.exp(-point)
    if kind in ("normal", "log_normal"):
        assert parameter.mu is not None and parameter.sigma is not None
        drawn = normal_ppf(point, parameter.mu, parameter.sigma)
        return drawn if kind == "normal" else math.exp(drawn)
    if kind == "beta":
        assert parameter.a is not None and parameter.b is not None
        return beta_ppf(point, parameter.a, parameter.b)
    return point  # uniform, and the *_values forms, searched on their own scale


def _inverse(parameter: Parameter, value: float) -> float | None:
    kind = parameter.distribution.removeprefix("q_")
    if kind in ("log_uniform", "inv_log_uniform", "log_normal") and value <= 0:
        return None
    if kind == "log_uniform":
        return math.log(value)
    if kind == "inv_log_uniform":
        return -math.log(value)
    if kind in ("normal", "log_normal"):
        assert parameter.mu is not None and parameter.sigma is not None
        x = value if kind == "normal" else math.log(value)
        return _clamp(normal_cdf(x, parameter.mu, parameter.sigma), _EDGE, 1.0 - _EDGE)
    if kind == "beta":
        assert parameter.a is not None and parameter.b is not None
        return _clamp(beta_cdf(value, parameter.a, parameter.b), _EDGE, 1.0 - _EDGE)
    return value


def _round(value: float, q: float) -> float:
    # W&B's rule: an integer q gives integers.
    steps = round(value / q)
    # 12 significant digits: 82 * 0.01 is 0.8200000000000001, a run's config wants 0.82.
    return int(steps * q) if isinstance(q, int) else float(f"{steps * q:.12g}")


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _same(a: JSONValue, b: JSONValue) -> bool:
    """Equal as the run config stores them: 3 and 3.0 match, True and 1 do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b
