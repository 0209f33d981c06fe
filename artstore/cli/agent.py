"""``art agent SWEEP_ID [--count N]``: run a sweep's trials."""

from __future__ import annotations

import sys

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_json
from artstore.serialize import agent_json


@click.command("agent")
@click.argument("sweep_id")
@click.option("--count", type=click.IntRange(min=1), help="Run at most N trials.")
@json_option
@click.pass_context
def command(ctx: click.Context, sweep_id: str, count: int | None, as_json: bool) -> None:
    """Run trials of SWEEP_ID until it has none left (or COUNT were run).

    Each trial leases the sweep's next parameters from the catalog, and runs the config's
    program or command as a tracked run whose config holds them. Agents on other machines
    sharing the catalog take other trials; a trial whose agent dies is run again once its lease
    expires ($ARTSTORE_SWEEP_LEASE seconds, 60 by default).
    """
    from artstore.sweeps import run_agent
    from artstore.sweeps.agents import store_environment

    store = store_from(ctx).writable()
    env = store_environment(store, (ctx.find_root().obj or {}).get("db"))
    # Under --json, stdout carries only JSON: the trials' output goes to stderr.
    result = run_agent(store, sweep_id, count=count, env=env, echo=sys.stderr if as_json else None)
    if as_json:
        print_json(agent_json(result))
        return
    click.echo(
        f"agent ran {len(result.trials)} trial(s) of sweep {sweep_id}; stopped: {result.reason}",
        err=True,
    )
