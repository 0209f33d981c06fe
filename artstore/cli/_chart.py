"""A line chart of metrics against step, drawn in braille characters for a terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import click

__all__ = ["Series", "draw"]

# Each braille character is a 2 x 4 grid of dots; the bit of the dot at [column][row].
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_BRAILLE = 0x2800
_COLORS = ("blue", "red", "green", "magenta", "cyan", "yellow")


@dataclass(frozen=True, slots=True)
class Series:
    """One metric: its key and its (step, value) points in step order.

    NaN points are left out of the line; infinities are drawn on the top or bottom edge.
    At least one point of the chart's series must be a number other than NaN.
    """

    key: str
    points: Sequence[tuple[int, float]]


@dataclass(slots=True)
class _Column:
    # The first, last, lowest and highest dot row that the points of one dot column reach.
    first: int
    last: int
    low: int
    high: int


def _label(value: float) -> str:
    return f"{value:.4g}"


def _value_range(series: Sequence[Series]) -> tuple[float, float]:
    finite = [v for s in series for _, v in s.points if math.isfinite(v)]
    return (min(finite), max(finite)) if finite else (0.0, 0.0)


def _step_range(series: Sequence[Series]) -> tuple[int, int]:
    steps = [step for s in series for step, v in s.points if not math.isnan(v)]
    return min(steps), max(steps)


def _row(value: float, low: float, high: float, rows: int) -> int:
    """The dot row of ``value``, 0 at the top; infinities land on the edges."""
    if high == low:
        return 0 if value == math.inf else rows - 1 if value == -math.inf else rows // 2
    clipped = min(max(value, low), high)
    return round((high - clipped) / (high - low) * (rows - 1))


def _columns(
    series: Series, steps: tuple[int, int], values: tuple[float, float], size: tuple[int, int]
) -> dict[int, _Column]:
    """Fold the points into dot columns: min and max per column keep spikes visible."""
    (s0, s1), (dots_x, dots_y) = steps, size
    columns: dict[int, _Column] = {}
    for step, value in series.points:
        if math.isnan(value):
            continue
        x = 0 if s1 == s0 else round((step - s0) / (s1 - s0) * (dots_x - 1))
        y = _row(value, *values, dots_y)
        column = columns.get(x)
        if column is None:
            columns[x] = _Column(y, y, y, y)
        else:
            column.last = y
            column.low, column.high = min(column.low, y), max(column.high, y)
    return columns


def _dots(columns: dict[int, _Column]) -> set[tuple[int, int]]:
    """The dots of the line: each column's span, joined to the next column by a segment."""
    dots: set[tuple[int, int]] = set()
    previous: tuple[int, int] | None = None
    for x in sorted(columns):
        column = columns[x]
        dots.update((x, y) for y in range(column.low, column.high + 1))
        if previous is not None:
            x0, y0 = previous
            dx, dy = x - x0, column.first - y0
            length = max(dx, abs(dy))
            dots.update(
                (x0 + round(dx * i / length), y0 + round(dy * i / length)) for i in range(1, length)
            )
        previous = (x, column.last)
    return dots


def _cell(grids: Sequence[set[tuple[int, int]]], col: int, row: int) -> str:
    """One character: the braille of every series' dots; coloured when only one has any."""
    bits, owners = 0, []
    for index, grid in enumerate(grids):
        mine = 0
        for dx in (0, 1):
            for dy in range(4):
                if (col * 2 + dx, row * 4 + dy) in grid:
                    mine |= _DOT[dx][dy]
        if mine:
            bits |= mine
            owners.append(index)
    if not bits:
        return " "
    char = chr(_BRAILLE + bits)
    if len(grids) > 1 and len(owners) == 1:
        return click.style(char, fg=_COLORS[owners[0] % len(_COLORS)])
    return char


def _notes(series: Series) -> str | None:
    nans = sum(1 for _, v in series.points if math.isnan(v))
    infinite = sum(1 for _, v in series.points if math.isinf(v))
    said = [f"{nans} NaN skipped"] if nans else []
    said += [f"{infinite} infinite clipped to the edge"] if infinite else []
    return f"{series.key}: {', '.join(said)}" if said else None


def draw(series: Sequence[Series], width: int, height: int) -> tuple[list[str], list[str]]:
    """The chart of ``series`` on one shared y axis, and notes of what it could not draw.

    The chart is a title, ``height`` rows of plot, the axis and the step range, every line at
    most ``width`` characters (not counting colour codes, given only to several series). The
    first plot row is labelled with the highest finite value and holds it, the last row the
    lowest. The notes say, per series, how many NaN points were skipped and how many
    infinities were drawn on the edge.
    """
    values = _value_range(series)
    steps = _step_range(series)
    top, bottom = _label(values[1]), _label(values[0])
    margin = max(len(top), len(bottom))
    cols = max(width - margin - 2, 1)
    grids = [_dots(_columns(s, steps, values, (cols * 2, height * 4))) for s in series]
    indent = " " * (margin + 2)
    title = (indent + ", ".join(s.key for s in series))[:width]
    if len(series) > 1 and len(title) == len(indent) + len(", ".join(s.key for s in series)):
        title = indent + ", ".join(
            click.style(s.key, fg=_COLORS[i % len(_COLORS)]) for i, s in enumerate(series)
        )
    lines = [title]
    for row in range(height):
        label = top if row == 0 else bottom if row == height - 1 else ""
        plot = "".join(_cell(grids, col, row) for col in range(cols))
        lines.append(f"{label.rjust(margin)} {'┤' if label else '│'}{plot}".rstrip())
    lines.append(" " * margin + " └" + "─" * cols)
    first, last = str(steps[0]), f"step {steps[1]}"
    lines.append((indent + first.ljust(cols - len(last)) + last).rstrip()[:width])
    return lines, [note for note in map(_notes, series) if note]
