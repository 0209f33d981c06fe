"""The sweep pages (every sweep; one sweep's ranked trials and its two charts) and their
``/api/`` routes, whose JSON is ``art sweep ls --json`` and ``art sweep show --json``.

The charts are server-rendered SVG: a parallel-coordinates chart (one axis per parameter, then
the metric; one polyline per trial with a value, coloured by it) and the metric by trial
number with the best value so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from artstore.serialize import dumps, sweep_json, sweep_view_json
from artstore.sweeps import SweepView, parse_sweep_config, show_sweep, sweep_view
from artstore.sweeps.parameters import DISTRIBUTIONS, lookup
from artstore.ui.web import api, page, store_of

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage.catalog_sweeps import TrialRecord

__all__ = ["ROUTES", "metric_chart", "parallel_chart", "sweep_rows"]

#: Trials drawn in the charts: those that ended with a metric value.
DRAWN_STATES = ("finished", "stopped")
_LOG = tuple(d for d in DISTRIBUTIONS if "log" in d)  # log_, q_log_, inv_log_ families
_SHADES = 8  # colour classes shade-0 (best) .. shade-7 (worst) in sweeps.css
_TOP, _BOTTOM, _LEFT, _RIGHT = 28, 24, 60, 60
_HEIGHT = 320
_AXIS_GAP = 150


@dataclass(frozen=True)
class Axis:
    """One vertical axis of the parallel-coordinates chart: a parameter (dotted name) or the
    metric, with how its values are placed (``categorical``, ``log`` or ``linear``)."""

    name: str
    scale: str
    values: tuple[Any, ...]  # each drawn trial's value on this axis, in trial order

    def position(self, value: Any) -> float:
        """Where ``value`` falls on the axis, 0 (bottom) to 1 (top); 0.5 when all are equal."""
        if self.scale == "categorical":
            order = self._order
            return 0.5 if len(order) == 1 else order[_label(value)] / (len(order) - 1)
        low, high = self._range
        if high == low:
            return 0.5
        return (self._number(value) - low) / (high - low)

    def labels(self) -> list[str]:
        """The ticks: the categories in first-seen order, else the lowest and highest value."""
        if self.scale == "categorical":
            return list(self._order)
        numbers = [float(v) for v in self.values]
        return [_label(min(numbers)), _label(max(numbers))]

    def _number(self, value: Any) -> float:
        return math.log10(float(value)) if self.scale == "log" else float(value)

    # Computed once per axis, not once per trial drawn on it.
    @cached_property
    def _order(self) -> dict[str, int]:
        labels = dict.fromkeys(_label(v) for v in self.values)
        return {label: k for k, label in enumerate(labels)}

    @cached_property
    def _range(self) -> tuple[float, float]:
        numbers = [self._number(v) for v in self.values]
        return min(numbers), max(numbers)


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else dumps(value, indent=None)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def drawn_trials(view: SweepView) -> list[TrialRecord]:
    """The trials the charts draw (ended with a metric value), by trial number."""
    return sorted(
        (t for t in view.trials if t.state in DRAWN_STATES and t.metric is not None),
        key=lambda t: t.number,
    )


def axes(view: SweepView, trials: list[TrialRecord]) -> list[Axis]:
    """The parameter axes (constants left out) and the metric's axis, last."""
    found: list[Axis] = []
    for parameter in parse_sweep_config(view.sweep.config).parameters:
        if parameter.distribution == "constant":
            continue
        values: tuple[Any, ...] = tuple(lookup(t.params, parameter.path)[1] for t in trials)
        numeric = all(_is_number(v) for v in values)
        if not numeric or parameter.distribution.startswith("categorical"):
            scale = "categorical"
        elif parameter.distribution in _LOG and all(v > 0 for v in values):
            scale = "log"
        else:
            scale = "linear"
        found.append(Axis(parameter.name, scale, values))
    metric = view.sweep.config.get("metric", {}).get("name", "metric")
    found.append(Axis(str(metric), "linear", tuple(t.metric for t in trials)))
    return found


def _shade(view: SweepView, value: float, low: float, high: float) -> int:
    """0 for the best value, ``_SHADES - 1`` for the worst."""
    if high == low:
        return 0
    share = (value - low) / (high - low)
    if view.sweep.config.get("metric", {}).get("goal", "minimize") == "maximize":
        share = 1 - share
    return min(_SHADES - 1, int(share * _SHADES))


def parallel_chart(view: SweepView) -> str:
    """The parallel-coordinates SVG: one ``<polyline class="trial">`` per drawn trial. All text
    is escaped."""
    trials = drawn_trials(view)
    if not trials:
        return '<p class="muted">No trial has a metric value yet.</p>'
    lines = axes(view, trials)
    width = _LEFT + _RIGHT + _AXIS_GAP * (len(lines) - 1)
    inner = _HEIGHT - _TOP - _BOTTOM
    x_of = [_LEFT + _AXIS_GAP * k for k in range(len(lines))]
    metrics = [float(t.metric or 0.0) for t in trials]
    low, high = min(metrics), max(metrics)
    out = [
        f'<svg class="sweep-chart parallel" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {_HEIGHT}" width="{width}" height="{_HEIGHT}" '
        f'data-series="{len(trials)}">'
    ]
    for k, trial in enumerate(trials):
        points = " ".join(
            f"{x:.1f},{_TOP + inner * (1 - axis.position(axis.values[k])):.1f}"
            for x, axis in zip(x_of, lines, strict=True)
        )
        shade = _shade(view, metrics[k], low, high)
        tip = ", ".join(f"{a.name}={_label(a.values[k])}" for a in lines)
        out.append(
            f'<polyline class="trial shade-{shade} state-{escape(trial.state)}" '
            f'data-trial="{trial.number}" points="{points}">'
            f"<title>trial {trial.number}: {escape(tip)}</title></polyline>"
        )
    for x, axis in zip(x_of, lines, strict=True):
        out.append(f'<g class="axis axis-{axis.scale}">')
        out.append(f'<line x1="{x}" y1="{_TOP}" x2="{x}" y2="{_TOP + inner}"/>')
        out.append(f'<text class="axis-name" x="{x}" y="{_TOP - 10}">{escape(axis.name)}</text>')
        labels = list(dict.fromkeys(axis.labels()))
        for k, label in enumerate(labels):
            place = 0.5 if len(labels) == 1 else k / (len(labels) - 1)
            y = _TOP + inner * (1 - place)
            out.append(f'<text class="tick" x="{x + 4}" y="{y:.1f}">{escape(label)}</text>')
        if axis.scale == "log":
            out.append(f'<text class="scale" x="{x}" y="{_HEIGHT - 6}">log</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def metric_chart(view: SweepView) -> str:
    """The metric by trial number (a dot per drawn trial) and the best value so far (one
    ``<polyline class="best">``). All text is escaped."""
    trials = drawn_trials(view)
    if not trials:
        return ""
    width, inner_w, inner_h = 720, 720 - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    numbers = [t.number for t in trials]
    values = [float(t.metric or 0.0) for t in trials]
    low, high = min(values), max(values)
    first, last = min(numbers), max(numbers)

    def x(number: int) -> float:
        return _LEFT + (0.5 if last == first else (number - first) / (last - first)) * inner_w

    def y(value: float) -> float:
        return _TOP + (0.5 if high == low else 1 - (value - low) / (high - low)) * inner_h

    maximize = view.sweep.config.get("metric", {}).get("goal", "minimize") == "maximize"
    best, steps = values[0], []
    for number, value in zip(numbers, values, strict=True):
        best = max(best, value) if maximize else min(best, value)
        steps.append(f"{x(number):.1f},{y(best):.1f}")
    name = str(view.sweep.config.get("metric", {}).get("name", "metric"))
    out = [
        f'<svg class="sweep-chart by-trial" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {_HEIGHT}" width="{width}" height="{_HEIGHT}" '
        f'data-points="{len(trials)}">',
        f'<line class="frame" x1="{_LEFT}" y1="{_TOP + inner_h}" x2="{_LEFT + inner_w}" '
        f'y2="{_TOP + inner_h}"/>',
        f'<line class="frame" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + inner_h}"/>',
        f'<text class="tick end" x="{_LEFT - 4}" y="{y(high):.1f}">{_label(high)}</text>',
        f'<text class="tick end" x="{_LEFT - 4}" y="{y(low):.1f}">{_label(low)}</text>',
        f'<text class="tick" x="{_LEFT}" y="{_HEIGHT - 6}">trial {first}</text>',
        f'<text class="tick end" x="{_LEFT + inner_w}" y="{_HEIGHT - 6}">trial {last}</text>',
        f'<text class="axis-name" x="{_LEFT}" y="{_TOP - 10}">{escape(name)}</text>',
        f'<polyline class="best" points="{" ".join(steps)}"><title>best so far</title></polyline>',
    ]
    for number, value in zip(numbers, values, strict=True):
        out.append(
            f'<circle class="trial-dot" cx="{x(number):.1f}" cy="{y(value):.1f}" r="4">'
            f"<title>trial {number}: {escape(name)}={_label(value)}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def sweep_rows(store: Store, project: str | None) -> list[dict[str, Any]]:
    """Every sweep (newest first) as ``art sweep ls --json`` shows it, with its best value
    (``best``: the ``best`` of ``art sweep show --json``)."""
    found = store.repository.catalog.sweeps.listing(project)
    return [sweep_view_json(sweep_view(sweep, trials)) for sweep, trials in found]


def sweeps_page(request: Request) -> Response:
    project = request.query_params.get("project") or None
    rows = sweep_rows(store_of(request), project)
    return page(request, "sweeps.html", sweeps=rows, project=project)


def sweeps_api(request: Request) -> Response:
    project = request.query_params.get("project") or None
    found = store_of(request).repository.catalog.sweeps.listing(project)
    return api([sweep_json(sweep, trials) for sweep, trials in found])


def sweep_page(request: Request) -> Response:
    view = show_sweep(store_of(request), request.path_params["sweep_id"])
    config = parse_sweep_config(view.sweep.config)
    return page(
        request,
        "sweep.html",
        sweep=sweep_json(view.sweep, view.trials),
        view=view,
        parameters=[(p.name, p.path) for p in config.parameters],
        lookup=lambda params, path: lookup(params, path)[1],
        parallel=parallel_chart(view),
        by_trial=metric_chart(view),
        drawn=len(drawn_trials(view)),
    )


def sweep_api(request: Request) -> Response:
    return api(sweep_view_json(show_sweep(store_of(request), request.path_params["sweep_id"])))


ROUTES: list[BaseRoute] = [
    Route("/sweeps", sweeps_page, methods=["GET"]),
    Route("/sweeps/{sweep_id}", sweep_page, methods=["GET"]),
    Route("/api/sweeps", sweeps_api, methods=["GET"]),
    Route("/api/sweeps/{sweep_id}", sweep_api, methods=["GET"]),
]
