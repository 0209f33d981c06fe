"""The run tracker: ``init``, ``log``, ``finish`` and ``Run``, shaped like W&B's."""

from artstore.tracker import plot
from artstore.tracker.current_run import (
    current,
    define_metric,
    finish,
    init,
    log,
    log_artifact,
    mark_preempting,
    unwatch,
    use_artifact,
    watch,
)
from artstore.tracker.habits import Settings, login
from artstore.tracker.media import Audio, Histogram, Html, Image, Object3D, Table, Video
from artstore.tracker.metrics import MetricDefinition
from artstore.tracker.run import Run, RunOptions
from artstore.tracker.spool import SPOOL_FILE, Spool, SyncResult, read_spool, sync_spool

__all__ = [
    "SPOOL_FILE",
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "MetricDefinition",
    "Object3D",
    "Run",
    "RunOptions",
    "Settings",
    "Spool",
    "SyncResult",
    "Table",
    "Video",
    "current",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "mark_preempting",
    "plot",
    "read_spool",
    "sync_spool",
    "unwatch",
    "use_artifact",
    "watch",
]
