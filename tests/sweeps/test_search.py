"""Proposals: grid in order, random and bayes through optuna, the same inputs giving the same
parameters."""

from __future__ import annotations

import sys

import pytest

from artstore.errors import ConfigError
from artstore.sweeps import Trial, done_reason, grid_points, grid_size, parse_sweep_config, propose

GRID = parse_sweep_config(
    {
        "method": "grid",
        "parameters": {
            "opt": {"values": ["adam", "sgd"]},
            "model": {"parameters": {"layers": {"min": 1, "max": 2}}},
            "lr": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
            "epochs": {"value": 3},
        },
    }
)


def test_grid_proposes_every_point_once_in_order():
    trials = []
    while (params := propose(GRID, trials, sweep_id="s")) is not None:
        trials.append(Trial(len(trials), params, "running"))
    seen = [(t.params["opt"], t.params["model"]["layers"], t.params["lr"]) for t in trials]
    # q_uniform's grid stops below max, as W&B's numpy.arange does.
    assert seen == [
        ("adam", 1, 0.0),
        ("adam", 1, 0.5),
        ("adam", 2, 0.0),
        ("adam", 2, 0.5),
        ("sgd", 1, 0.0),
        ("sgd", 1, 0.5),
        ("sgd", 2, 0.0),
        ("sgd", 2, 0.5),
    ]
    assert all(t.params["epochs"] == 3 for t in trials)
    assert grid_size(GRID.parameters) == 8 == len(list(grid_points(GRID.parameters)))


def test_grid_skips_points_taken_in_any_state_and_integral_floats_match():
    taken = [
        Trial(0, {"opt": "adam", "model": {"layers": 1.0}, "lr": 0, "epochs": 3}, "failed"),
        Trial(1, {"opt": "adam", "model": {"layers": 1}, "lr": 0.5, "epochs": 3}, "finished", 1.0),
    ]
    assert propose(GRID, taken, sweep_id="s") == {
        "opt": "adam",
        "model": {"layers": 2},
        "lr": 0.0,
        "epochs": 3,
    }


SPACE = {
    "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 0.1},
    "batch": {"values": [16, 32, 64]},
    "width": {"min": 8, "max": 256},
    "dropout": {"distribution": "q_uniform", "min": 0.0, "max": 0.5, "q": 0.1},
    "momentum": {"distribution": "beta", "a": 9, "b": 1},
    "opt": {"parameters": {"name": {"values": ["adam", "sgd"], "probabilities": [1.0, 0.0]}}},
    "seed": {"value": 7},
}


def config(method, **extra):
    return parse_sweep_config(
        {"method": method, "metric": {"name": "loss"}, "parameters": SPACE, **extra}
    )


def check(params):
    assert 1e-5 <= params["lr"] <= 0.1
    assert params["batch"] in (16, 32, 64)
    assert isinstance(params["width"], int) and 8 <= params["width"] <= 256
    assert params["dropout"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    assert 0 < params["momentum"] < 1
    assert params["opt"] == {"name": "adam"}  # sgd has probability 0
    assert params["seed"] == 7


def loss(params):
    return (params["lr"] - 0.01) ** 2 + params["width"] / 1000


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_random_and_bayes_propose_in_the_space_and_repeat_for_the_same_inputs(method):
    sweep = config(method)
    trials = []
    for number in range(14):
        params = propose(sweep, trials, sweep_id="sweep-1")
        assert params == propose(sweep, trials, sweep_id="sweep-1")
        check(params)
        state = "running" if number % 5 == 4 else "finished"
        trials.append(Trial(number, params, state, None if state == "running" else loss(params)))
    assert propose(sweep, trials, sweep_id="sweep-1") != propose(sweep, trials, sweep_id="sweep-2")


def test_bayes_takes_failed_trials_and_values_the_config_no_longer_has():
    sweep = config("bayes")
    trials = [
        Trial(0, {"lr": 0.01, "batch": 128, "width": "wide"}, "finished", 0.5),
        Trial(1, {"lr": 0.02}, "failed"),
        Trial(2, {}, "queued"),
        Trial(3, {"lr": 0.5, "batch": 32}, "stopped", 0.9),
    ]
    check(propose(sweep, trials, sweep_id="s"))


def test_run_cap_and_target_end_the_sweep():
    capped = config("random", run_cap=2)
    trials = [Trial(0, {}, "finished", 3.0), Trial(1, {}, "running")]
    assert propose(capped, trials, sweep_id="s") is None
    assert done_reason(capped, trials) == "run_cap 2 reached"
    aimed = parse_sweep_config(
        {
            "method": "random",
            "metric": {"name": "acc", "goal": "maximize", "target": 0.9},
            "parameters": SPACE,
        }
    )
    assert done_reason(aimed, [Trial(0, {}, "finished", 0.8)]) is None
    assert done_reason(aimed, [Trial(0, {}, "finished", 0.95)]) == (
        "trial 0 reached metric.target 0.9"
    )
    assert propose(aimed, [Trial(0, {}, "finished", 0.95)], sweep_id="s") is None


def test_without_optuna_random_and_bayes_say_how_to_install_it(monkeypatch):
    import artstore.sweeps

    monkeypatch.setitem(sys.modules, "optuna", None)
    monkeypatch.delitem(sys.modules, "artstore.sweeps.study", raising=False)
    monkeypatch.delattr(artstore.sweeps, "study", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'artstore\[sweeps\]'"):
        propose(config("bayes"), [], sweep_id="s")
    assert propose(GRID, [], sweep_id="s") is not None  # grid needs no optuna
