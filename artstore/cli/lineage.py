"""``art lineage NAME:REF``: where a version came from, and what came from it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from artstore.cli._context import json_flag, store_from


@click.command("lineage")
@click.argument("ref", required=False, metavar="NAME[:REF]")
@click.option("--run", "run_id", metavar="ID", help="Start from a run instead of a version.")
@click.option("--up", "direction", flag_value="up", help="Only what it came from.")
@click.option("--down", "direction", flag_value="down", help="Only what came from it.")
@click.option("--depth", type=click.IntRange(min=0), help="At most this many hops.")
@click.option(
    "--format",
    "-F",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json", "graphml", "dot", "mermaid"]),
)
@json_flag("The same as --format json.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE.")
@click.pass_context
def command(
    ctx: click.Context,
    ref: str | None,
    run_id: str | None,
    direction: str | None,
    depth: int | None,
    fmt: str,
    as_json: bool,
    output: Path | None,
) -> None:
    """Show the lineage of a version (or a run): datasets -> runs -> models.

    The text format draws a tree; json (node-link), graphml, dot and mermaid are for tools.
    """
    from artstore.errors import UserError
    from artstore.lineage import to_dot, to_graphml, to_mermaid, to_text
    from artstore.serialize import lineage_text

    if (ref is None) == (run_id is None):
        raise UserError("name one version (NAME[:REF]) or one run (--run ID)")
    if as_json:
        fmt = "json"
    way: Literal["up", "down", "both"] = (
        "up" if direction == "up" else "down" if direction == "down" else "both"
    )
    graph = store_from(ctx).lineage(ref, run_id=run_id, direction=way, depth=depth)
    if fmt == "json":
        text = lineage_text(graph)
    else:
        text = {"text": to_text, "graphml": to_graphml, "dot": to_dot, "mermaid": to_mermaid}[fmt](
            graph
        )
    if output is not None:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {fmt} lineage of {len(graph.nodes)} nodes to {output}", err=True)
    else:
        click.echo(text.rstrip("\n"))
