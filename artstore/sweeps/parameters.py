"""The ``parameters`` of a sweep config: each leaf parameter as a frozen value, parsed and
checked key by key against W&B's sweep schema (``wandb/sweeps``, ``config/schema.json``).

Nested parameters (``optimizer: {parameters: {lr: ...}}``) become leaves with a longer
``path``; the run's config gets them back as nested dicts, as W&B gives them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from artstore.errors import InvalidSweepConfigError

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "Parameter",
    "finite_number",
    "lookup",
    "nest",
    "parameters_to_dict",
    "parse_parameters",
]

Distribution = Literal[
    "constant",
    "categorical",
    "categorical_w_probabilities",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
]
DISTRIBUTIONS: tuple[Distribution, ...] = get_args(Distribution)

# W&B's propertyNames pattern for parameter names.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_BOUNDED = ("min", "max")
_QUANTISED = ("q",)
_NORMAL = ("mu", "sigma")
_BETA = ("a", "b")
# The keys each distribution takes besides ``distribution`` (W&B's schema, one entry each).
_KEYS: dict[Distribution, tuple[str, ...]] = {
    "constant": ("value",),
    "categorical": ("values",),
    "categorical_w_probabilities": ("values", "probabilities"),
    "int_uniform": _BOUNDED,
    "uniform": _BOUNDED,
    "q_uniform": _BOUNDED + _QUANTISED,
    "log_uniform": _BOUNDED,
    "log_uniform_values": _BOUNDED,
    "q_log_uniform": _BOUNDED + _QUANTISED,
    "q_log_uniform_values": _BOUNDED + _QUANTISED,
    "inv_log_uniform": _BOUNDED,
    "inv_log_uniform_values": _BOUNDED,
    "normal": _NORMAL,
    "q_normal": _NORMAL + _QUANTISED,
    "log_normal": _NORMAL,
    "q_log_normal": _NORMAL + _QUANTISED,
    "beta": _BETA,
    "q_beta": _BETA + _QUANTISED,
}
# W&B's defaults; a distribution's other keys are required.
_DEFAULTS = {"q": 1.0, "mu": 0.0, "sigma": 1.0, "a": 1.0, "b": 1.0}
_POSITIVE_MIN = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")


@dataclass(frozen=True, slots=True)
class Parameter:
    """One leaf of a sweep's search space.

    ``path`` is the parameter's key in the run config, one name per nesting level
    (``("optimizer", "lr")``). Only the fields of its ``distribution`` are set: ``value``
    (constant), ``values`` and ``probabilities`` (categorical), ``min``/``max`` (the uniform
    families; ints for ``int_uniform``), ``q`` (the ``q_`` families), ``mu``/``sigma``
    (normal families), ``a``/``b`` (beta).
    """

    path: tuple[str, ...]
    distribution: Distribution
    value: JSONValue = None
    values: tuple[JSONValue, ...] = ()
    probabilities: tuple[float, ...] = ()
    min: float | None = None
    max: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None
    a: float | None = None
    b: float | None = None

    @property
    def name(self) -> str:
        """The dotted key path, as error messages and ``${args}`` name it."""
        return ".".join(self.path)

    def to_dict(self) -> dict[str, JSONValue]:
        """The parameter as a sweep config spells it, with its distribution named."""
        out: dict[str, JSONValue] = {"distribution": self.distribution}
        for key in _KEYS[self.distribution]:
            field = getattr(self, key)
            out[key] = list(field) if isinstance(field, tuple) else field
        return out


def parse_parameters(raw: object, where: str = "parameters") -> tuple[Parameter, ...]:
    """The leaves of a ``parameters`` mapping, in the config's order, nested ones included.

    Raises:
        InvalidSweepConfigError: a key or value breaks the schema; the message names its path.
    """
    return tuple(_parse_level(raw, where, ()))


def parameters_to_dict(parameters: tuple[Parameter, ...]) -> dict[str, JSONValue]:
    """The ``parameters`` mapping of a sweep config, nested levels rebuilt."""
    root: dict[str, JSONValue] = {}
    for parameter in parameters:
        level = root
        for name in parameter.path[:-1]:
            inner = level.setdefault(name, {"parameters": {}})
            assert isinstance(inner, dict)
            nested = inner["parameters"]
            assert isinstance(nested, dict)
            level = nested
        level[parameter.path[-1]] = parameter.to_dict()
    return root


def nest(pairs: Iterable[tuple[tuple[str, ...], JSONValue]]) -> dict[str, JSONValue]:
    """A run config from ``(path, value)`` pairs: ``(("optimizer", "lr"), 0.1)`` becomes
    ``{"optimizer": {"lr": 0.1}}``, as W&B gives nested parameters."""
    root: dict[str, JSONValue] = {}
    for path, value in pairs:
        level = root
        for name in path[:-1]:
            inner = level.setdefault(name, {})
            assert isinstance(inner, dict)
            level = inner
        level[path[-1]] = value
    return root


def lookup(config: Mapping[str, JSONValue], path: tuple[str, ...]) -> tuple[bool, JSONValue]:
    """``(True, value)`` at ``path`` of a nested run config, or ``(False, None)``."""
    level: JSONValue = config
    for name in path:
        if not isinstance(level, Mapping) or name not in level:
            return False, None
        level = level[name]
    return True, level


def _parse_level(raw: object, where: str, prefix: tuple[str, ...]) -> list[Parameter]:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidSweepConfigError(where, "must be a mapping of at least one parameter")
    leaves: list[Parameter] = []
    for name, spec in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidSweepConfigError(
                f"{where}.{name}",
                "a parameter name starts with a letter or _ and holds letters, digits, _ . -",
            )
        path = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            raise InvalidSweepConfigError(
                path, "must be a mapping such as {values: [...]}, {min:, max:} or {value:}"
            )
        if "parameters" in spec:
            extra = sorted(str(key) for key in spec if key != "parameters")
            if extra:
                raise InvalidSweepConfigError(
                    path, f"nested parameters take no other key (found: {', '.join(extra)})"
                )
            leaves.extend(_parse_level(spec["parameters"], f"{path}.parameters", (*prefix, name)))
        else:
            leaves.append(_parse_leaf(spec, path, (*prefix, name)))
    return leaves


def _parse_leaf(spec: Mapping[object, object], where: str, path: tuple[str, ...]) -> Parameter:
    distribution = _distribution(spec, where)
    allowed = (*_KEYS[distribution], "distribution")
    for key in spec:
        if key not in allowed:
            raise InvalidSweepConfigError(
                f"{where}.{key}",
                f"unknown key for distribution {distribution} (allowed: {', '.join(allowed)})",
            )
    for key in _KEYS[distribution]:
        if key not in spec and key not in _DEFAULTS:
            raise InvalidSweepConfigError(where, f"distribution {distribution} needs {key}")
    if distribution == "constant":
        return Parameter(path, distribution, value=_json(spec["value"], f"{where}.value"))
    if distribution in ("categorical", "categorical_w_probabilities"):
        return _categorical(spec, where, path, distribution)
    fields: dict[str, float] = {}
    for key in _KEYS[distribution]:
        number = finite_number(spec.get(key, _DEFAULTS.get(key)), f"{where}.{key}")
        # An integer q keeps quantised values integers (W&B's rule); int_uniform is checked
        # below; every other number is a float.
        fields[key] = number if key == "q" or distribution == "int_uniform" else float(number)
    _check_ranges(fields, where, distribution)
    return Parameter(path, distribution, **fields)  # type: ignore[arg-type]


def _distribution(spec: Mapping[object, object], where: str) -> Distribution:
    given = spec.get("distribution")
    if given is not None:
        if given not in DISTRIBUTIONS:
            raise InvalidSweepConfigError(
                f"{where}.distribution",
                f"unknown distribution {given!r} (allowed: {', '.join(DISTRIBUTIONS)})",
            )
        return given
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec and "max" in spec:
        bounds = (spec["min"], spec["max"])
        if all(isinstance(x, int) and not isinstance(x, bool) for x in bounds):
            return "int_uniform"
        return "uniform"
    raise InvalidSweepConfigError(
        where, "give value, values, min and max, parameters, or a distribution"
    )


def _categorical(
    spec: Mapping[object, object], where: str, path: tuple[str, ...], distribution: Distribution
) -> Parameter:
    raw = spec["values"]
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidSweepConfigError(f"{where}.values", "must be a list of at least one value")
    values = tuple(_json(v, f"{where}.values[{i}]") for i, v in enumerate(raw))
    if distribution == "categorical":
        return Parameter(path, distribution, values=values)
    weights = spec["probabilities"]
    if not isinstance(weights, list | tuple) or len(weights) != len(values):
        raise InvalidSweepConfigError(
            f"{where}.probabilities", f"must be a list of {len(values)} numbers, one per value"
        )
    probabilities = tuple(
        finite_number(p, f"{where}.probabilities[{i}]") for i, p in enumerate(weights)
    )
    if any(p < 0 for p in probabilities) or not math.isclose(sum(probabilities), 1.0):
        raise InvalidSweepConfigError(
            f"{where}.probabilities", "must be numbers of at least 0 that sum to 1"
        )
    return Parameter(path, distribution, values=values, probabilities=probabilities)


def _check_ranges(fields: dict[str, float], where: str, distribution: Distribution) -> None:
    if distribution == "int_uniform":
        for key in _BOUNDED:
            if not isinstance(fields[key], int):
                raise InvalidSweepConfigError(
                    f"{where}.{key}", f"int_uniform needs an integer (got {fields[key]!r})"
                )
    if "min" in fields and not fields["min"] < fields["max"]:
        raise InvalidSweepConfigError(
            where, f"min ({fields['min']}) must be less than max ({fields['max']})"
        )
    if distribution in _POSITIVE_MIN and fields["min"] <= 0:
        raise InvalidSweepConfigError(
            f"{where}.min", f"{distribution} needs min greater than 0 (got {fields['min']})"
        )
    for key in ("q", "sigma", "a", "b"):
        if key in fields and fields[key] <= 0:
            raise InvalidSweepConfigError(
                f"{where}.{key}", f"must be greater than 0 (got {fields[key]})"
            )


def finite_number(raw: object, where: str) -> float:
    """``raw`` when it is a finite int or float (not a bool).

    Raises:
        InvalidSweepConfigError: it is not; YAML's ``1e-5``, read as text, gets a hint.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        hint = ""
        if isinstance(raw, str):
            try:
                float(raw)
                hint = f"; YAML reads {raw} as text: write it with a dot (1.0e-5) or as !!float"
            except ValueError:
                pass
        raise InvalidSweepConfigError(where, f"must be a finite number (got {raw!r}){hint}")
    return raw


def _json(raw: object, where: str) -> JSONValue:
    """``raw`` itself when JSON can hold it (the run config is JSON), with tuples as lists."""
    if raw is None or isinstance(raw, bool | int | str):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise InvalidSweepConfigError(where, f"must be a finite number (got {raw!r})")
        return raw
    if isinstance(raw, list | tuple):
        return [_json(item, f"{where}[{i}]") for i, item in enumerate(raw)]
    if isinstance(raw, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in raw.items():
            if not isinstance(key, str):
                raise InvalidSweepConfigError(where, f"keys must be text (got {key!r})")
            out[key] = _json(item, f"{where}.{key}")
        return out
    raise InvalidSweepConfigError(
        where, f"must be a number, text, true/false, null, a list or a mapping (got {raw!r})"
    )
