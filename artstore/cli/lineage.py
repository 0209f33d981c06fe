"""``art lineage NAME:REF``: where a version came from, and what came from it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from artstore.cli._context import json_flag, store_from


@click.command("lineage")
@click.argument("ref", required=False, metavar="NAME[:REF]")
@click.option("--run", "run_id", metavar="ID", help="Start from a run instead of a version.")
@click.option("--sweep", "sweep_id", metavar="ID", help="Start from a sweep: its runs and theirs.")
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
    sweep_id: str | None,
    direction: str | None,
    depth: int | None,
    fmt: str,
    as_json: bool,
    output: Path | None,
) -> None:
    """Show the lineage of a version (or a run, or a sweep): datasets -> runs -> models,
    and the sweep whose agent ran a run.

    The text format draws a tree; json (node-link), graphml, dot and mermaid are for tools.
    """
    from artstore.errors import UserError
    from artstore.lineage import to_dot, to_graphml, to_mermaid, to_text
    from artstore.serialize import lineage_text

    if [ref, run_id, sweep_id].count(None) != 2:
        raise UserError(
            "name one version (NAME[:REF]), one run (--run ID) or one sweep (--sweep ID)"
        )
    if as_json:
        fmt = "json"
    way: Literal["up", "down", "both"] = (
        "up" if direction == "up" else "down" if direction == "down" else "both"
    )
    store = store_from(ctx)
    if sweep_id is not None:
        graph = store.repository.catalog.lineage.sweep(sweep_id, depth=depth)
    else:
        graph = store.lineage(ref, run_id=run_id, direction=way, depth=depth)
        # The sweeps whose agents ran its runs are nodes too (migration 7's trials).
        graph = store.repository.catalog.lineage.with_sweeps(graph, depth=depth)
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
