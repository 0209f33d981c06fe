"""Output for the terminal: aligned tables, sizes, times, JSON, and progress bars."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from artstore.storage import Callback

__all__ = ["human_size", "iso", "print_json", "progress", "table", "when"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def iso(moment: datetime) -> str:
    """ISO 8601 UTC, as every ``--json`` time is written."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def when(moment: datetime) -> str:
    """A short UTC time for tables."""
    return moment.strftime("%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> None:
    """Print an aligned table; columns listed in ``right`` are right-aligned (numbers)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    click.echo(click.style(line(headers), bold=True))
    for row in cells:
        click.echo(line(row))


def print_json(data: Any) -> None:
    """Print JSON on stdout: only JSON goes there under ``--json``.

    JSON has no NaN or infinity: they are printed as the strings ``"NaN"``, ``"Infinity"``
    and ``"-Infinity"``, so the output stays valid JSON.
    """
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:  # a non-finite float somewhere
        text = json.dumps(_finite(data), indent=2, ensure_ascii=False, default=str)
    click.echo(text)


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def progress(description: str) -> Callback:
    """A byte progress bar on a terminal; nothing in CI, with ``--quiet`` or when piped.

    The bar appears only once a transfer has run for half a second, so quick ones stay silent.
    """
    from artstore.storage import DEFAULT_CALLBACK, TqdmCallback

    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))
    if quiet or os.environ.get("CI") or not sys.stderr.isatty():
        return DEFAULT_CALLBACK
    return TqdmCallback(
        tqdm_kwargs={
            "desc": description,
            "unit": "B",
            "unit_scale": True,
            "unit_divisor": 1024,
            "delay": 0.5,
            "leave": False,
            "file": sys.stderr,
        }
    )
