"""Quantile functions (inverse CDFs) and CDFs of the sweep distributions optuna lacks: normal,
log-normal and beta, with the standard library only (no scipy)."""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["beta_cdf", "beta_ppf", "normal_cdf", "normal_ppf"]

_BISECTIONS = 400


def normal_ppf(u: float, mu: float, sigma: float) -> float:
    """The value below which a normal(mu, sigma) variable falls with probability ``u``."""
    return NormalDist(mu, sigma).inv_cdf(u)


def normal_cdf(x: float, mu: float, sigma: float) -> float:
    """The probability that a normal(mu, sigma) variable is at most ``x``."""
    return NormalDist(mu, sigma).cdf(x)


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b): the beta(a, b) CDF at ``x``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast only below the mean; above it, use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(1.0 - x, b, a) / b


def beta_ppf(u: float, a: float, b: float) -> float:
    """The value below which a beta(a, b) variable falls with probability ``u`` (by bisection
    of :func:`beta_cdf`, which increases on [0, 1])."""
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2.0
        if beta_cdf(middle, a, b) < u:
            low = middle
        else:
            high = middle
        # Relative to the nearer end, not absolute: with a small ``a`` the quantiles crowd
        # near 0, with a small ``b`` near 1, where the CDF is steep.
        if high - low <= 1e-15 * min(high, 1.0 - low) or not low < (low + high) / 2 < high:
            break
    return (low + high) / 2.0


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result
