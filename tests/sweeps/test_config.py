"""Sweep configs: W&B's schema parsed into frozen values; each bad config gets one line naming
its key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artstore.errors import FileAccessError, InvalidSweepConfigError, UserError
from artstore.sweeps import Hyperband, Metric, Parameter, parse_sweep_config

GOOD = {
    "method": "bayes",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {"lr": {"min": 0.0001, "max": 0.1}},
}


def with_(**changes):
    config = {**GOOD, **changes}
    return {key: value for key, value in config.items() if value is not None}


def params(**spec):
    return with_(parameters=spec)


BAD = [
    # (config, the one line it gets)
    ([1, 2], "sweep config: must be a mapping with method and parameters"),
    (
        "method: [",
        "sweep config: not valid YAML at line 1: "
        "expected the node content, but found '<stream end>'",
    ),
    (with_(method=None), "sweep config: method: required: grid, random or bayes"),
    (
        with_(method="hyperopt"),
        "sweep config: method: must be grid, random or bayes (got 'hyperopt')",
    ),
    (with_(method="custom"), "sweep config: method: must be grid, random or bayes (got 'custom')"),
    (
        {**GOOD, "epochs": 3},
        "sweep config: epochs: unknown key (allowed: method, metric, parameters, "
        "early_terminate, run_cap, program, command, name, description, project, entity)",
    ),
    (
        {**GOOD, "scheduler": {"engine": "optuna"}},
        "sweep config: scheduler: "
        "W&B's key for its own servers is not supported by artstore sweeps",
    ),
    (with_(parameters=None), "sweep config: parameters: required: the search space"),
    (with_(parameters={}), "sweep config: parameters: must be a mapping of at least one parameter"),
    (with_(metric=None), "sweep config: metric: required by method bayes: give name and goal"),
    (
        {
            **with_(method="random", metric=None),
            "early_terminate": {"type": "hyperband", "min_iter": 3},
        },
        "sweep config: metric: required by early_terminate: give name and goal",
    ),
    (
        with_(metric={"goal": "minimize"}),
        "sweep config: metric.name: required: the logged key to optimise",
    ),
    (
        with_(metric={"name": "loss", "goal": "lower"}),
        "sweep config: metric.goal: must be minimize or maximize (got 'lower')",
    ),
    (
        with_(metric={"name": "loss", "target": "low"}),
        "sweep config: metric.target: must be a finite number (got 'low')",
    ),
    (
        with_(metric={"name": "loss", "impute": "worst"}),
        "sweep config: metric.impute: not supported by artstore sweeps",
    ),
    (
        with_(metric={"name": "loss", "direction": "min"}),
        "sweep config: metric.direction: unknown key (allowed: name, goal, target)",
    ),
    (
        params(lr={"min": 0.1, "max": 0.01}),
        "sweep config: parameters.lr: min (0.1) must be less than max (0.01)",
    ),
    (
        params(lr={"min": "1e-5", "max": 0.1}),
        "sweep config: parameters.lr.min: must be a finite number (got '1e-5'); "
        "YAML reads 1e-5 as text: "
        "write it with a dot (1.0e-5) or as !!float",
    ),
    (
        params(lr={"min": 0.1}),
        "sweep config: parameters.lr: give value, values, min and max, "
        "parameters, or a distribution",
    ),
    (
        params(lr={"distribution": "gamma"}),
        "sweep config: parameters.lr.distribution: unknown "
        "distribution 'gamma' (allowed: constant, categorical, categorical_w_probabilities, "
        "int_uniform, "
        "uniform, q_uniform, log_uniform, log_uniform_values, q_log_uniform, q_log_uniform_values, "
        "inv_log_uniform, inv_log_uniform_values, normal, q_normal, log_normal, q_log_normal, "
        "beta, q_beta)",
    ),
    (
        params(lr={"distribution": "uniform", "min": 0}),
        "sweep config: parameters.lr: distribution uniform needs max",
    ),
    (
        params(lr={"distribution": "normal", "min": 0, "max": 1}),
        "sweep config: parameters.lr.min: "
        "unknown key for distribution normal (allowed: mu, sigma, distribution)",
    ),
    (
        params(lr={"distribution": "normal", "sigma": 0}),
        "sweep config: parameters.lr.sigma: must be greater than 0 (got 0.0)",
    ),
    (
        params(lr={"distribution": "q_uniform", "min": 0, "max": 1, "q": -1}),
        "sweep config: parameters.lr.q: must be greater than 0 (got -1)",
    ),
    (
        params(lr={"distribution": "beta", "a": 0}),
        "sweep config: parameters.lr.a: must be greater than 0 (got 0.0)",
    ),
    (
        params(lr={"distribution": "log_uniform_values", "min": 0, "max": 1}),
        "sweep config: parameters.lr.min: log_uniform_values needs min greater than 0 (got 0.0)",
    ),
    (
        params(n={"distribution": "int_uniform", "min": 1.5, "max": 4}),
        "sweep config: parameters.n.min: int_uniform needs an integer (got 1.5)",
    ),
    (
        params(n={"min": True, "max": 4}),
        "sweep config: parameters.n.min: must be a finite number (got True)",
    ),
    (
        params(n={"min": 1, "max": math.inf}),
        "sweep config: parameters.n.max: must be a finite number (got inf)",
    ),
    (
        params(opt={"values": []}),
        "sweep config: parameters.opt.values: must be a list of at least one value",
    ),
    (
        params(opt={"values": "adam"}),
        "sweep config: parameters.opt.values: must be a list of at least one value",
    ),
    (
        params(opt={"values": ["adam", {1: 2}]}),
        "sweep config: parameters.opt.values[1]: keys must be text (got 1)",
    ),
    (
        params(opt={"values": ["a", "b"], "probabilities": [0.5]}),
        "sweep config: parameters.opt.probabilities: must be a list of 2 numbers, one per value",
    ),
    (
        params(opt={"values": ["a", "b"], "probabilities": [0.5, 0.6]}),
        "sweep config: parameters.opt.probabilities: must be numbers of at least 0 that sum to 1",
    ),
    (
        params(opt={"values": ["a"], "distribution": "categorical", "probabilities": [1]}),
        "sweep config: parameters.opt.probabilities: unknown key for distribution categorical "
        "(allowed: values, distribution)",
    ),
    (
        params(opt={"value": 1, "values": [1]}),
        "sweep config: parameters.opt.values: unknown key for "
        "distribution constant (allowed: value, distribution)",
    ),
    (
        params(opt=3),
        "sweep config: parameters.opt: must be a mapping such as {values: [...]}, "
        "{min:, max:} or {value:}",
    ),
    (
        params(**{"1lr": {"value": 1}}),
        "sweep config: parameters.1lr: a parameter name starts with a "
        "letter or _ and holds letters, digits, _ . -",
    ),
    (
        params(opt={"parameters": {"lr": {"min": 2, "max": 1}}}),
        "sweep config: parameters.opt.parameters.lr: min (2) must be less than max (1)",
    ),
    (
        params(opt={"parameters": {}}),
        "sweep config: parameters.opt.parameters: must be a mapping of at least one parameter",
    ),
    (
        params(opt={"parameters": {"lr": {"value": 1}}, "value": 2}),
        "sweep config: parameters.opt: nested parameters take no other key (found: value)",
    ),
    (
        with_(method="grid"),
        "sweep config: parameters.lr: method grid needs finite values: value, "
        "values, int_uniform or q_uniform (not uniform)",
    ),
    (
        with_(early_terminate={"type": "median"}),
        "sweep config: early_terminate.type: must be hyperband",
    ),
    (
        with_(early_terminate={"type": "hyperband"}),
        "sweep config: early_terminate: give min_iter, or max_iter and s (one of the two)",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 3, "max_iter": 27, "s": 2}),
        "sweep config: early_terminate: give min_iter, or max_iter and s (one of the two)",
    ),
    (
        with_(early_terminate={"type": "hyperband", "max_iter": 27}),
        "sweep config: early_terminate.s: required with max_iter",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 3, "s": 2}),
        "sweep config: early_terminate.s: goes with max_iter, not min_iter",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 0}),
        "sweep config: early_terminate.min_iter: must be an integer of at least 1 (got 0)",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 3, "eta": 1}),
        "sweep config: early_terminate.eta: must be greater than 1 (got 1.0)",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 3, "strict": "yes"}),
        "sweep config: early_terminate.strict: must be true or false (got 'yes')",
    ),
    (
        with_(early_terminate={"type": "hyperband", "max_iter": 2, "s": 1}),
        "sweep config: early_terminate.max_iter: "
        "max_iter / eta must be at least 1 (got 0.6666666666666666)",
    ),
    (
        with_(early_terminate={"type": "hyperband", "min_iter": 3, "brackets": 4}),
        "sweep config: early_terminate.brackets: "
        "unknown key (allowed: type, min_iter, max_iter, s, eta, strict)",
    ),
    (with_(run_cap=0), "sweep config: run_cap: must be an integer of at least 1 (got 0)"),
    (with_(run_cap=2.5), "sweep config: run_cap: must be an integer of at least 1 (got 2.5)"),
    (
        with_(program=["train.py"]),
        "sweep config: program: must be non-empty text (got ['train.py'])",
    ),
    (with_(project=""), "sweep config: project: must be non-empty text (got '')"),
    (
        with_(command="python train.py"),
        "sweep config: command: must be a list of at least one argument",
    ),
    (with_(command=["python", 3]), "sweep config: command[1]: must be text (got 3)"),
    (
        with_(command=["${env}", "${argz}"]),
        "sweep config: command[1]: unknown macro ${argz} (allowed: "
        "${env}, ${interpreter}, ${program}, ${args}, ${args_no_hyphens}, "
        "${args_no_boolean_flags}, "
        "${args_json}, ${args_json_file})",
    ),
]


@pytest.mark.parametrize(("config", "line"), BAD, ids=range(len(BAD)))
def test_a_bad_config_gets_one_line_naming_its_key(config, line):
    with pytest.raises(InvalidSweepConfigError) as caught:
        parse_sweep_config(config)
    assert str(caught.value) == line
    assert "\n" not in line
    assert isinstance(caught.value, UserError) and caught.value.exit_code == 2


def test_the_table_has_thirty_rows_or_more():
    assert len(BAD) >= 30


TUTORIAL = """
program: train.py
method: bayes
metric:
  name: val_loss
  goal: minimize
parameters:
  learning_rate:
    min: 0.0001
    max: 0.1
  batch_size:
    values: [16, 32, 64]
  optimizer:
    values: ["adam", "sgd"]
  epochs:
    value: 5
  model:
    parameters:
      dropout: {distribution: q_uniform, min: 0.1, max: 0.5, q: 0.1}
      layers: {min: 1, max: 4}
early_terminate:
  type: hyperband
  min_iter: 3
"""


def test_the_tutorial_config_parses_with_w_and_b_s_inferred_distributions():
    config = parse_sweep_config(TUTORIAL)
    assert config.method == "bayes"
    assert config.metric == Metric("val_loss", "minimize")
    assert config.early_terminate == Hyperband(min_iter=3)
    by_name = {p.name: p for p in config.parameters}
    assert list(by_name) == [
        "learning_rate",
        "batch_size",
        "optimizer",
        "epochs",
        "model.dropout",
        "model.layers",
    ]
    assert by_name["learning_rate"] == Parameter(("learning_rate",), "uniform", min=0.0001, max=0.1)
    assert by_name["batch_size"].distribution == "categorical"
    assert by_name["batch_size"].values == (16, 32, 64)
    assert by_name["epochs"] == Parameter(("epochs",), "constant", value=5)
    layers = by_name["model.layers"]
    assert (layers.distribution, layers.min, layers.max) == ("int_uniform", 1, 4)
    assert isinstance(layers.min, int)
    assert by_name["model.dropout"].q == 0.1


def test_a_config_file_is_read(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(TUTORIAL, encoding="utf-8")
    assert parse_sweep_config(path) == parse_sweep_config(TUTORIAL)
    with pytest.raises(FileAccessError):
        parse_sweep_config(tmp_path / "missing.yaml")


def test_defaults_are_w_and_b_s():
    config = parse_sweep_config(
        {
            "method": "random",
            "parameters": {
                "n": {"distribution": "normal"},
                "b": {"distribution": "beta"},
                "q": {"distribution": "q_log_normal"},
                "u": {"min": 1, "max": 2.5},
            },
            "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2},
            "metric": {"name": "acc", "goal": "maximize", "target": 0.99},
        }
    )
    n, b, q, u = config.parameters
    assert (n.mu, n.sigma) == (0.0, 1.0)
    assert (b.a, b.b) == (1.0, 1.0)
    assert q.q == 1.0
    assert (u.distribution, u.min) == ("uniform", 1.0)
    assert config.early_terminate == Hyperband(eta=3.0, strict=True, max_iter=27, s=2)


# --- valid configs round-trip -------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))
json_scalars = st.none() | st.booleans() | st.integers(-100, 100) | numbers | st.text(max_size=5)


@st.composite
def bounded(draw, distribution):
    low = draw(st.floats(0.001, 100).map(lambda x: round(x, 3)))
    high = low + draw(st.floats(0.01, 100).map(lambda x: round(x, 3)))
    spec = {"distribution": distribution, "min": low, "max": high}
    if distribution.startswith("q_"):
        spec["q"] = draw(st.sampled_from([1, 0.5, 0.01]))
    return spec


def leaves():
    return st.one_of(
        st.builds(lambda v: {"value": v}, json_scalars),
        st.builds(lambda vs: {"values": vs}, st.lists(json_scalars, min_size=1, max_size=4)),
        st.builds(
            lambda lo, span: {"min": lo, "max": lo + span},
            st.integers(-50, 50),
            st.integers(1, 50),
        ),
        st.sampled_from(
            [
                "uniform",
                "q_uniform",
                "log_uniform",
                "log_uniform_values",
                "q_log_uniform_values",
                "inv_log_uniform",
                "inv_log_uniform_values",
                "q_log_uniform",
            ]
        ).flatmap(bounded),
        st.builds(
            lambda d, mu, sigma: {"distribution": d, "mu": mu, "sigma": sigma},
            st.sampled_from(["normal", "q_normal", "log_normal", "q_log_normal"]),
            numbers,
            st.floats(0.01, 10),
        ),
        st.builds(
            lambda a, b: {"distribution": "beta", "a": a, "b": b},
            st.floats(0.1, 10),
            st.floats(0.1, 10),
        ),
        st.builds(
            lambda vs: {"values": vs, "probabilities": [1 / len(vs)] * len(vs)},
            st.lists(st.integers(), min_size=1, max_size=5),
        ),
    )


parameter_trees = st.recursive(
    st.dictionaries(names, leaves(), min_size=1, max_size=4),
    lambda inner: st.dictionaries(
        names, leaves() | inner.map(lambda p: {"parameters": p}), min_size=1, max_size=3
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    parameters=parameter_trees,
    method=st.sampled_from(["random", "bayes"]),
    goal=st.sampled_from(["minimize", "maximize"]),
    hyperband=st.none()
    | st.builds(
        lambda m, eta: {"type": "hyperband", "min_iter": m, "eta": eta},
        st.integers(1, 9),
        st.sampled_from([2, 3, 4.5]),
    )
    | st.builds(
        lambda m, s: {"type": "hyperband", "max_iter": m, "s": s, "strict": False},
        st.integers(3, 100),
        st.integers(1, 4),
    ),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "run_cap": st.integers(1, 100),
            "program": st.just("train.py"),
            "command": st.just(["${env}", "${interpreter}", "${program}", "${args_json_file}"]),
            "project": names,
            "name": st.text(min_size=1, max_size=5),
        },
    ),
)
def test_a_valid_config_round_trips(parameters, method, goal, hyperband, extra):
    raw = {"method": method, "metric": {"name": "loss", "goal": goal}, "parameters": parameters}
    if hyperband is not None:
        raw["early_terminate"] = hyperband
    raw.update(extra)
    config = parse_sweep_config(raw)
    assert parse_sweep_config(config.to_dict()) == config


def test_the_example_sweep_parses():
    root = Path(__file__).resolve().parents[2]
    config = parse_sweep_config(root / "examples" / "sweeps" / "sweep.yaml")
    assert config.method == "bayes"
    assert config.metric == Metric("val_loss", "minimize")
    assert config.early_terminate == Hyperband(min_iter=3, eta=3.0)
    assert [p.name for p in config.parameters] == [
        "learning_rate",
        "batch_size",
        "optimizer",
        "epochs",
    ]
