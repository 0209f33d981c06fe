"""Each distribution reached through a dimension optuna can search, and back; the quantile
functions the standard library lacks."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artstore.sweeps import parse_sweep_config
from artstore.sweeps.quantiles import beta_cdf, beta_ppf
from artstore.sweeps.space import dimension, to_point, to_value


def parameter(**spec):
    return parse_sweep_config({"method": "random", "parameters": {"x": spec}}).parameters[0]


@pytest.mark.parametrize(
    ("x", "a", "b", "expected"),
    [
        (0.5, 2, 3, 0.6875),  # I_0.5(2, 3) = 11/16
        (0.3, 1, 1, 0.3),  # uniform
        (0.25, 0.5, 0.5, 1 / 3),  # arcsine: 2/pi asin(sqrt(x))
        (0.9, 5, 1, 0.9**5),
        (0.2, 1, 4, 1 - 0.8**4),
    ],
)
def test_beta_cdf_known_values(x, a, b, expected):
    assert beta_cdf(x, a, b) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.001, 0.999), st.floats(0.2, 20), st.floats(0.2, 20))
def test_beta_ppf_inverts_the_cdf(u, a, b):
    x = beta_ppf(u, a, b)
    # Near 1 with a small b the CDF is so steep that neighbouring floats differ by more than
    # 1e-9 in it: u must then lie between the CDF at x's two neighbours.
    below, above = beta_cdf(math.nextafter(x, 0.0), a, b), beta_cdf(math.nextafter(x, 1.0), a, b)
    assert below - 1e-9 <= u <= above + 1e-9 or beta_cdf(x, a, b) == pytest.approx(u, abs=1e-9)


SPECS = [
    {"min": 1, "max": 9},
    {"min": 0.5, "max": 2.0},
    {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25},
    {"distribution": "log_uniform", "min": -5.0, "max": 0.0},
    {"distribution": "log_uniform_values", "min": 1e-5, "max": 0.1},
    {"distribution": "inv_log_uniform", "min": 0.0, "max": 5.0},
    {"distribution": "inv_log_uniform_values", "min": 1e-3, "max": 1.0},
    {"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 1},
    {"distribution": "normal", "mu": 1.0, "sigma": 2.0},
    {"distribution": "log_normal", "mu": 0.0, "sigma": 0.5},
    {"distribution": "q_normal", "mu": 10, "sigma": 3, "q": 2},
    {"distribution": "beta", "a": 2, "b": 5},
    {"values": ["a", "b", "c"], "probabilities": [0.2, 0.0, 0.8]},
    {"values": [[1], {"k": 2}, None]},
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.get("distribution", str(s)[:12]))
@settings(max_examples=40, deadline=None)
@given(u=st.floats(0, 1))
def test_a_value_maps_back_to_a_point_that_gives_it_again(spec, u):
    p = parameter(**spec)
    found = dimension(p)
    assert found is not None
    point = found.low + u * (found.high - found.low)
    if found.kind == "categorical":
        point = min(int(u * found.choices), found.choices - 1)
    elif found.kind == "int":
        point = round(point)
    value = to_value(p, point)
    back = to_point(p, value)
    assert back is not None and found.low <= back <= found.high
    again = to_value(p, back)
    if isinstance(value, float):
        assert again == pytest.approx(value, rel=1e-6, abs=1e-9)
    else:
        assert again == value


def test_the_w_and_b_rules_of_each_family():
    assert to_value(parameter(distribution="log_uniform", min=0.0, max=1.0), 1.0) == math.e
    assert to_value(parameter(distribution="inv_log_uniform", min=0.0, max=1.0), 1.0) == 1 / math.e
    assert to_value(parameter(distribution="q_uniform", min=0, max=10, q=2), 4.9) == 4
    assert isinstance(to_value(parameter(distribution="q_uniform", min=0, max=10, q=2), 4.9), int)
    assert to_value(parameter(distribution="q_normal", mu=0.9, sigma=0.1, q=0.01), 0.5) == 0.9
    normal = parameter(distribution="normal", mu=3.0, sigma=2.0)
    assert to_value(normal, 0.975) == pytest.approx(NormalDist(3, 2).inv_cdf(0.975))
    weighted = parameter(values=["a", "b", "c"], probabilities=[0.2, 0.0, 0.8])
    assert [to_value(weighted, u) for u in (0.0, 0.19, 0.2, 0.99)] == ["a", "a", "c", "c"]
    assert dimension(parameter(value=3)) is None


def test_a_value_the_parameter_cannot_take_has_no_point():
    assert to_point(parameter(values=["a", "b"]), "z") is None
    assert to_point(parameter(values=[1, 2]), True) is None
    assert to_point(parameter(min=0.5, max=2.0), "fast") is None
    assert to_point(parameter(distribution="log_normal"), -1.0) is None
    assert to_point(parameter(min=0.5, max=2.0), 7.0) == 2.0  # clamped into the range
