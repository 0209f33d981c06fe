"""``art init [URL]``: create a store."""

from __future__ import annotations

import click

from artstore.cli._context import json_option
from artstore.cli._render import print_json
from artstore.serialize import store_json


@click.command("init")
@click.argument("url", required=False)
@json_option
@click.pass_context
def command(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Create a store at URL (default: ./.artstore), or check the one there."""
    from artstore.artifacts import Store

    options = ctx.find_root().obj
    target = url or options.get("store") or ".artstore"
    store = Store.init(target, db=options.get("db"))
    ctx.call_on_close(store.close)
    if as_json:
        print_json(store_json(store))
    else:
        click.echo(f"store {store.url} (id {store.blobs.id}) is ready")
