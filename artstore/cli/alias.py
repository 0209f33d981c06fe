"""``art alias set|rm|log``: move aliases between versions, and show their history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from artstore.cli._context import json_option, run_from_env, store_from
from artstore.cli._render import print_json, table, when
from artstore.serialize import move_json

if TYPE_CHECKING:
    from artstore.lineage import AliasMove


@click.group("alias")
def command() -> None:
    """Point aliases (production, candidate, ...) at versions."""


def _describe(move: AliasMove) -> str:
    src = "nowhere" if move.from_number is None else f"v{move.from_number}"
    dst = "nowhere" if move.to_number is None else f"v{move.to_number}"
    return f"{move.artifact}:{move.alias} moved from {src} to {dst}"


@command.command("set")
@click.argument("ref", metavar="NAME:REF")
@click.argument("alias")
@click.option(
    "--expect",
    metavar="VERSION",
    help="Move only if ALIAS points at VERSION now (v3), or is unset (none).",
)
@click.option("--reason", "-r", help="Why, for the alias history.")
@json_option
@click.pass_context
def set_alias(
    ctx: click.Context, ref: str, alias: str, expect: str | None, reason: str | None, as_json: bool
) -> None:
    """Point ALIAS at the version NAME:REF."""
    move = store_from(ctx).set_alias(
        ref, alias, expect=expect, reason=reason, run_id=run_from_env()
    )
    if as_json:
        print_json(move_json(move))
    else:
        click.echo(_describe(move))


@command.command("rm")
@click.argument("name")
@click.argument("alias")
@click.option(
    "--expect", metavar="VERSION", help="Remove only if ALIAS points at VERSION now (v3)."
)
@click.option("--reason", "-r", help="Why, for the alias history.")
@json_option
@click.pass_context
def remove_alias(
    ctx: click.Context, name: str, alias: str, expect: str | None, reason: str | None, as_json: bool
) -> None:
    """Take ALIAS off the artifact NAME."""
    move = store_from(ctx).remove_alias(
        name, alias, expect=expect, reason=reason, run_id=run_from_env()
    )
    if as_json:
        print_json(move_json(move))
    else:
        click.echo(_describe(move))


@command.command("log")
@click.argument("name")
@click.argument("alias", required=False)
@json_option
@click.pass_context
def alias_log(ctx: click.Context, name: str, alias: str | None, as_json: bool) -> None:
    """Show every move of NAME's aliases (or of ALIAS), oldest first."""
    moves = store_from(ctx).alias_history(name, alias)
    if as_json:
        print_json([move_json(m) for m in moves])
        return

    def where(number: int | None) -> str:
        return "-" if number is None else f"v{number}"

    table(
        ("TIME", "ALIAS", "FROM", "TO", "WHO", "RUN", "CI JOB", "REASON"),
        [
            (
                when(m.at),
                m.alias,
                where(m.from_number),
                where(m.to_number),
                m.who,
                m.run_id or "-",
                m.ci_job or "-",
                m.reason or "",
            )
            for m in moves
        ],
    )
