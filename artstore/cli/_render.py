"""Output for the terminal: aligned tables, sizes, times, JSON, and progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from artstore.serialize import dumps

if TYPE_CHECKING:
    from artstore.storage import Callback

__all__ = ["human_size", "print_chunks", "print_json", "progress", "table", "when"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
_CHUNK = 1 << 16


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


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


def print_json(document: Any) -> None:
    """Print a document of :mod:`artstore.serialize` on stdout, as its :func:`dumps` writes it.

    Under ``--json`` only JSON goes to stdout.
    """
    click.echo(dumps(document))


def print_chunks(pieces: Iterable[str]) -> None:
    """Print text given in pieces (rows of a long listing) on stdout, 64 KiB at a time.

    A million rows never become one string, and each write is large enough to be cheap.
    """
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            click.echo("".join(buffer), nl=False)
            buffer, size = [], 0
    click.echo("".join(buffer), nl=False)


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
