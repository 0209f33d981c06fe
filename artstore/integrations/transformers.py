"""``ArtstoreCallback``: a Hugging Face ``transformers`` ``TrainerCallback``, as ``WandbCallback``.

``Trainer(..., args=TrainingArguments(..., report_to="none"), callbacks=[ArtstoreCallback()])``:
transformers does not know the name ``"artstore"`` in ``report_to``, so the callback is given
as an instance. The training arguments and the model's config become the run's config, the
Trainer's logs its metrics (``train/``, ``eval/``, ``test/``, as W&B's), and with
``ARTSTORE_LOG_MODEL`` the checkpoints or the final model versions of ``model-<run id>``.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from artstore.artifacts import Artifact
from artstore.errors import ConfigError
from artstore.integrations.conventions import json_ready, model_name, project_default
from artstore.tracker import Run, current, init

try:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
except ImportError:  # pragma: no cover - the test suite installs transformers
    raise ConfigError(
        "artstore.integrations.transformers needs transformers: "
        "pip install 'artstore[transformers]'"
    ) from None

__all__ = ["LOG_MODEL_ENV", "ArtstoreCallback", "log_model_setting", "rewrite_logs"]

#: What is logged as the model: ``end``, ``checkpoint`` or ``false`` (W&B's ``WANDB_LOG_MODEL``,
#: read when this is unset).
LOG_MODEL_ENV = "ARTSTORE_LOG_MODEL"
#: The metric the Trainer's step is logged as; every other metric is plotted against it.
GLOBAL_STEP = "train/global_step"
_LOG_MODEL_VALUES = ("end", "checkpoint", "false")
# Logged once at the end of training: kept in the summary, not as a metric, as W&B does.
_SINGLE_VALUES = frozenset(
    {
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "train_loss",
        "total_flos",
    }
)


def log_model_setting(value: str | None = None) -> str:
    """``end``, ``checkpoint`` or ``false``: ``value``, else ``$ARTSTORE_LOG_MODEL``, else
    ``$WANDB_LOG_MODEL``, else ``false``.

    Raises:
        ConfigError: another value (W&B would warn and log nothing).
    """
    if value is None:
        value = os.environ.get(LOG_MODEL_ENV) or os.environ.get("WANDB_LOG_MODEL") or "false"
    chosen = value.strip().lower()
    if chosen not in _LOG_MODEL_VALUES:
        raise ConfigError(
            f"{LOG_MODEL_ENV} must be 'end', 'checkpoint' or 'false', not {value[:40]!r}"
        )
    return chosen


def rewrite_logs(logs: Mapping[str, Any]) -> dict[str, Any]:
    """The Trainer's log keys as W&B's: ``eval_loss`` -> ``eval/loss``, ``test_x`` ->
    ``test/x``, anything else ``train/<key>``."""
    rewritten: dict[str, Any] = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(f"{prefix}_"):
                rewritten[f"{prefix}/{key[len(prefix) + 1 :]}"] = value
                break
        else:
            rewritten[f"train/{key}"] = value
    return rewritten


class ArtstoreCallback(TrainerCallback):
    """Log a Trainer's run to artstore, as W&B's ``WandbCallback``.

    Args:
        log_model: ``end`` (the final model, alias ``final_model``), ``checkpoint`` (each
            saved checkpoint folder too) or ``false``; default ``$ARTSTORE_LOG_MODEL``.
        **init_kwargs: passed to ``artstore.init`` when the callback starts the run
            (``project``, ``entity``, ``tags``, ``store``, ``mode``, ``dir``, ...).

    Raises:
        ConfigError: ``log_model`` (or the variable) is not one of the three values.
    """

    def __init__(self, log_model: str | None = None, **init_kwargs: Any) -> None:
        self._log_model = log_model_setting(log_model)
        self._init_kwargs = init_kwargs
        self._run: Run | None = None
        # Only a run this callback started is finished by it; one already going is the user's.
        self._owns_run = False
        self._run_id: str | None = None

    @property
    def run(self) -> Run | None:
        """The run logged to, once training has begun."""
        return self._run

    def setup(self, args: TrainingArguments, state: TrainerState, model: Any) -> Run | None:
        """Start (or join) the run and record the arguments and the model's config.

        The model's config comes first and the training arguments override it, as in W&B;
        ``model/num_parameters`` is added when the model can count them.
        """
        if not state.is_world_process_zero:
            return None
        combined: dict[str, Any] = dict(args.to_dict())  # type: ignore[no-untyped-call]
        config = getattr(model, "config", None)
        if config is not None:
            plain = config if isinstance(config, dict) else config.to_dict()
            combined = {**plain, **combined}
        going = current()
        if going is not None:
            self._run, self._owns_run = going, False
        else:
            kwargs: dict[str, Any] = {"project": project_default("huggingface")}
            if state.trial_name is not None:
                kwargs.update(name=state.trial_name, group=args.run_name or args.output_dir)
            elif args.run_name is not None:
                kwargs["name"] = args.run_name
            if self._run_id is not None:  # continuing after on_train_end (then evaluate())
                kwargs.update(id=self._run_id, resume="allow")
            self._run = init(**{**kwargs, **self._init_kwargs})
            self._owns_run, self._run_id = True, self._run.id
        run = self._run
        run.config.update(json_ready(combined), allow_val_change=True)
        run.define_metric(GLOBAL_STEP)
        run.define_metric("*", step_metric=GLOBAL_STEP, step_sync=True)
        count = getattr(model, "num_parameters", None)
        if callable(count):
            run.config.update({"model/num_parameters": count()}, allow_val_change=True)
        return run

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Start the run, or continue this callback's last one (a second ``train()``); each
        trial of a hyperparameter search is a run of its own, as in W&B."""
        if state.is_hyper_param_search:
            self._finish()
            self._run_id = None
        if self._run is None:
            self.setup(args, state, kwargs.get("model"))

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Log the Trainer's numbers with W&B's prefixes and ``train/global_step``; the
        end-of-training figures (``train_runtime``, ...) go to the summary."""
        run = self._run or self.setup(args, state, kwargs.get("model"))
        if run is None:
            return
        logs = logs or {}
        for key in _SINGLE_VALUES.intersection(logs):
            run.summary[key] = logs[key]
        rest = {k: v for k, v in logs.items() if k not in _SINGLE_VALUES}
        run.log({**rewrite_logs(rest), GLOBAL_STEP: state.global_step})

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """With ``checkpoint``: log the folder just saved, aliases ``epoch_<e>`` and
        ``checkpoint_global_step_<n>``."""
        run = self._run
        if self._log_model != "checkpoint" or run is None:
            return
        folder = Path(args.output_dir or ".") / f"checkpoint-{state.global_step}"
        metadata = {**_numbers(run.summary), "model/num_parameters": _parameters(run)}
        artifact = Artifact(model_name(run), "model", metadata=json_ready(metadata, finite=True))
        artifact.add_dir(folder)
        aliases = [f"checkpoint_global_step_{state.global_step}"]
        if state.epoch is not None:
            aliases.insert(0, f"epoch_{round(state.epoch, 2)}")
        run.log_artifact(artifact, aliases=aliases)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Log the final model (``end`` or ``checkpoint``), then finish a run this callback
        started; a later ``evaluate()`` continues it."""
        run = self._run
        if run is None:
            return
        model = kwargs.get("model")
        if self._log_model != "false" and model is not None:
            if args.load_best_model_at_end:
                metadata: dict[str, Any] = {
                    f"eval/{args.metric_for_best_model}": state.best_metric,
                    "train/total_floss": state.total_flos,
                    "model/num_parameters": _parameters(run),
                }
            else:
                metadata = _numbers(run.summary)
            metadata["final_model"] = True
            with tempfile.TemporaryDirectory(prefix="artstore-model-") as folder:
                _save_model(model, kwargs.get("processing_class"), Path(folder))
                artifact = Artifact(
                    model_name(run), "model", metadata=json_ready(metadata, finite=True)
                )
                artifact.add_dir(folder)
                run.log_artifact(artifact, aliases=["final_model"])
        self._finish()
        if state.is_hyper_param_search:
            self._run_id = None  # a trial is not continued by a later train()

    def on_predict(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: Mapping[str, Any],
        **kwargs: Any,
    ) -> None:
        """Log ``predict()``'s metrics (``test/...``)."""
        run = self._run or self.setup(args, state, kwargs.get("model"))
        if run is not None:
            run.log(rewrite_logs(metrics))

    def _finish(self) -> None:
        if self._run is not None and self._owns_run:
            self._run.finish()
        self._run, self._owns_run = None, False


def _numbers(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in summary.items()
        if isinstance(value, numbers.Number) and not key.startswith("_")
    }


def _parameters(run: Run) -> Any:
    return run.config.get("model/num_parameters")


def _save_model(model: Any, processing_class: Any, folder: Path) -> None:
    """The model as ``save_pretrained`` writes it (else its ``state_dict``), its tokenizer or
    processor, and its printed architecture, as W&B's callback logs them."""
    save = getattr(model, "save_pretrained", None)
    if callable(save):
        save(folder)
    else:
        import torch

        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    save_processor = getattr(processing_class, "save_pretrained", None)
    if callable(save_processor):
        save_processor(folder)
    (folder / "model_architecture.txt").write_text(f"{model}\n", encoding="utf-8")
