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
    runs = {run: RunMetric(h, state == "running") for run, (state, h) in found.items()}
    assert config.early_terminate is not None
    assert [stop.run for stop in runs_to_stop(config.early_terminate, "minimize", runs)] == ["bad"]
    assert [_hyperband_stops(me, trial(run)) for run in ("good", "bad")] == [False, True]
