"""Sweeps on W&B's schema: the config, the search that proposes each trial's parameters,
hyperband early termination and each trial's command line; pure functions over plain data
(the controller's state lives in the catalog, one row per trial)."""

from artstore.sweeps.command import (
    DEFAULT_COMMAND,
    MACROS,
    args_json,
    flat_arguments,
    trial_command,
)
from artstore.sweeps.config import (
    Goal,
    Hyperband,
    Method,
    Metric,
    SweepConfig,
    parse_sweep_config,
)
from artstore.sweeps.grid import grid_points, grid_size
from artstore.sweeps.hyperband import RunMetric, Stop, brackets, runs_to_stop
from artstore.sweeps.parameters import DISTRIBUTIONS, Distribution, Parameter
from artstore.sweeps.search import done_reason, propose
from artstore.sweeps.trials import Trial, TrialState

__all__ = [
    "DEFAULT_COMMAND",
    "DISTRIBUTIONS",
    "MACROS",
    "Distribution",
    "Goal",
    "Hyperband",
    "Method",
    "Metric",
    "Parameter",
    "RunMetric",
    "Stop",
    "SweepConfig",
    "Trial",
    "TrialState",
    "args_json",
    "brackets",
    "done_reason",
    "flat_arguments",
    "grid_points",
    "grid_size",
    "parse_sweep_config",
    "propose",
    "runs_to_stop",
    "trial_command",
]
