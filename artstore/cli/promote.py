"""``art promote NAME:REF --to ALIAS``: move an alias only if the version meets requirements."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from artstore.cli._context import json_option, run_from_env, store_from
from artstore.cli._render import print_json
from artstore.serialize import promotion_json

if TYPE_CHECKING:
    from artstore.artifacts import PromotionResult


@click.command("promote")
@click.argument("ref", metavar="NAME:REF")
@click.option("--to", "to", required=True, metavar="ALIAS", help="The alias to move.")
@click.option(
    "--require",
    "requirements",
    multiple=True,
    metavar="EXPR",
    help="FIELD OP VALUE, e.g. 'metadata.val_acc>=0.9' or 'summary.val_loss<current' "
    "(repeatable; all must pass).",
)
@click.option(
    "--expect",
    metavar="VERSION",
    help="The version ALIAS must point at now (v3), or 'none'; checked atomically with the move.",
)
@click.option("--reason", "-r", help="Why, for the alias history.")
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    ref: str,
    to: str,
    requirements: tuple[str, ...],
    expect: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Point ALIAS at NAME:REF if every requirement passes (exit 1 and no move if not).

    FIELD is metadata.KEY (the version's metadata), summary.KEY or config.KEY (of the run
    that created the version); OP is >= > <= < == !=; VALUE is a number or `current`, the
    same field of the version ALIAS points at now (passes when it points nowhere). The
    store's protected_aliases defaults in artstore.yaml apply too.
    """
    from artstore.artifacts import PromotionResult
    from artstore.errors import GateFailed

    store = store_from(ctx)
    try:
        result = store.promote(
            ref, to, require=requirements, expect=expect, reason=reason, run_id=run_from_env()
        )
    except GateFailed as error:
        if isinstance(error.result, PromotionResult):
            _show(error.result, as_json)
        raise
    _show(result, as_json)


def _show(result: PromotionResult, as_json: bool) -> None:
    if as_json:
        print_json(promotion_json(result))
        return
    for check in result.checks:
        click.echo(f"{'pass' if check.passed else 'FAIL'}  {check.describe()}")
    click.echo(result.verdict())
