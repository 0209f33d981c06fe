"""Console capture: stdout and stderr still reach the terminal, and are kept with the run."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["ConsoleCapture"]

# Receives (seq, stream name, text, unix time) for each write.
Sink = Callable[[tuple[int, str, str, float]], None]


class _Tee:
    """A text stream that writes through to the original and copies each write to the run."""

    def __init__(self, original: TextIO, name: str, capture: ConsoleCapture) -> None:
        self._original = original
        self._name = name
        self._capture = capture

    def write(self, text: str) -> int:
        written = self._original.write(text)
        if text:
            self._capture.record(self._name, text)
        return written

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding, buffer...: whatever the original stream offers.
        return getattr(self._original, name)


class ConsoleCapture:
    """Replaces ``sys.stdout``/``sys.stderr`` with tees until :meth:`stop`.

    Also used by ``art run`` to record a child process's output, through :meth:`record`.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._seq = 0
        self._lock = threading.Lock()
        self._saved: tuple[TextIO, TextIO] | None = None

    def start(self) -> None:
        """Begin copying ``sys.stdout`` and ``sys.stderr``."""
        self._seq = 0
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, "stdout", self)
        sys.stderr = _Tee(sys.stderr, "stderr", self)

    def record(self, stream: str, text: str) -> None:
        """Keep one piece of output."""
        with self._lock:
            seq = self._seq
            self._seq += 1
        self._sink((seq, stream, text, time.time()))

    def stop(self) -> None:
        """Put the original streams back (if nobody replaced ours meanwhile)."""
        if self._saved is None:
            return
        out, err = self._saved
        if isinstance(sys.stdout, _Tee):
            sys.stdout = out
        if isinstance(sys.stderr, _Tee):
            sys.stderr = err
        self._saved = None
