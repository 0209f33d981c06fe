"""``watch(model)``: histograms of a torch model's gradients and parameters, as W&B's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from artstore.errors import ConfigError, InvalidArgumentError
from artstore.tracker.habits import ignore
from artstore.tracker.media import Histogram

__all__ = ["LOG_KINDS", "Watcher"]

#: What ``watch(log=...)`` takes; None watches without logging, as in W&B.
LOG_KINDS = ("gradients", "parameters", "all")

# W&B's histograms of tensors have 64 bins.
_BINS = 64


class Watcher:
    """The hooks ``watch`` puts on models, each logging through ``log`` (a ``commit=False``
    log of the run, so a histogram joins the step the next ``log()`` commits)."""

    def __init__(self, log: Callable[[Mapping[str, Any]], None]) -> None:
        self._log = log
        # id(model) -> (model, its hook handles); the model is kept so the id stays its own.
        self._hooks: dict[int, tuple[Any, list[Any]]] = {}

    def watch(
        self, models: Any, log: str | None, log_freq: int, ignored: Mapping[str, Any]
    ) -> None:
        """Hook ``models`` (a torch module, or a list or tuple of them): every ``log_freq``
        forward passes logs ``parameters/<name>``, every ``log_freq`` gradients of a
        parameter logs ``gradients/<name>``. Watching a model again replaces its hooks.
        ``ignored``: W&B's arguments with no use here, named in one warning if given.

        Raises:
            ConfigError: torch is not installed.
            InvalidArgumentError: a model that is not a ``torch.nn.Module``, an unknown
                ``log``, or a ``log_freq`` that is not a whole number >= 1.
        """
        modules = _modules(models)
        if log is not None and log not in LOG_KINDS:
            raise InvalidArgumentError(
                f"watch(log=) takes 'gradients', 'parameters', 'all' or None, not {log!r}"
            )
        if type(log_freq) is not int or log_freq < 1:
            raise InvalidArgumentError(f"watch(log_freq=) is a whole number >= 1, not {log_freq!r}")
        ignore("watch", ignored)
        for module in modules:
            self.unwatch(module)
            handles: list[Any] = []
            if log in ("parameters", "all"):
                handles.append(module.register_forward_hook(self._parameter_hook(log_freq)))
            if log in ("gradients", "all"):
                for name, parameter in module.named_parameters():
                    if parameter.requires_grad:
                        hook = self._gradient_hook(f"gradients/{name}", log_freq)
                        handles.append(parameter.register_hook(hook))
            self._hooks[id(module)] = (module, handles)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks of ``models`` (a module or a list or tuple of them; None: all).

        Raises:
            ConfigError: torch is not installed.
            InvalidArgumentError: a model that is not a ``torch.nn.Module``.
        """
        keys = list(self._hooks) if models is None else [id(m) for m in _modules(models)]
        for key in keys:
            _, handles = self._hooks.pop(key, (None, []))
            for handle in handles:
                handle.remove()

    def close(self) -> None:
        """Remove every hook: a finished run logs nothing more."""
        self.unwatch()

    def _parameter_hook(self, log_freq: int) -> Callable[..., None]:
        calls = 0

        def hook(module: Any, inputs: Any, output: Any) -> None:
            nonlocal calls
            calls += 1
            if calls % log_freq:
                return
            histograms = {
                f"parameters/{name}": _histogram(parameter)
                for name, parameter in module.named_parameters()
            }
            self._log({key: h for key, h in histograms.items() if h is not None})

        return hook

    def _gradient_hook(self, key: str, log_freq: int) -> Callable[[Any], None]:
        calls = 0

        def hook(grad: Any) -> None:
            nonlocal calls
            calls += 1
            if calls % log_freq:
                return
            histogram = _histogram(grad)
            if histogram is not None:
                self._log({key: histogram})

        return hook


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ConfigError("watch needs torch: pip install torch") from None
    return torch


def _modules(models: Any) -> list[Any]:
    torch = _torch()
    listed = list(models) if isinstance(models, (list, tuple)) else [models]
    for model in listed:
        if not isinstance(model, torch.nn.Module):
            raise InvalidArgumentError(
                f"watch takes a torch.nn.Module or a list or tuple of them, "
                f"not a {type(model).__name__}"
            )
    return listed


def _histogram(tensor: Any) -> Histogram | None:
    # As W&B: NaN and infinite values are left out; a tensor with no finite value logs none.
    torch = _torch()
    with torch.no_grad():
        flat = tensor.detach().reshape(-1).float().cpu()
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return None
        low, high = flat.min().item(), flat.max().item()
        if low == high:
            low, high = low - 0.5, high + 0.5
        counts = torch.histc(flat, bins=_BINS, min=low, max=high)
        edges = torch.linspace(low, high, _BINS + 1)
    return Histogram(np_histogram=(counts.tolist(), edges.tolist()))
