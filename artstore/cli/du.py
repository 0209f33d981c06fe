"""``art du [NAME]``: the bytes the store really holds, and what each artifact shares."""

from __future__ import annotations

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import human_size, print_json, table
from artstore.serialize import usage_json


@click.command("du")
@click.argument("name", required=False)
@json_option
@click.pass_context
def command(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show the bytes the store holds (each blob counted once) and, per artifact, its logical
    size (every version in full), the bytes only it references (UNIQUE) and those it shares
    with other artifacts (SHARED). With NAME only that artifact's row."""
    usage = store_from(ctx).usage(name)
    if as_json:
        print_json(usage_json(usage))
        return
    table(
        ["NAME", "TYPE", "VERSIONS", "LOGICAL", "STORED", "UNIQUE", "SHARED"],
        [
            [
                a.name,
                a.type,
                a.versions,
                human_size(a.logical),
                human_size(a.stored),
                human_size(a.unique),
                human_size(a.shared),
            ]
            for a in usage.artifacts
        ],
        right=(2, 3, 4, 5, 6),
    )
    click.echo(
        f"store: {human_size(usage.stored)} in {usage.blobs} blobs for "
        f"{human_size(usage.logical)} of {usage.versions} versions "
        f"({usage.dedup_ratio:.1f}x deduplicated)"
    )
    if usage.unreadable:
        click.echo(
            f"art: warning: {usage.unreadable} versions have a manifest that cannot be read; "
            "see: art verify",
            err=True,
        )
