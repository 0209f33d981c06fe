"""Sweeps on W&B's schema: the config, the search that proposes each trial's parameters,
hyperband early termination and each trial's command line (pure functions over plain data);
the controller, whose state lives in the catalog (one row per sweep and per trial), and the
agent that leases and runs trials (``sweep()``, ``agent()``, ``art sweep``, ``art agent``)."""

from artstore.sweeps.agents import AgentResult, TrialOutcome, agent, run_agent
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
from artstore.sweeps.controller import (
    LEASE_ENV,
    SweepView,
    cancel_sweep,
    create_sweep,
    show_sweep,
    stop_sweep,
    sweep,
    sweep_view,
)
from artstore.sweeps.grid import grid_points, grid_size
from artstore.sweeps.hyperband import RunMetric, Stop, brackets, runs_to_stop
from artstore.sweeps.parameters import DISTRIBUTIONS, Distribution, Parameter
from artstore.sweeps.search import done_reason, propose
from artstore.sweeps.trials import Trial, TrialState

__all__ = [
    "DEFAULT_COMMAND",
    "DISTRIBUTIONS",
    "LEASE_ENV",
    "MACROS",
    "AgentResult",
    "Distribution",
    "Goal",
    "Hyperband",
    "Method",
    "Metric",
    "Parameter",
    "RunMetric",
    "Stop",
    "SweepConfig",
    "SweepView",
    "Trial",
    "TrialOutcome",
    "TrialState",
    "agent",
    "args_json",
    "brackets",
    "cancel_sweep",
    "create_sweep",
    "done_reason",
    "flat_arguments",
    "grid_points",
    "grid_size",
    "parse_sweep_config",
    "propose",
    "run_agent",
    "runs_to_stop",
    "show_sweep",
    "stop_sweep",
    "sweep",
    "sweep_view",
    "trial_command",
]
