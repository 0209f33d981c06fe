"""The run tracker: ``init``, ``log``, ``finish`` and ``Run``, shaped like W&B's."""

from artstore.tracker._current import current, finish, init, log
from artstore.tracker.run import Run, RunOptions
from artstore.tracker.spool import SyncResult, sync_spool

__all__ = ["Run", "RunOptions", "SyncResult", "current", "finish", "init", "log", "sync_spool"]
