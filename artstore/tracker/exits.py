"""The code the process exits with, as ``sys.exit`` is asked for it while a run is open.

Exit handlers are not told the interpreter's exit code, so a run still open at exit would read
``sys.exit(3)`` as success. W&B wraps ``sys.exit`` for the same reason; so does this module,
for as long as any run is open (decision 121).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, NoReturn

__all__ = ["ExitCodes", "exit_codes", "exit_status"]


def exit_status(code: Any) -> int:
    """The status the interpreter exits with for ``sys.exit(code)``.

    None is 0, a whole number is itself, anything else (a message) is 1, as in CPython.
    """
    if code is None:
        return 0
    index = getattr(code, "__index__", None)
    return int(index()) if callable(index) else 1


class ExitCodes:
    """Wraps ``sys.exit`` while runs are open and keeps the last code the main thread asked for.

    ``sys.exit`` in another thread ends only that thread, so it is not kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._original: Any = None
        self._code: int | None = None

    @property
    def code(self) -> int | None:
        """The status of the last ``sys.exit`` of the main thread, or None if it was not called."""
        return self._code

    def hold(self) -> None:
        """Wrap ``sys.exit`` (once, however many runs hold it)."""
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._code = None
                self._original = sys.exit
                sys.exit = self._exit

    def release(self) -> None:
        """Give back ``sys.exit`` when the last open run releases it."""
        with self._lock:
            self._users -= 1
            if self._users == 0:
                # Another library may have wrapped ours since: leave its wrapper in place.
                if sys.exit == self._exit:
                    sys.exit = self._original
                self._original = None

    def _exit(self, status: Any = None, /) -> NoReturn:
        if threading.current_thread() is threading.main_thread():
            self._code = exit_status(status)
        if self._original is not None:
            self._original(status)  # another wrapper's, or the interpreter's: raises
        raise SystemExit(status)


exit_codes = ExitCodes()
"""The process's one wrapper: every open run holds it."""
