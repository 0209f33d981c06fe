"""``ArtstoreCallback`` trains a tiny random BERT on CPU and leaves a run, metrics and models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Store
from artstore.errors import ConfigError
from artstore.tracker import current
from tests.integrations.conftest import FAST, need

transformers = need("transformers", "transformers")
torch = need("torch", "transformers")

from artstore.integrations.transformers import (  # noqa: E402
    ArtstoreCallback,
    log_model_setting,
    rewrite_logs,
)

SAMPLES, EPOCHS, BATCH, LENGTH, VOCAB = 64, 2, 16, 8, 50
STEPS_PER_EPOCH = SAMPLES // BATCH


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    """Random token sequences, labelled by whether the first token is in the upper half."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, VOCAB, (SAMPLES, LENGTH), generator=generator)

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, index: int) -> dict[str, Any]:
        ids = self.ids[index]
        return {"input_ids": ids, "labels": int(ids[0] >= VOCAB // 2)}


def tiny_bert() -> Any:
    """A two-layer BERT with hidden size 32, randomly initialised: nothing is downloaded."""
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=LENGTH,
        num_labels=2,
    )
    return transformers.BertForSequenceClassification(config)


def train(tmp_path: Path, callback: ArtstoreCallback, **args: Any) -> Any:
    settings: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"),
        "num_train_epochs": EPOCHS,
        "per_device_train_batch_size": BATCH,
        "per_device_eval_batch_size": BATCH,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    arguments = transformers.TrainingArguments(**{**settings, **args})
    trainer = transformers.Trainer(
        model=tiny_bert(),
        args=arguments,
        train_dataset=Tokens(),
        eval_dataset=Tokens(),
        callbacks=[callback],
    )
    trainer.train()
    return trainer


def test_training_leaves_metrics_config_checkpoints_and_the_final_model(
    tmp_path: Path, store_url: str
) -> None:
    callback = ArtstoreCallback(log_model="checkpoint", store=store_url, **FAST)
    trainer = train(tmp_path, callback, run_name="tiny-bert")
    assert current() is None  # on_train_end finished the run it started

    with Store(store_url) as store:
        (run,) = store.runs()
        assert (run.project, run.name, run.state) == ("huggingface", "tiny-bert", "finished")
        assert run.config["num_train_epochs"] == EPOCHS and run.config["hidden_size"] == 32
        assert run.config["model/num_parameters"] == trainer.model.num_parameters()
        history = run.history()
        losses = [row for row in history if "train/loss" in row]
        assert [row["train/global_step"] for row in losses] == list(
            range(1, EPOCHS * STEPS_PER_EPOCH + 1)
        )
        assert sum("eval/loss" in row for row in history) == EPOCHS
        assert "train_runtime" in run.summary and "train/train_runtime" not in history[-1]

        versions = store.versions(f"model-{run.id}")
        assert [v.created_by for v in versions] == [run.id] * (EPOCHS + 1)
        first, second, final = versions
        assert {"epoch_1.0", f"checkpoint_global_step_{STEPS_PER_EPOCH}"} <= set(first.aliases)
        assert "epoch_2.0" in second.aliases
        assert "trainer_state.json" in {entry.path for entry in first.files()}
        assert {"final_model", "latest"} <= set(final.aliases)
        assert final.metadata["final_model"] is True
        assert {v.name for v in run.produced()} == {f"model-{run.id}"}

        folder = final.download(tmp_path / "final")
        restored = transformers.BertForSequenceClassification.from_pretrained(folder)
        for name, tensor in trainer.model.state_dict().items():
            assert torch.equal(restored.state_dict()[name], tensor.cpu())


def test_evaluate_after_train_continues_the_run(tmp_path: Path, store_url: str) -> None:
    callback = ArtstoreCallback(store=store_url, **FAST)
    trainer = train(tmp_path, callback, save_strategy="no")
    trainer.evaluate()
    trainer.predict(Tokens())
    run = callback.run
    assert run is not None and current() is run
    run.finish()
    with Store(store_url) as store:
        (kept,) = store.runs()
        assert sum("eval/loss" in row for row in kept.history()) == EPOCHS + 1
        assert any("test/loss" in row for row in kept.history())
        assert kept.produced() == []  # ARTSTORE_LOG_MODEL unset: no model


def test_a_run_already_going_is_used_and_left_going(tmp_path: Path, store_url: str) -> None:
    import artstore

    run = artstore.init(project="mine", store=store_url, config={"mine": 1}, **FAST)
    train(tmp_path, ArtstoreCallback(), save_strategy="no", max_steps=2)
    assert current() is run
    run.finish()
    with Store(store_url) as store:
        kept = store.run(run.id)
        assert kept.config["mine"] == 1 and kept.config["max_steps"] == 2
        assert any("train/loss" in row for row in kept.history())


def hooks(tmp_path: Path, **state: Any) -> tuple[Any, Any, Any]:
    """Training arguments, a state and a control, for calling the callback's hooks directly."""
    arguments = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True
    )
    return arguments, transformers.TrainerState(**state), transformers.TrainerControl()


def test_each_search_trial_is_a_run_and_a_second_train_continues_one(
    tmp_path: Path, store_url: str
) -> None:
    callback = ArtstoreCallback(store=store_url, **FAST)
    for trial in ("trial-1", "trial-2"):
        args, state, control = hooks(tmp_path, is_hyper_param_search=True, trial_name=trial)
        callback.on_train_begin(args, state, control, model=tiny_bert())
        callback.on_log(args, state, control, logs={"loss": 1.0})
        callback.on_train_end(args, state, control)
    args, state, control = hooks(tmp_path)
    for _ in range(2):
        callback.on_train_begin(args, state, control)
        callback.on_log(args, state, control, logs={"loss": 0.5})
        callback.on_train_end(args, state, control)
    with Store(store_url) as store:
        runs = {run.name: run for run in store.runs()}
        assert len(runs) == 3 and {"trial-1", "trial-2"} <= set(runs)
        assert f"group:{tmp_path / 'out'}" in runs["trial-1"].tags
        assert runs["trial-1"].config["hidden_size"] == 32
        (other,) = (run for name, run in runs.items() if name not in ("trial-1", "trial-2"))
        assert len(other.history()) == 2


def test_the_log_model_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_model_setting() == "false"
    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    assert log_model_setting() == "checkpoint"
    monkeypatch.setenv("ARTSTORE_LOG_MODEL", "End")
    assert log_model_setting() == "end"
    monkeypatch.setenv("ARTSTORE_LOG_MODEL", "true")
    with pytest.raises(ConfigError, match="'end', 'checkpoint' or 'false'"):
        ArtstoreCallback()


def test_rewrite_logs_as_wandb() -> None:
    assert rewrite_logs({"loss": 1, "eval_loss": 2, "test_acc": 3, "epoch": 1.0}) == {
        "train/loss": 1,
        "eval/loss": 2,
        "test/acc": 3,
        "train/epoch": 1.0,
    }
