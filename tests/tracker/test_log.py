"""``Run.log``: step rules, accepted and refused values, summaries, config, finishing."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from typing import Any

import numpy as np
import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import InvalidValueError, RunStateError
from artstore.tracker import Run, current
from artstore.tracker.values import MAX_TEXT


def history_of(store: Store, run: Run) -> list[dict[str, Any]]:
    return store.run(run.id).history()


# -- steps -----------------------------------------------------------------------------------


def test_steps_auto_increment(start, store):
    run = start()
    for loss in (3.0, 2.0, 1.0):
        run.log({"loss": loss})
    assert run.step == 3
    run.finish()
    assert history_of(store, run) == [
        {"_step": 0, "loss": 3.0},
        {"_step": 1, "loss": 2.0},
        {"_step": 2, "loss": 1.0},
    ]


def test_lower_explicit_step_is_dropped_with_a_warning(start, store, caplog):
    run = start()
    run.log({"loss": 1.0}, step=5)
    with caplog.at_level(logging.WARNING, logger="artstore"):
        run.log({"loss": 9.0}, step=3)
    assert run.step == 5  # an explicit step stays open, as in W&B (decision 108)
    run.finish()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "step 3 is lower than the current step 5" in warnings[0].getMessage()
    assert history_of(store, run) == [{"_step": 5, "loss": 1.0}]
    assert store.run(run.id).summary == {"loss": 1.0}


def test_commit_false_adds_to_the_current_step(start, store):
    run = start()
    run.log({"a": 1.0}, commit=False)
    assert run.step == 0
    run.log({"b": 2.0}, commit=False)
    run.log({"c": 3.0})
    run.log({"a": 4.0})
    run.finish()
    assert history_of(store, run) == [
        {"_step": 0, "a": 1.0, "b": 2.0, "c": 3.0},
        {"_step": 1, "a": 4.0},
    ]


def test_explicit_higher_step_jumps(start, store):
    run = start()
    run.log({"x": 0.0})
    run.log({"x": 10.0}, step=10, commit=True)
    run.log({"x": 11.0})
    run.log({"x": 12.0}, step=12, commit=False)
    run.log({"y": 12.5}, step=12)
    run.finish()
    assert history_of(store, run) == [
        {"_step": 0, "x": 0.0},
        {"_step": 10, "x": 10.0},
        {"_step": 11, "x": 11.0},
        {"_step": 12, "x": 12.0, "y": 12.5},
    ]


def test_logs_at_the_same_step_join_one_row(start, store, caplog):
    # The W&B habit: train and validation logged separately with step=epoch.
    run = start()
    with caplog.at_level(logging.WARNING, logger="artstore"):
        for epoch in range(3):
            run.log({"train_loss": 1.0 / (epoch + 1)}, step=epoch)
            run.log({"val_loss": 2.0 / (epoch + 1)}, step=epoch)
    assert run.step == 2
    run.finish()
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    assert history_of(store, run) == [
        {"_step": 0, "train_loss": 1.0, "val_loss": 2.0},
        {"_step": 1, "train_loss": 0.5, "val_loss": 1.0},
        {"_step": 2, "train_loss": 1.0 / 3, "val_loss": 2.0 / 3},
    ]


def test_commit_none_moves_on_only_without_a_step(start, store):
    run = start()
    run.log({"a": 1.0}, commit=None)
    assert run.step == 1
    run.log({"a": 2.0}, step=4, commit=None)
    assert run.step == 4
    run.log({"b": 3.0}, commit=None)  # joins the open step 4, then moves on
    assert run.step == 5
    run.finish()
    assert history_of(store, run) == [
        {"_step": 0, "a": 1.0},
        {"_step": 4, "a": 2.0, "b": 3.0},
    ]


def test_commit_true_with_a_step_moves_on(start, store, caplog):
    run = start()
    run.log({"a": 1.0}, step=2, commit=True)
    assert run.step == 3
    with caplog.at_level(logging.WARNING, logger="artstore"):
        run.log({"a": 9.0}, step=2)
    assert "step 2 is lower than the current step 3" in caplog.records[-1].getMessage()
    run.log({"a": 3.0})
    run.finish()
    assert history_of(store, run) == [{"_step": 2, "a": 1.0}, {"_step": 3, "a": 3.0}]


# -- values ----------------------------------------------------------------------------------

ACCEPTED = [
    pytest.param(3, 3.0, id="int"),
    pytest.param(0.25, 0.25, id="float"),
    pytest.param(True, 1.0, id="bool"),
    pytest.param(False, 0.0, id="bool-false"),
    pytest.param(np.float32(0.5), 0.5, id="np.float32"),
    pytest.param(np.float64(1.5), 1.5, id="np.float64"),
    pytest.param(np.int64(7), 7.0, id="np.int64"),
    pytest.param(np.bool_(True), 1.0, id="np.bool_"),
    pytest.param(np.array(2.5), 2.5, id="0-d array"),
    pytest.param(np.array([4.0]), 4.0, id="1-element array"),
    pytest.param("adam", "adam", id="short string"),
    pytest.param("x" * MAX_TEXT, "x" * MAX_TEXT, id="longest string"),
]


@pytest.mark.parametrize(("value", "stored"), ACCEPTED)
def test_accepted_values_are_stored(start, store, value, stored):
    run = start()
    run.log({"v": value})
    run.finish()
    [row] = history_of(store, run)
    assert row == {"_step": 0, "v": stored}
    assert store.run(run.id).summary == {"v": stored}


def test_torch_scalars_are_accepted(start, store):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    run = start()
    run.log({"t": torch.tensor(0.75), "u": torch.tensor([2])})
    run.finish()
    assert history_of(store, run) == [{"_step": 0, "t": 0.75, "u": 2.0}]


REFUSED = [
    pytest.param([1, 2], id="list"),
    pytest.param({"a": 1}, id="dict"),
    pytest.param("x" * (MAX_TEXT + 1), id="long string"),
    pytest.param(None, id="None"),
    pytest.param(np.array([1.0, 2.0]), id="array"),
    pytest.param(object(), id="object"),
]


@pytest.mark.parametrize("value", REFUSED)
def test_refused_values_raise_naming_the_key_and_log_nothing(start, store, value):
    run = start()
    run.summarize("good", "max")
    run.log({"good": 1.0})
    with pytest.raises(InvalidValueError, match="'bad_key'"):
        run.log({"good": 5.0, "text": "kept?", "bad_key": value, "after": 2.0}, step=7)
    # Nothing from the refused call: no rows, no summary change, no step change.
    assert run.step == 1
    assert dict(run.summary) == {"good": 1.0}
    run.log({"good": 2.0})
    run.finish()
    assert history_of(store, run) == [{"_step": 0, "good": 1.0}, {"_step": 1, "good": 2.0}]
    assert store.run(run.id).summary == {"good": 2.0}


def test_non_string_keys_are_refused(start, store):
    run = start()
    with pytest.raises(InvalidValueError, match="keys must be strings"):
        run.log({"a": 1.0, 3: 1.0})
    run.finish()
    assert history_of(store, run) == []


def test_log_after_finish_raises(start):
    run = start()
    run.finish()
    with pytest.raises(RunStateError, match="finished"):
        run.log({"a": 1.0})


# -- summary ---------------------------------------------------------------------------------


def test_define_metric_chooses_what_the_summary_keeps(start, store):
    run = start()
    for key, kind in (("lo", "min"), ("hi", "max"), ("avg", "mean"), ("end", "last")):
        run.summarize(key, kind)
    for value in (3.0, 1.0, 2.0, 6.0):
        run.log({"lo": value, "hi": value, "avg": value, "end": value, "plain": value})
    expected = {"lo": 1.0, "hi": 6.0, "avg": 3.0, "end": 6.0, "plain": 6.0}
    assert dict(run.summary) == expected
    run.finish()
    assert store.run(run.id).summary == expected


def test_define_metric_refuses_unknown_kinds(start):
    run = start()
    with pytest.raises(InvalidValueError, match="min, max, mean or last"):
        run.summarize("loss", "median")


def test_explicit_summary_values_are_kept(start, store):
    run = start()
    run.log({"acc": 0.5})
    run.summary["acc"] = 0.9
    run.summary["best_epoch"] = 3
    run.summary.update({"note": "ok"})
    run.flush()
    # Persisted with the next batch, before the run finishes.
    assert store.run(run.id).summary == {"acc": 0.9, "best_epoch": 3, "note": "ok"}
    run.finish()
    assert store.run(run.id).summary == {"acc": 0.9, "best_epoch": 3, "note": "ok"}


def test_summary_of_a_logged_key_is_persisted_while_running(start, store):
    run = start()
    run.log({"loss": 0.3})
    run.flush()
    assert store.run(run.id).summary == {"loss": 0.3}
    assert store.run(run.id).state == "running"


# -- config ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Optim:
    name: str = "adam"
    betas: tuple[float, float] = (0.9, 0.999)


@dataclasses.dataclass
class Hyper:
    lr: float = 0.1
    optim: Optim = dataclasses.field(default_factory=Optim)


def test_config_takes_dataclasses_namespaces_and_nested_dicts(start, store):
    run = start(config=Hyper())
    run.config.update(argparse.Namespace(batch=32, layers=[64, 64]))
    run.config["schedule"] = {"kind": "cosine", "warmup": {"steps": 100}}
    run.config.update(seed=np.int64(7))
    assert run.config.lr == 0.1
    expected = {
        "lr": 0.1,
        "optim": {"name": "adam", "betas": [0.9, 0.999]},
        "batch": 32,
        "layers": [64, 64],
        "schedule": {"kind": "cosine", "warmup": {"steps": 100}},
        "seed": 7,
    }
    run.flush()
    assert store.run(run.id).config == expected
    run.finish()
    assert store.run(run.id).config == expected


def test_config_from_namespace_at_init(start, store):
    run = start(config=argparse.Namespace(lr=0.01, opt="sgd"))
    run.finish()
    assert store.run(run.id).config == {"lr": 0.01, "opt": "sgd"}


def test_config_refuses_what_json_cannot_hold(start):
    run = start()
    with pytest.raises(InvalidValueError, match="config"):
        run.config["model"] = object()
    assert "model" not in run.config


# -- finishing -------------------------------------------------------------------------------


def test_context_manager_finishes(start, store):
    with start() as run:
        run.log({"a": 1.0})
    info = store.run(run.id)
    assert (info.state, info.record.exit_code) == ("finished", 0)
    assert info.record.finished_at is not None
    assert current() is None


def test_context_manager_marks_failed_and_reraises(start, store):
    with pytest.raises(ZeroDivisionError), start() as run:
        run.log({"a": 1.0})
        1 / 0  # noqa: B018
    info = store.run(run.id)
    assert (info.state, info.record.exit_code) == ("failed", 1)
    assert info.history() == [{"_step": 0, "a": 1.0}]


def test_finish_with_an_exit_code_fails_the_run(start, store):
    run = start()
    run.finish(exit_code=4)
    run.finish()  # a second finish changes nothing
    info = store.run(run.id)
    assert (info.state, info.record.exit_code) == ("failed", 4)


# -- the module-level API ----------------------------------------------------------------------


def test_module_level_api_acts_on_the_current_run(start, store):
    with pytest.raises(RunStateError, match=r"artstore\.init\(\)"):
        artstore.log({"a": 1.0})
    run: Run = start()
    assert current() is run
    artstore.log({"a": 1.0})
    artstore.log({"a": 2.0}, step=5)
    artstore.config["lr"] = 0.1
    artstore.config.update({"batch": 8})
    artstore.summary["best"] = 0.9
    assert artstore.config is run.config and artstore.summary is run.summary
    artstore.finish()
    assert current() is None
    with pytest.raises(RunStateError):
        artstore.log({"a": 3.0})
    info = store.run(run.id)
    assert info.state == "finished"
    assert info.config == {"lr": 0.1, "batch": 8}
    assert info.summary == {"a": 2.0, "best": 0.9}
    assert info.history() == [{"_step": 0, "a": 1.0}, {"_step": 5, "a": 2.0}]


def test_module_level_finish_without_a_run_is_a_no_op():
    artstore.finish()
    assert current() is None


def test_init_finishes_the_previous_run(start, store, caplog):
    first: Run = start()
    with caplog.at_level(logging.WARNING, logger="artstore"):
        second: Run = start()
    assert current() is second
    assert f"finishing the previous run {first.id}" in caplog.text
    assert store.run(first.id).state == "finished"
    second.finish()


def test_flush_writes_now_not_at_the_end_of_the_interval(start, store):
    run = start(flush_interval=30.0, heartbeat_interval=30.0)
    run.log({"a": 1.0})
    began = time.monotonic()
    run.flush()
    assert time.monotonic() - began < 5.0
    assert store.run(run.id).history() == [{"_step": 0, "a": 1.0}]
