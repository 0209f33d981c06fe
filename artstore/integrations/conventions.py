"""W&B's conventions the framework loggers share: hyperparameters kept as JSON (their text when
JSON cannot hold them), the model artifact's name, and the default project."""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from typing import Any

from artstore.tracker import Run

__all__ = ["json_ready", "model_name", "project_default"]


def json_ready(value: Any, *, finite: bool = False) -> Any:
    """``value`` as JSON data: scalars of numpy or torch as numbers, enums as their values,
    mappings and sequences walked, anything else (a path, a dtype, a callable) as its text.

    Frameworks put such objects in hyperparameters and configs; W&B keeps their text too.
    With ``finite``, NaN and infinities become None (artifact metadata is strict JSON).
    """
    if isinstance(value, Mapping):
        return {str(k): json_ready(v, finite=finite) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(v, finite=finite) for v in value]
    if isinstance(value, enum.Enum):
        value = value.value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if finite and not math.isfinite(value) else value
    return str(value)


def model_name(run: Run) -> str:
    """The model artifact a run's checkpoints are versions of: ``model-<run id>``, as W&B's."""
    return f"model-{run.id}"


def project_default(framework: str) -> str:
    """The project when none is given: ``$ARTSTORE_PROJECT``, ``$WANDB_PROJECT``, or the
    framework's own default (``lightning_logs``, ``huggingface``), as W&B's integrations do."""
    return os.environ.get("ARTSTORE_PROJECT") or os.environ.get("WANDB_PROJECT") or framework
