"""``art run -- CMD ARGS...``: run a command as a tracked run."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_json
from artstore.serialize import run_exit_json


@click.command("run", context_settings={"ignore_unknown_options": True})
@click.option("--project", "-p", envvar="ARTSTORE_PROJECT", help="The run's project.")
@click.option("--name", "-n", help="The run's name.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--heartbeat", type=float, default=10.0, show_default=True, help="Seconds between heartbeats."
)
@json_option
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def command(
    ctx: click.Context,
    project: str | None,
    name: str | None,
    tags: tuple[str, ...],
    heartbeat: float,
    as_json: bool,
    cmd: tuple[str, ...],
) -> None:
    """Run CMD as a tracked run: its output, exit code and times are kept.

    The command sees ARTSTORE_RUN_ID, so `art put` and `art get` inside it (and artstore.init()
    in Python) record lineage against this run. art exits with the command's exit code.
    """
    from artstore.errors import NotFoundError
    from artstore.redaction import redact_argv
    from artstore.sweeps.agents import store_environment
    from artstore.tracker import init
    from artstore.tracker.console import copy_child_output
    from artstore.tracker.current_run import new_run_id

    store = store_from(ctx).writable()
    shown = redact_argv(cmd)
    run = init(
        project=project,
        name=name or os.path.basename(shown[0]),
        tags=list(tags),
        store=store,
        id=new_run_id(),
        config={"command": shown},  # written with the run, before the command can write
        capture_console=False,
        heartbeat_interval=heartbeat,
    )
    env = {
        **os.environ,
        "ARTSTORE_RUN_ID": run.id,
        **store_environment(store, (ctx.find_root().obj or {}).get("db")),
    }
    try:
        child = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as exc:
        run.finish(exit_code=127)
        raise NotFoundError(f"cannot run {shown[0]!r}: {exc.strerror}") from None
    out = sys.stderr if as_json else sys.stdout  # under --json, stdout carries only JSON
    pumps = copy_child_output(child, out, run.record_console)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.wait()
        code = 130
    for pump in pumps:
        pump.join()
    run.finish(exit_code=code)
    if as_json:
        print_json(run_exit_json(run, code))
    ctx.exit(code)
