"""Hyperband early termination, checked against cases computed by hand in the comments."""

from __future__ import annotations

import math

from artstore.sweeps import Hyperband, RunMetric, Stop, brackets, runs_to_stop


def history(*values):
    # Sparse steps on purpose: an iteration is the n-th logged value, not step n.
    return {step * 5: value for step, value in enumerate(values)}


RUNS = {
    "a": RunMetric(history(10, 9, 6, 5), running=False),
    "b": RunMetric(history(10, 10, 10)),
    "c": RunMetric(history(10, 8)),
    "d": RunMetric(history(10, 7, 7, 7)),
    "e": RunMetric(history(12)),
    "f": RunMetric(history(10, 6, 11, 11)),
}
# min_iter 1, eta 2: brackets at iterations 1, 2, 4 (8 is beyond every history).
# Threshold at a bracket: the sorted values of the runs that reached it, index int(n / 2).
#   bracket 1: a10 b10 c10 d10 e12 f10 -> [10, 10, 10, 10, 10, 12], n 6, index 3 -> 10
#   bracket 2: a9 b10 c8 d7 f6         -> [6, 7, 8, 9, 10],          n 5, index 2 -> 8
#   bracket 4: a5 d7 f11               -> [5, 7, 11],                n 3, index 1 -> 7
# Running runs, at the last bracket each reached (strict: its value there):
#   b (3 values) bracket 2: 10 > 8   -> stop
#   c (2 values) bracket 2:  8 = 8   -> keeps running (not worse)
#   d (4 values) bracket 4:  7 = 7   -> keeps running
#   e (1 value)  bracket 1: 12 > 10  -> stop
#   f (4 values) bracket 4: 11 > 7   -> stop; not strict, its best (6) is under 7: runs on
# a is finished: it sets thresholds but is never stopped.
STRICT = Hyperband(min_iter=1, eta=2)


def test_the_hand_computed_case():
    assert runs_to_stop(STRICT, "minimize", RUNS) == (
        Stop("b", 2, 10, 8),
        Stop("e", 1, 12, 10),
        Stop("f", 4, 11, 7),
    )


def test_not_strict_compares_the_best_value_so_far():
    loose = Hyperband(min_iter=1, eta=2, strict=False)
    # b: best 10 > 8; e: best 12 > 10; f: best 6 <= 7.
    assert [stop.run for stop in runs_to_stop(loose, "minimize", RUNS)] == ["b", "e"]


def test_maximize_is_minimize_of_the_negated_metric():
    negated = {
        run: RunMetric({step: -v for step, v in metric.history.items()}, metric.running)
        for run, metric in RUNS.items()
    }
    assert runs_to_stop(STRICT, "maximize", negated) == (
        Stop("b", 2, -10, -8),
        Stop("e", 1, -12, -10),
        Stop("f", 4, -11, -7),
    )


def test_w_and_b_s_own_example():
    # wandb/sweeps' hyperband_stop_runs docstring: max_iter 5, eta 2, s 2 -> brackets
    # int(5/2) = 2 and int(5/4) = 1, i.e. [1, 2].
    #   bracket 1: all five at 10 -> index int(5/2) = 2 -> 10
    #   bracket 2: a9 b10 c8 d7 e6 -> [6, 7, 8, 9, 10], index 2 -> 8
    # running: b 10 > 8 stop; c 8 = 8 runs on; d 7 runs on.
    band = Hyperband(max_iter=5, s=2, eta=2)
    runs = {
        "a": RunMetric(history(10, 9), running=False),
        "b": RunMetric(history(10, 10)),
        "c": RunMetric(history(10, 8, 8)),
        "d": RunMetric(history(10, 7, 7)),
        "e": RunMetric(history(10, 6, 6), running=False),
    }
    assert brackets(band, 100) == (1, 2)
    assert runs_to_stop(band, "minimize", runs) == (Stop("b", 2, 10, 8),)


def test_brackets():
    assert brackets(Hyperband(min_iter=3), 81) == (3, 9, 27, 81)
    assert brackets(Hyperband(min_iter=3), 80) == (3, 9, 27)
    assert brackets(Hyperband(max_iter=27, s=2), 100) == (3, 9)
    assert brackets(Hyperband(max_iter=27, s=5), 100) == (1, 3, 9)
    assert brackets(Hyperband(min_iter=2, eta=2.5), 20) == (2, 5, 12)
    assert brackets(Hyperband(min_iter=3), 2) == ()


def test_values_that_are_not_finite_do_not_count_as_iterations():
    runs = {
        "a": RunMetric({0: 1.0, 1: math.nan, 2: 1.0}, running=False),
        "b": RunMetric({0: 5.0, 1: math.inf}),
    }
    # b has one finite value: bracket 1 only; threshold over [1, 5] at index 1 is 5: 5 = 5.
    assert runs_to_stop(Hyperband(min_iter=1, eta=2), "minimize", runs) == ()


def test_a_run_alone_at_a_bracket_is_its_own_threshold():
    runs = {"a": RunMetric(history(100, 100, 100))}
    assert runs_to_stop(STRICT, "minimize", runs) == ()
    assert runs_to_stop(STRICT, "minimize", {}) == ()


def test_an_agent_stops_only_its_own_trial():
    # Two trials run at once: the agent of the good one is not told to stop it because
    # hyperband stops the other (each agent asks about its own run only).
    from types import SimpleNamespace

    from artstore.sweeps.agents import _Agent, _hyperband_stops
    from artstore.sweeps.config import parse_sweep_config

    config = parse_sweep_config(
        {
            "method": "grid",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"x": {"values": [1, 2]}},
            "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
        }
    )
    found = {
        "done": ("finished", history(10, 5)),
        "good": ("running", history(10, 4)),
        "bad": ("running", history(10, 9)),
    }
    sweeps = SimpleNamespace(histories=lambda sweep_id, key: found)
    me = _Agent(
        catalog=SimpleNamespace(sweeps=sweeps),
        sweep=SimpleNamespace(id="sw"),
        config=config,
        name="a",
        seconds=60.0,
        grace=1.0,
        function=None,
        env={},
        echo=None,
    )
    runs = {run: RunMetric(h, state == "running") for run, (state, h) in found.items()}
    assert config.early_terminate is not None
    assert [stop.run for stop in runs_to_stop(config.early_terminate, "minimize", runs)] == ["bad"]
    stops = [_hyperband_stops(me, SimpleNamespace(run_id=run)) for run in ("good", "bad")]
    assert stops == [False, True]
