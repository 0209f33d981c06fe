"""``watch(model)``: histograms of a torch model's gradients and parameters at W&B's steps."""

from __future__ import annotations

import builtins
import logging
from typing import Any

import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import ConfigError, InvalidArgumentError, RunStateError

torch = pytest.importorskip("torch")

NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")


def mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def train(run: Any, model: Any, steps: int = 5) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        run.log({"loss": loss.item()})


def history(store_url: str, run_id: str) -> list[dict[str, Any]]:
    with Store(store_url) as store:
        return store.run(run_id).history()


def steps_of(rows: list[dict[str, Any]], key: str) -> list[int]:
    return [row["_step"] for row in rows if key in row]


def test_gradients_and_parameters_every_log_freq_batches(start, store_url):
    model = mlp()
    with start(project="w") as run:
        artstore.watch(model, log="all", log_freq=2)
        train(run, model)
    rows = history(store_url, run.id)
    assert steps_of(rows, "loss") == [0, 1, 2, 3, 4]
    for name in NAMES:
        # The 2nd and 4th batch: steps 1 and 3, committed with that step's loss.
        assert steps_of(rows, f"gradients/{name}") == [1, 3]
        assert steps_of(rows, f"parameters/{name}") == [1, 3]
    histogram = rows[1]["gradients/0.weight"]
    assert histogram["_type"] == "histogram" and sum(histogram["values"]) == 32
    assert len(histogram["bins"]) == 65 and histogram["bins"] == sorted(histogram["bins"])
    assert sum(rows[3]["parameters/2.bias"]["values"]) == 1


def test_default_logs_gradients_and_parameters_logs_no_gradients(start, store_url):
    gradients, parameters = mlp(), mlp()
    with start(project="w") as run:
        run.watch(gradients, log_freq=2)
        train(run, gradients, steps=2)
        run.unwatch()
        run.watch(parameters, log="parameters", log_freq=2)
        train(run, parameters, steps=2)
    rows = history(store_url, run.id)
    for name in NAMES:
        # The default logs gradients only; log="parameters" logs no gradients.
        assert steps_of(rows, f"gradients/{name}") == [1]
        assert steps_of(rows, f"parameters/{name}") == [3]


def test_unwatch_and_log_none_stop_logging(start, store_url):
    model = mlp()
    with start(project="w") as run:
        run.watch(model, log="all", log_freq=1)
        train(run, model, steps=1)
        artstore.unwatch(model)
        train(run, model, steps=2)
        run.watch(model, log=None, log_freq=1)
        train(run, model, steps=1)
    rows = history(store_url, run.id)
    assert steps_of(rows, "gradients/0.bias") == [0]
    assert steps_of(rows, "parameters/0.bias") == [0]
    assert len(rows) == 4


def test_finish_removes_the_hooks(start):
    model = mlp()
    run = start(project="w")
    run.watch(model, log="all", log_freq=1)
    run.finish()
    model(torch.randn(2, 4)).sum().backward()  # no RunStateError from a hook
    with pytest.raises(RunStateError):
        run.watch(model)


def test_refused_models_and_arguments(start):
    with start(project="w") as run:
        with pytest.raises(InvalidArgumentError, match=r"torch\.nn\.Module .* not a dict"):
            run.watch({"not": "a module"})
        with pytest.raises(InvalidArgumentError, match="not a str"):
            run.unwatch([mlp(), "x"])
        with pytest.raises(InvalidArgumentError, match="'gradients', 'parameters', 'all'"):
            run.watch(mlp(), log="weights")
        for freq in (0, 1.5, True):
            with pytest.raises(InvalidArgumentError, match="log_freq"):
                run.watch(mlp(), log_freq=freq)
    with pytest.raises(RunStateError, match=r"artstore\.init"):
        artstore.watch(mlp())


def test_ignored_w_and_b_arguments_warn_once(start, caplog):
    with start(project="w") as run, caplog.at_level(logging.WARNING, logger="artstore"):
        run.watch([mlp(), mlp()], criterion=torch.nn.MSELoss(), idx=1, log_graph=True)
        run.watch(mlp(), criterion=torch.nn.MSELoss(), idx=1, log_graph=True)
    lines = [r.getMessage() for r in caplog.records if "watch:" in r.getMessage()]
    assert lines == ["watch: criterion, idx, log_graph mean nothing in artstore and are ignored"]


def test_no_torch_is_a_config_error(start, monkeypatch):
    real = builtins.__import__

    def no_torch(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    with start(project="w") as run:
        monkeypatch.setattr(builtins, "__import__", no_torch)
        with pytest.raises(ConfigError, match="pip install torch"):
            run.watch(object())
