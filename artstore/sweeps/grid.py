"""Grid search: every combination of the parameters' values, in the config's order (the last
parameter varies fastest), each proposed once, as W&B's grid search does.

Only constants, ``values``, ``int_uniform`` (min to max) and ``q_uniform`` (min, min + q, ...
below max, as W&B's ``numpy.arange``) have a grid; the config refuses the others for grid.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from artstore.sweeps.parameters import Parameter, lookup, nest

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = ["grid_points", "grid_size", "next_grid_point"]


def grid_size(parameters: Sequence[Parameter]) -> int:
    """How many points the grid has."""
    return math.prod(len(_axis(parameter)) for parameter in parameters)


def grid_points(parameters: Sequence[Parameter]) -> Iterator[dict[str, JSONValue]]:
    """Every point of the grid as a nested run config, in grid order."""
    axes = [_axis(parameter) for parameter in parameters]
    for values in itertools.product(*axes):
        yield nest(zip((p.path for p in parameters), values, strict=True))


def next_grid_point(
    parameters: Sequence[Parameter], taken: Iterable[Mapping[str, JSONValue]]
) -> dict[str, JSONValue] | None:
    """The first grid point no trial in ``taken`` (the configs of every trial so far, whatever
    its state) has, or None when all have been proposed."""
    seen = {_key(parameters, config) for config in taken}
    for point in grid_points(parameters):
        if _key(parameters, point) not in seen:
            return point
    return None


def _axis(parameter: Parameter) -> list[JSONValue]:
    kind = parameter.distribution
    if kind == "constant":
        return [parameter.value]
    if kind == "categorical":
        return list(parameter.values)
    assert parameter.min is not None and parameter.max is not None
    if kind == "int_uniform":
        return list(range(int(parameter.min), int(parameter.max) + 1))
    if kind == "q_uniform":
        assert parameter.q is not None
        count = math.ceil((parameter.max - parameter.min) / parameter.q)
        whole = isinstance(parameter.q, int) and float(parameter.min).is_integer()
        points = [parameter.min + i * parameter.q for i in range(count)]
        return [int(x) if whole else x for x in points]
    raise AssertionError(f"{kind} has no grid")  # parse_sweep_config refuses it for grid


def _key(parameters: Sequence[Parameter], config: Mapping[str, JSONValue]) -> str:
    """One text per combination of values: ``3`` and ``3.0`` alike (W&B compares them so, as a
    YAML ``3e6`` comes back from a run config as an integer)."""
    return json.dumps([_plain(list(lookup(config, p.path))) for p in parameters], sort_keys=True)


def _plain(value: JSONValue) -> JSONValue:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value
