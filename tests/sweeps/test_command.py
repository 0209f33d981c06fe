"""A trial's command line from the sweep's command and W&B's macros."""

from __future__ import annotations

import json

import pytest

from artstore.errors import InvalidArgumentError, InvalidSweepConfigError
from artstore.sweeps import parse_sweep_config, trial_command

CONFIG = parse_sweep_config(
    {
        "method": "grid",
        "program": "train.py",
        "parameters": {
            "lr": {"values": [0.01]},
            "augment": {"values": [True, False]},
            "layers": {"value": [64, 32]},
            "optimizer": {"parameters": {"name": {"value": "adam"}, "beta": {"value": None}}},
        },
    }
)
PARAMS = {
    "lr": 0.01,
    "augment": False,
    "layers": [64, 32],
    "optimizer": {"name": "adam", "beta": None},
}


def command(items, **extra):
    options = {"program": CONFIG.program, "interpreter": "/venv/bin/python", "windows": False}
    options.update(extra)
    return trial_command(items, parameters=CONFIG.parameters, params=PARAMS, **options)


def test_the_default_command_is_w_and_b_s():
    assert command(None) == [
        "/usr/bin/env",
        "/venv/bin/python",
        "train.py",
        "--lr=0.01",
        "--augment=False",
        "--layers=[64, 32]",
        "--optimizer.name=adam",
        "--optimizer.beta=None",
    ]


def test_env_is_dropped_on_windows():
    assert command(["${env}", "${interpreter}", "${program}"], windows=True) == [
        "/venv/bin/python",
        "train.py",
    ]


def test_the_args_forms():
    assert command(["${args_no_hyphens}"]) == [
        "lr=0.01",
        "augment=False",
        "layers=[64, 32]",
        "optimizer.name=adam",
        "optimizer.beta=None",
    ]
    assert command(["${args_no_boolean_flags}"]) == [
        "--lr=0.01",
        "--layers=[64, 32]",
        "--optimizer.name=adam",
        "--optimizer.beta=None",
    ]
    params = {**PARAMS, "augment": True}
    flags = trial_command(
        ["${args_no_boolean_flags}"],
        program=None,
        parameters=CONFIG.parameters,
        params=params,
        interpreter="python",
    )
    assert flags[1] == "--augment"


def test_json_forms_keep_the_nesting():
    line = command(
        ["python", "${args_json}", "--config=${args_json_file}"], args_json_file="/t/a.json"
    )
    assert json.loads(line[1]) == PARAMS
    assert line[2] == "--config=/t/a.json"


def test_text_macros_inside_an_argument_and_envvar():
    line = command(
        ["${interpreter}", "-u", "src/${program}", "--data=${envvar:DATA}/x"],
        environ={"DATA": "/data"},
    )
    assert line == ["/venv/bin/python", "-u", "src/train.py", "--data=/data/x"]


def test_missing_pieces_are_named():
    with pytest.raises(InvalidSweepConfigError, match=r"^sweep config: program: required by"):
        command(None, program=None)
    with pytest.raises(InvalidArgumentError, match="args_json_file"):
        command(["${args_json_file}"])
    with pytest.raises(
        InvalidSweepConfigError,
        match=r"^sweep config: command\[1\]: environment variable NOPE is not set$",
    ):
        command(["python", "${envvar:NOPE}"], environ={})


def test_parameters_missing_from_the_trial_are_left_out():
    line = trial_command(
        ["${args}"],
        program=None,
        parameters=CONFIG.parameters,
        params={"lr": 0.1},
        interpreter="python",
    )
    assert line == ["--lr=0.1"]
