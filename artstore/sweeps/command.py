"""A trial's command line from the sweep's ``command`` and W&B's macros.

``${env}``, ``${interpreter}``, ``${program}`` and ``${args_json_file}`` become one argument
(``${env}`` none on Windows); ``${args}``, ``${args_no_hyphens}`` and
``${args_no_boolean_flags}`` one argument per parameter; ``${args_json}`` one JSON argument.
``${envvar:NAME}`` is the environment variable NAME. Inside a longer argument
(``--config=${args_json_file}``) the one-argument macros are replaced as text. Nested
parameters appear in the ``args`` forms under their dotted path (``--optimizer.lr=0.01``) and
nested in the JSON forms, as the run's config holds them.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from artstore.errors import InvalidArgumentError, InvalidSweepConfigError
from artstore.sweeps.parameters import Parameter, lookup

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = ["DEFAULT_COMMAND", "MACROS", "args_json", "flat_arguments", "trial_command"]

MACROS = (
    "${env}",
    "${interpreter}",
    "${program}",
    "${args}",
    "${args_no_hyphens}",
    "${args_no_boolean_flags}",
    "${args_json}",
    "${args_json_file}",
)
#: W&B's command when a sweep config gives none.
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")

_ENVVAR = re.compile(r"\$\{envvar:([^}]*)\}")


def trial_command(
    command: Sequence[str] | None,
    *,
    program: str | None,
    parameters: Sequence[Parameter],
    params: Mapping[str, JSONValue],
    interpreter: str,
    args_json_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    windows: bool = os.name == "nt",
) -> list[str]:
    """The argument list of one trial.

    Args:
        command: the sweep config's ``command``; None means :data:`DEFAULT_COMMAND`.
        program: the sweep config's ``program``.
        parameters: the sweep's leaf parameters (their paths say where nesting stops).
        params: the trial's parameter values, nested as the run's config holds them.
        interpreter: what ``${interpreter}`` becomes (the agent's Python).
        args_json_file: the path ``${args_json_file}`` names; the caller writes
            :func:`args_json` of ``params`` there.
        environ: the variables ``${envvar:NAME}`` reads (``os.environ`` by default).
        windows: ``${env}`` is dropped on Windows, as W&B's agent does.

    Raises:
        InvalidSweepConfigError: ``${program}`` without a program, or an unset ``${envvar:}``.
        InvalidArgumentError: ``${args_json_file}`` without a path.
    """
    flat = flat_arguments(parameters, params)
    variables = os.environ if environ is None else environ
    single = {
        "${env}": "/usr/bin/env",
        "${interpreter}": interpreter,
        "${args_json}": args_json(params),
    }
    expanded = {
        "${args}": [f"--{name}={text}" for name, text in flat],
        "${args_no_hyphens}": [f"{name}={text}" for name, text in flat],
        "${args_no_boolean_flags}": _no_boolean_flags(parameters, params, flat),
    }
    out: list[str] = []
    for i, item in enumerate(DEFAULT_COMMAND if command is None else command):
        if item in expanded:
            out.extend(expanded[item])
            continue
        if item == "${env}" and windows:
            continue
        if "${program}" in item:
            if program is None:
                raise InvalidSweepConfigError("program", "required by ${program} in command")
            item = item.replace("${program}", program)
        if "${args_json_file}" in item:
            if args_json_file is None:
                raise InvalidArgumentError("the command uses ${args_json_file}: give its path")
            item = item.replace("${args_json_file}", args_json_file)
        for macro, text in single.items():
            item = item.replace(macro, text)
        out.append(_ENVVAR.sub(functools.partial(_variable, variables, i), item))
    return out


def flat_arguments(
    parameters: Sequence[Parameter], params: Mapping[str, JSONValue]
) -> list[tuple[str, str]]:
    """``(dotted name, text)`` of each leaf parameter present in ``params``, config order.

    A value is written as W&B writes it (``str``: ``0.01``, ``True``, ``None``), except lists
    and mappings, which are JSON so that a script can parse them.
    """
    out: list[tuple[str, str]] = []
    for parameter in parameters:
        found, value = lookup(params, parameter.path)
        if found:
            out.append((parameter.name, _text(value)))
    return out


def args_json(params: Mapping[str, JSONValue]) -> str:
    """The trial's parameters as one JSON document (``${args_json}``, ``${args_json_file}``)."""
    return json.dumps(params)


def _no_boolean_flags(
    parameters: Sequence[Parameter], params: Mapping[str, JSONValue], flat: list[tuple[str, str]]
) -> list[str]:
    out = []
    for parameter, (name, text) in zip(
        (p for p in parameters if lookup(params, p.path)[0]), flat, strict=True
    ):
        value = lookup(params, parameter.path)[1]
        if value is True:
            out.append(f"--{name}")
        elif value is not False:
            out.append(f"--{name}={text}")
    return out


def _text(value: JSONValue) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value)
    return str(value)


def _variable(environ: Mapping[str, str], index: int, match: re.Match[str]) -> str:
    name = match.group(1)
    if name not in environ:
        raise InvalidSweepConfigError(
            f"command[{index}]", f"environment variable {name} is not set"
        )
    return environ[name]
