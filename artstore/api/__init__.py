"""W&B's public query API over a store: ``artstore.Api()`` as ``wandb.Api()`` is used.

``Api`` finds runs by path (``entity/project/run_id``) and MongoDB-style filters and
artifacts by name; ``ApiRun`` is one run as W&B's public ``Run`` reads (``history``,
``scan_history``, ``logged_artifacts``, ...). It reads through the artifacts layer's verbs
and never writes.
"""

from artstore.api.api import Api
from artstore.api.history import HistoryScan
from artstore.api.runs import ApiRun, ReadOnlyDict, Runs

__all__ = ["Api", "ApiRun", "HistoryScan", "ReadOnlyDict", "Runs"]
