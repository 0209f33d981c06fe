"""A trial's child process: its output copied and kept with its run, and its stop (SIGTERM,
then SIGKILL after the grace seconds)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from artstore.lineage.catalog import Catalog

__all__ = ["terminate", "wait"]

logger = logging.getLogger(__name__)

# Seconds between writes of a trial's console output.
_CONSOLE_EVERY = 1.0


def terminate(child: subprocess.Popen[bytes], grace: float, done: threading.Event) -> None:
    """SIGTERM ``child``, then SIGKILL it unless it ended or ``done`` is set within
    ``grace`` seconds."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    if not done.wait(grace) and child.poll() is None:
        child.kill()


def wait(
    catalog: Catalog, run_id: str, child: subprocess.Popen[bytes], echo: IO[str] | None
) -> int:
    """Wait for ``child``, copying its output to ``echo`` (stdout by default) and keeping it
    with run ``run_id``; its exit code."""
    from artstore.tracker.console import copy_child_output

    console = _Console(catalog, run_id)
    pumps = copy_child_output(child, echo or sys.stdout, console.keep)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.terminate()
        child.wait()
        raise
    finally:
        for pump in pumps:
            pump.join()
        console.close()
    return code


class _Console:
    """Keeps a child's output with its run (the child's own ``init()`` joins the run and
    leaves its console to the agent, as under ``art run``), in batches: at most one write
    transaction a second, whatever the child prints."""

    def __init__(self, catalog: Catalog, run_id: str) -> None:
        self._catalog = catalog
        self._run_id = run_id
        self._seq = 0
        self._rows: list[tuple[str, int, str, str, float]] = []
        self._written = time.monotonic()
        self._lock = threading.Lock()

    def keep(self, stream: str, text: str) -> None:
        with self._lock:
            self._seq += 1
            self._rows.append((self._run_id, self._seq, stream, text, time.time()))
            if time.monotonic() - self._written >= _CONSOLE_EVERY:
                self._write()

    def close(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        rows, self._rows = self._rows, []
        self._written = time.monotonic()
        if not rows:
            return
        try:
            self._catalog.runs.write_batch(self._run_id, [], rows, {})
        except Exception:  # (losing console text must not fail the trial)
            logger.warning("could not keep the trial's console output", exc_info=True)
