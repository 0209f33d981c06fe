"""``artstore.save`` and ``artstore.alert``: W&B's module-level calls, on the current run."""

from __future__ import annotations

from typing import Any

from artstore.errors import RunStateError
from artstore.tracker.current_run import current
from artstore.tracker.run import Run

__all__ = ["alert", "save"]


def save(glob_str: Any = None, base_path: Any = None, policy: str = "live") -> list[str]:
    """``run.save`` on the current run (see :meth:`artstore.tracker.run.Run.save`).

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
    """
    return _require("save").save(glob_str, base_path=base_path, policy=policy)


def alert(title: str, text: str = "", level: Any = None, wait_duration: Any = None) -> None:
    """``run.alert`` on the current run (see :meth:`artstore.tracker.run.Run.alert`).

    Raises:
        RunStateError: no run was started with ``artstore.init()``.
    """
    _require("alert").alert(title, text, level=level, wait_duration=wait_duration)


def _require(call: str) -> Run:
    run = current()
    if run is None:
        raise RunStateError(f"no run is active; call artstore.init() before artstore.{call}()")
    return run
