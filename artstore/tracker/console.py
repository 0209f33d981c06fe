"""Console capture: stdout and stderr still reach the terminal, and are kept with the run."""

from __future__ import annotations

import codecs
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, TextIO

__all__ = ["ConsoleCapture", "copy_child_output", "copy_output"]

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


def copy_output(
    source: IO[bytes], target: IO[str], stream: str, keep: Callable[[str, str], None]
) -> None:
    """Copy a child process's ``source`` pipe to ``target`` as it comes, giving each piece of
    text to ``keep(stream, text)`` (to be kept with the run), until the pipe ends.

    Incremental: a character split across two reads is decoded whole.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := source.read1(65536) if hasattr(source, "read1") else source.read(65536):
        text = decoder.decode(chunk)
        if text:
            target.write(text)
            target.flush()
            keep(stream, text)
    tail = decoder.decode(b"", final=True)
    if tail:
        target.write(tail)
        keep(stream, tail)


def copy_child_output(
    child: subprocess.Popen[bytes], out: IO[str], keep: Callable[[str, str], None]
) -> list[threading.Thread]:
    """Start copying a child's stdout to ``out`` and its stderr to ours (see
    :func:`copy_output`); join the returned threads once the child has exited."""
    assert child.stdout is not None and child.stderr is not None
    pumps = [
        threading.Thread(target=copy_output, args=(child.stdout, out, "stdout", keep)),
        threading.Thread(target=copy_output, args=(child.stderr, sys.stderr, "stderr", keep)),
    ]
    for pump in pumps:
        pump.start()
    return pumps
