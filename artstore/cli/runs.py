"""``art runs [ls]|show|log``: tracked runs."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_json, table, when
from artstore.serialize import run_detail_json, run_json

_FILTER = re.compile(r"^([A-Za-z_][\w.\-]*)(>=|<=|!=|=|>|<)(.*)$")
_OPS = {"=": "$eq", "!=": "$ne", ">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


class _RunsGroup(click.Group):
    # `art runs` alone lists runs, as `art runs ls` does.
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-"):
            args = ["ls", *args]
        return super().parse_args(ctx, args)


@click.group("runs", cls=_RunsGroup)
def command() -> None:
    """Tracked runs: list, show, console log."""


def parse_filters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``config.lr=0.001``, ``summary.acc>=0.9``, ``state=finished``, ``tags=baseline``."""
    from artstore.errors import UserError

    filters: dict[str, Any] = {}
    for pair in pairs:
        match = _FILTER.match(pair)
        if match is None:
            raise UserError(f"--filter takes KEY=VALUE (or >, >=, <, <=, !=), got {pair!r}")
        key, op, raw = match.groups()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key == "tags":
            # Store.runs matches tags by name (or {"$in": [...]}), not by operators.
            if op != "=" or not isinstance(value, str):
                raise UserError(f"--filter tags takes tags=NAME, got {pair!r}")
            filters[key] = value
            continue
        filters.setdefault(key, {})[_OPS[op]] = value
    return filters


def _short(summary: dict[str, Any], limit: int = 3) -> str:
    parts = []
    for key, value in list(summary.items())[:limit]:
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts) + (" ..." if len(summary) > limit else "")


@command.command("ls")
@click.option("--project", "-p", help="Only runs of this project.")
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="config.KEY, summary.KEY, state, tags; =, !=, >, >=, <, <=.",
)
@json_option
@click.pass_context
def list_runs(
    ctx: click.Context, project: str | None, filters: tuple[str, ...], as_json: bool
) -> None:
    """List runs, newest first."""
    runs = store_from(ctx).runs(project=project, filters=parse_filters(filters))
    if as_json:
        print_json([run_json(r) for r in runs])
        return
    table(
        ["ID", "PROJECT", "NAME", "STATE", "CREATED", "SUMMARY"],
        [
            [r.id, r.project, r.name or "", r.state, when(r.record.created_at), _short(r.summary)]
            for r in runs
        ],
    )


@command.command("show")
@click.argument("run_id")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run: config, summary, artifacts used and produced."""
    run = store_from(ctx).run(run_id)
    used = run.used()
    produced = run.produced()
    if as_json:
        print_json(run_detail_json(run, used, produced))
        return
    r = run.record
    click.echo(f"run {r.id}  {r.project}/{r.name or '-'}  {r.status}")
    click.echo(f"  created   {when(r.created_at)}  by {r.user} on {r.host or '?'}")
    if r.finished_at is not None:
        click.echo(f"  finished  {when(r.finished_at)}  exit code {r.exit_code}")
    if r.command:
        click.echo(f"  command   {r.command}")
    if r.git_commit:
        click.echo(f"  git       {r.git_commit}{' (dirty)' if r.git_dirty else ''}")
    if r.tags:
        click.echo(f"  tags      {', '.join(r.tags)}")
    for title, data in (("config", r.config), ("summary", r.summary)):
        click.echo(f"{title}:")
        for key, value in data.items():
            click.echo(f"  {key}: {json.dumps(value)}")
    click.echo(f"used:     {', '.join(v.qualified_name for v in used) or '-'}")
    click.echo(f"produced: {', '.join(v.qualified_name for v in produced) or '-'}")


@command.command("log")
@click.argument("run_id")
@click.pass_context
def console_log(ctx: click.Context, run_id: str) -> None:
    """Print what the run wrote to stdout and stderr."""
    click.echo(store_from(ctx).run(run_id).console(), nl=False)
