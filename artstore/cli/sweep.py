"""``art sweep CONFIG.yaml | ls | show | stop | cancel``: hyperparameter sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_json, table, when
from artstore.serialize import sweep_json, sweep_view_json

_SUBCOMMANDS = ("ls", "show", "stop", "cancel", "create")


class _SweepGroup(click.Group):
    # `art sweep CONFIG.yaml` creates a sweep, as `wandb sweep CONFIG.yaml` does.
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in _SUBCOMMANDS and args[0] != "--help":
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group("sweep", cls=_SweepGroup)
def command() -> None:
    """Hyperparameter sweeps on W&B's sweep.yaml: `art sweep CONFIG.yaml` creates one and
    prints its id; `art agent ID` runs its trials."""


@command.command("create")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", "-p", help="The project of the sweep's runs.")
@json_option
@click.pass_context
def create(ctx: click.Context, config: Path, project: str | None, as_json: bool) -> None:
    """Create a sweep from CONFIG (W&B's sweep.yaml) and print its id."""
    from artstore.sweeps import create_sweep

    sweep = create_sweep(store_from(ctx), config, project=project)
    if as_json:
        print_json(sweep_json(sweep))
        return
    click.echo(sweep.id)
    click.echo(f"run its trials with: art agent {sweep.id}", err=True)


@command.command("ls")
@click.option("--project", "-p", help="Only this project's sweeps.")
@json_option
@click.pass_context
def ls(ctx: click.Context, project: str | None, as_json: bool) -> None:
    """List sweeps, newest first."""
    found = store_from(ctx).repository.catalog.sweeps.listing(project)
    if as_json:
        print_json([sweep_json(sweep, trials) for sweep, trials in found])
        return
    rows = [
        (
            s.id,
            s.project,
            s.name or "",
            s.state,
            s.config.get("method", ""),
            len(trials),
            when(s.created_at),
        )
        for s, trials in found
    ]
    table(["ID", "PROJECT", "NAME", "STATE", "METHOD", "TRIALS", "CREATED"], rows, right=(5,))


@command.command("show")
@click.argument("sweep_id")
@json_option
@click.pass_context
def show(ctx: click.Context, sweep_id: str, as_json: bool) -> None:
    """A sweep's trials ranked by the metric, and the best config."""
    from artstore.sweeps import show_sweep

    view = show_sweep(store_from(ctx), sweep_id)
    if as_json:
        print_json(sweep_view_json(view))
        return
    sweep = view.sweep
    metric = sweep.config.get("metric") or {}
    click.echo(f"sweep {sweep.id} ({sweep.state}), project {sweep.project}")
    if metric:
        click.echo(f"metric: {metric.get('name')} ({metric.get('goal', 'minimize')})")
    rows = [
        (
            t.number,
            t.state,
            "" if t.metric is None else f"{t.metric:.6g}",
            t.run_id or "",
            json.dumps(t.params, sort_keys=True),
        )
        for t in view.trials
    ]
    table(["TRIAL", "STATE", "METRIC", "RUN", "PARAMS"], rows, right=(0, 2))
    if view.best is not None:
        click.echo(
            f"best: trial {view.best.number}: {json.dumps(view.best.params, sort_keys=True)}"
        )


def _state_command(name: str, doc: str) -> None:
    # `stop` and `cancel` differ only in the state they set.
    @command.command(name, help=doc)
    @click.argument("sweep_id")
    @json_option
    @click.pass_context
    def change(ctx: click.Context, sweep_id: str, as_json: bool) -> None:
        from artstore.sweeps import cancel_sweep, stop_sweep

        verb = stop_sweep if name == "stop" else cancel_sweep
        sweep = verb(store_from(ctx), sweep_id)
        if as_json:
            print_json(sweep_json(sweep))
        else:
            click.echo(f"sweep {sweep.id} is {sweep.state}")


_state_command("stop", "No new trials; running ones finish.")
_state_command("cancel", "No new trials; agents stop their running ones.")
