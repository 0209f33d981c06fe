"""``define_metric``: what a run's summary keeps of a metric, in W&B's shapes.

``define_metric("loss", summary="min")`` makes ``summary["loss"]`` the dict ``{"min": x}``, as
W&B's summary does; several kinds (``"min,max"``) share that dict. ``"copy"`` keeps the last
value itself (the default without a definition), ``"none"`` keeps nothing. ``"best"`` is the
min or max by ``goal``. NaN and text values leave the dict unchanged, as in W&B. A name ending
in ``*`` defines every metric that starts with the rest.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from artstore.errors import InvalidArgumentError
from artstore.tracker.values import summarise

__all__ = ["KINDS", "MetricDefinition", "MetricSummaries", "define"]

#: The summary kinds W&B knows.
KINDS = ("min", "max", "mean", "last", "first", "best", "copy", "none")
_GOALS = {"minimize": False, "min": False, "maximize": True, "max": True}


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One ``define_metric`` call's result (W&B's ``Metric``)."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] | None = None
    goal: str | None = None

    @property
    def maximize(self) -> bool:
        """Whether ``best`` is the maximum (``goal="maximize"``)."""
        return _GOALS.get(self.goal or "minimize", False)


def define(
    name: str,
    step_metric: str | None,
    step_sync: bool | None,
    hidden: bool | None,
    summary: str | None,
    goal: str | None,
    previous: MetricDefinition | None,
) -> MetricDefinition:
    """A checked definition, merged over ``previous`` (None: a first or overwriting call).

    Raises:
        InvalidArgumentError: a name that is not text, an unknown summary kind or goal, or a
            summary kind given where W&B takes ``step_metric``.
    """
    if not isinstance(name, str) or not name or name.count("*") > int(name.endswith("*")):
        raise InvalidArgumentError(
            f"define_metric takes a metric name, or a prefix ending in '*', not {name!r}"
        )
    if step_metric in KINDS and summary is None:
        raise InvalidArgumentError(
            f"define_metric's second argument is step_metric, as in W&B; for the summary pass "
            f"summary={step_metric!r}, or run.summarize(name, {step_metric!r}) to keep one number"
        )
    if step_metric is not None and not isinstance(step_metric, str):
        raise InvalidArgumentError(f"step_metric is a metric name, not {step_metric!r}")
    kinds = None
    if summary is not None:
        kinds = tuple(k.strip() for k in str(summary).split(",") if k.strip())
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds or ("copy" in kinds and len(kinds) > 1):
            raise InvalidArgumentError(
                f"define_metric summary {summary!r}: use {', '.join(KINDS)}, or several joined "
                "by commas (copy alone)"
            )
    if goal is not None and goal not in _GOALS:
        raise InvalidArgumentError(f"define_metric goal must be minimize or maximize, not {goal!r}")
    made = MetricDefinition(name, step_metric, step_sync, hidden, kinds, goal)
    if previous is None:
        return made
    given = {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}
    return dataclasses.replace(previous, **{k: v for k, v in given.items() if v is not None})


class MetricSummaries:
    """The definitions of one run and the running values W&B's summary shapes need."""

    def __init__(self) -> None:
        self.definitions: dict[str, MetricDefinition] = {}
        self._prefixes: dict[str, MetricDefinition] = {}
        # How many values of each key fold has seen in this process (for the mean).
        self._counts: dict[str, int] = {}
        #: The last value of each step metric, for ``step_sync``.
        self.step_values: dict[str, Any] = {}
        #: Whether ``log`` has anything to look up here (its fast path skips this class).
        self.active = False

    def add(self, definition: MetricDefinition) -> None:
        """Keep a definition (a ``*`` name defines a prefix)."""
        self.active = True
        if definition.name.endswith("*"):
            self._prefixes[definition.name[:-1]] = definition
        else:
            self.definitions[definition.name] = definition
        self._counts.pop(definition.name, None)
        if definition.step_metric is not None:
            self.step_values.setdefault(definition.step_metric, None)

    def find(self, key: str) -> MetricDefinition | None:
        """The definition that applies to ``key``, if any."""
        found = self.definitions.get(key)
        if found is not None or not self._prefixes or key.startswith("_"):
            return found
        for prefix, definition in self._prefixes.items():
            if key.startswith(prefix):
                return definition
        return None

    def step_additions(self, data: dict[str, Any]) -> dict[str, Any]:
        """The step metric values W&B's ``step_sync`` adds to a logged row that lacks them."""
        added: dict[str, Any] = {}
        for key in data:
            definition = self.find(key)
            if definition is None or definition.step_sync is False:
                continue
            step_key = definition.step_metric
            if step_key is None or step_key in data or step_key in added:
                continue
            value = self.step_values.get(step_key)
            if value is not None:
                added[step_key] = value
        return added

    def fold(self, key: str, definition: MetricDefinition, previous: Any, value: Any) -> Any:
        """The summary entry of ``key`` after logging ``value`` (``previous`` is the entry now).

        Returns the value itself for ``copy`` or no summary kinds, a dict of the kinds
        otherwise, or ``previous`` unchanged for NaN and text.
        """
        kinds = definition.summary
        if kinds is None or kinds == ("copy",):
            return value
        if "none" in kinds or isinstance(value, str) or math.isnan(value):
            return previous
        entry = dict(previous) if isinstance(previous, dict) else {}
        count = self._counts[key] = self._counts.get(key, 0) + 1
        for kind in kinds:
            if kind == "first":
                entry.setdefault("first", value)
            elif kind == "best":
                folded = "max" if definition.maximize else "min"
                entry["best"] = summarise(folded, entry.get("best"), count, value)
            elif kind == "mean" and count == 1:
                # A resumed run's mean restarts: the values before it are not counted here.
                entry["mean"] = float(value)
            else:
                entry[kind] = summarise(kind, entry.get(kind), count, value)
        return entry
