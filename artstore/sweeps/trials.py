"""A sweep's trials as the search and the catalog see them: plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from artstore.artifacts import JSONValue

__all__ = ["Trial", "TrialState"]

#: queued and running trials hold their parameters; finished and stopped (by hyperband) ones
#: also their metric; failed ones (crashed, killed, no metric) count only as taken.
TrialState = Literal["queued", "running", "finished", "stopped", "failed"]


@dataclass(frozen=True, slots=True)
class Trial:
    """One trial of a sweep as the catalog keeps it: its number (from 0), the parameters its
    run got (nested as in the run's config), its state and its metric value (the summary
    value, or the last logged one for a stopped run)."""

    number: int
    params: Mapping[str, JSONValue] = field(default_factory=dict)
    state: TrialState = "finished"
    metric: float | None = None
