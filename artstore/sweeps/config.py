"""A sweep config, W&B's schema (``wandb/sweeps``, ``config/schema.json``), parsed from a
mapping, YAML text or a YAML file into frozen values; every error is one line naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml

from artstore.errors import FileAccessError, InvalidSweepConfigError
from artstore.sweeps.command import MACROS
from artstore.sweeps.parameters import (
    Parameter,
    finite_number,
    parameters_to_dict,
    parse_parameters,
)

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = [
    "GRID_DISTRIBUTIONS",
    "Goal",
    "Hyperband",
    "Method",
    "Metric",
    "SweepConfig",
    "parse_sweep_config",
]

Method = Literal["grid", "random", "bayes"]
Goal = Literal["minimize", "maximize"]
GRID_DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "q_uniform")

_TOP = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "program",
    "command",
    "name",
    "description",
    "project",
    "entity",
)
_TEXT = ("program", "name", "description", "project", "entity")
# W&B keys for its cloud, Launch and custom schedulers: named, so the refusal is clear.
_UNSUPPORTED = ("apiVersion", "controller", "image_uri", "job", "kind", "metrics", "scheduler")


@dataclass(frozen=True, slots=True)
class Metric:
    """The metric a sweep optimises: its ``name`` in the runs' logs, ``goal``, and an optional
    ``target`` that ends the sweep once a run reaches it."""

    name: str
    goal: Goal = "minimize"
    target: float | None = None


@dataclass(frozen=True, slots=True)
class Hyperband:
    """``early_terminate`` of type hyperband: brackets at ``min_iter * eta**i``, or ``s``
    brackets down from ``max_iter`` (``max_iter / eta**i``); ``strict`` compares a run's value
    at the bracket rather than its best value so far."""

    eta: float = 3.0
    strict: bool = True
    min_iter: int | None = None
    max_iter: int | None = None
    s: int | None = None


@dataclass(frozen=True, slots=True)
class SweepConfig:
    """A checked sweep config. ``parameters`` holds the leaves in the config's order."""

    method: Method
    parameters: tuple[Parameter, ...]
    metric: Metric | None = None
    early_terminate: Hyperband | None = None
    run_cap: int | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    name: str | None = None
    description: str | None = None
    project: str | None = None
    entity: str | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        """The config as W&B's schema spells it; :func:`parse_sweep_config` reads it back."""
        out: dict[str, JSONValue] = {"method": self.method}
        if self.metric is not None:
            metric: dict[str, JSONValue] = {"name": self.metric.name, "goal": self.metric.goal}
            if self.metric.target is not None:
                metric["target"] = self.metric.target
            out["metric"] = metric
        out["parameters"] = parameters_to_dict(self.parameters)
        if self.early_terminate is not None:
            band = self.early_terminate
            stop: dict[str, JSONValue] = {"type": "hyperband", "eta": band.eta}
            stop["strict"] = band.strict
            for key in ("min_iter", "max_iter", "s"):
                if getattr(band, key) is not None:
                    stop[key] = getattr(band, key)
            out["early_terminate"] = stop
        if self.command is not None:
            out["command"] = list(self.command)
        for key in ("run_cap", *_TEXT):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def parse_sweep_config(source: Mapping[str, object] | str | os.PathLike[str]) -> SweepConfig:
    """Check a sweep config: a mapping, YAML text (a ``str``), or a YAML file (a path).

    Raises:
        InvalidSweepConfigError: the config breaks the schema; the message names the key.
        FileAccessError: the file cannot be read.
    """
    raw: object = source
    if isinstance(source, os.PathLike):
        path = Path(source)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FileAccessError(str(path), str(exc)) from exc
    if isinstance(raw, str):
        raw = _load_yaml(raw)
    if not isinstance(raw, Mapping):
        raise InvalidSweepConfigError("", "must be a mapping with method and parameters")
    for key in raw:
        if key in _UNSUPPORTED:
            raise InvalidSweepConfigError(
                str(key), "W&B's key for its own servers is not supported by artstore sweeps"
            )
        if key not in _TOP:
            raise InvalidSweepConfigError(str(key), f"unknown key (allowed: {', '.join(_TOP)})")
    method = _method(raw.get("method"))
    if "parameters" not in raw:
        raise InvalidSweepConfigError("parameters", "required: the search space")
    parameters = parse_parameters(raw["parameters"])
    metric = None if raw.get("metric") is None else _metric(raw["metric"])
    stop = None if raw.get("early_terminate") is None else _hyperband(raw["early_terminate"])
    if metric is None and (method == "bayes" or stop is not None):
        needs = "method bayes" if method == "bayes" else "early_terminate"
        raise InvalidSweepConfigError("metric", f"required by {needs}: give name and goal")
    if method == "grid":
        _check_grid(parameters)
    text = {key: _text(raw.get(key), key) for key in _TEXT}
    return SweepConfig(
        method=method,
        parameters=parameters,
        metric=metric,
        early_terminate=stop,
        run_cap=_int(raw.get("run_cap"), "run_cap", least=1),
        command=_command(raw.get("command")),
        **text,
    )


def _load_yaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise InvalidSweepConfigError("", f"not valid YAML{where}: {problem}") from exc


def _method(raw: object) -> Method:
    if raw in ("grid", "random", "bayes"):
        return raw
    if raw is None:
        raise InvalidSweepConfigError("method", "required: grid, random or bayes")
    raise InvalidSweepConfigError("method", f"must be grid, random or bayes (got {raw!r})")


def _metric(raw: object) -> Metric:
    if not isinstance(raw, Mapping):
        raise InvalidSweepConfigError("metric", "must be a mapping with name and goal")
    for key in raw:
        if key in ("impute", "impute_while_running"):
            raise InvalidSweepConfigError(f"metric.{key}", "not supported by artstore sweeps")
        if key not in ("name", "goal", "target"):
            raise InvalidSweepConfigError(
                f"metric.{key}", "unknown key (allowed: name, goal, target)"
            )
    name = _text(raw.get("name"), "metric.name")
    if name is None:
        raise InvalidSweepConfigError("metric.name", "required: the logged key to optimise")
    goal = raw.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise InvalidSweepConfigError("metric.goal", f"must be minimize or maximize (got {goal!r})")
    target = raw.get("target")
    if target is not None:
        target = _finite(target, "metric.target")
    return Metric(name, goal, target)


def _hyperband(raw: object) -> Hyperband:
    where = "early_terminate"
    if not isinstance(raw, Mapping):
        raise InvalidSweepConfigError(where, "must be a mapping with type: hyperband")
    allowed = ("type", "min_iter", "max_iter", "s", "eta", "strict")
    for key in raw:
        if key not in allowed:
            raise InvalidSweepConfigError(
                f"{where}.{key}", f"unknown key (allowed: {', '.join(allowed)})"
            )
    if raw.get("type") != "hyperband":
        raise InvalidSweepConfigError(f"{where}.type", "must be hyperband")
    eta = _finite(raw.get("eta", 3.0), f"{where}.eta")
    if eta <= 1:
        raise InvalidSweepConfigError(f"{where}.eta", f"must be greater than 1 (got {eta})")
    strict = raw.get("strict", True)
    if not isinstance(strict, bool):
        raise InvalidSweepConfigError(f"{where}.strict", f"must be true or false (got {strict!r})")
    min_iter = _int(raw.get("min_iter"), f"{where}.min_iter", least=1)
    max_iter = _int(raw.get("max_iter"), f"{where}.max_iter", least=1)
    s = _int(raw.get("s"), f"{where}.s", least=1)
    if (min_iter is None) == (max_iter is None):
        raise InvalidSweepConfigError(where, "give min_iter, or max_iter and s (one of the two)")
    if max_iter is not None:
        if s is None:
            raise InvalidSweepConfigError(f"{where}.s", "required with max_iter")
        if max_iter / eta < 1:
            raise InvalidSweepConfigError(
                f"{where}.max_iter", f"max_iter / eta must be at least 1 (got {max_iter / eta})"
            )
    elif s is not None:
        raise InvalidSweepConfigError(f"{where}.s", "goes with max_iter, not min_iter")
    return Hyperband(eta=float(eta), strict=strict, min_iter=min_iter, max_iter=max_iter, s=s)


def _check_grid(parameters: tuple[Parameter, ...]) -> None:
    for parameter in parameters:
        if parameter.distribution not in GRID_DISTRIBUTIONS:
            raise InvalidSweepConfigError(
                f"parameters.{parameter.name}",
                f"method grid needs finite values: value, values, int_uniform or q_uniform "
                f"(not {parameter.distribution})",
            )


def _command(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidSweepConfigError("command", "must be a list of at least one argument")
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise InvalidSweepConfigError(f"command[{i}]", f"must be text (got {item!r})")
        macro = item.startswith("${") and item.endswith("}")
        if macro and item not in MACROS and not item.startswith("${envvar:"):
            raise InvalidSweepConfigError(
                f"command[{i}]", f"unknown macro {item} (allowed: {', '.join(MACROS)})"
            )
    return tuple(raw)


def _text(raw: object, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        raise InvalidSweepConfigError(where, f"must be non-empty text (got {raw!r})")
    return raw


def _int(raw: object, where: str, *, least: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < least:
        raise InvalidSweepConfigError(
            where, f"must be an integer of at least {least} (got {raw!r})"
        )
    return raw


def _finite(raw: object, where: str) -> float:
    return float(finite_number(raw, where))
