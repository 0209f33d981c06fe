"""The run tracker: ``init``, ``log``, ``finish`` and ``Run``, shaped like W&B's."""

from artstore.tracker.current_run import current, finish, init, log
from artstore.tracker.run import Run, RunOptions
from artstore.tracker.spool import SPOOL_FILE, Spool, SyncResult, read_spool, sync_spool

__all__ = [
    "SPOOL_FILE",
    "Run",
    "RunOptions",
    "Spool",
    "SyncResult",
    "current",
    "finish",
    "init",
    "log",
    "read_spool",
    "sync_spool",
]
