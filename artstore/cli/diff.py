"""``art diff A B``: what changed between two versions or folders, down to tensors."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import human_size, print_json, table
from artstore.serialize import diff_json

if TYPE_CHECKING:
    from artstore.artifacts import Diff, TensorChange, TensorDiff


@click.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option(
    "--stats", is_flag=True, help="Also compute max |B - A| and ||B - A|| / ||A|| per tensor."
)
@json_option
@click.pass_context
def command(ctx: click.Context, a: str, b: str, stats: bool, as_json: bool) -> None:
    """Compare A with B, each a version (NAME[:REF]) or a local folder.

    Lists added, removed and changed files, then the changed tensors of each changed
    .safetensors file. Exits 0 whether or not anything differs (like `git diff` without
    --exit-code); 2 when a side does not exist.
    """
    result = store_from(ctx).diff(a, b, stats=stats)
    if as_json:
        print_json(diff_json(result))
        return
    _render_files(result)
    for tensors in result.tensors:
        _render_tensors(tensors, stats)


def _render_files(d: Diff) -> None:
    if d.identical:
        click.echo(f"{d.a} and {d.b} hold the same {d.unchanged} files")
        return
    click.echo(
        f"{d.a} -> {d.b}: {len(d.added)} added, {len(d.removed)} removed, "
        f"{len(d.changed)} changed, {d.unchanged} unchanged"
    )
    rows: list[tuple[str, str, str, str]] = []
    rows += [("added", f.path, "", human_size(f.size)) for f in d.added]
    rows += [("removed", f.path, human_size(f.size), "") for f in d.removed]
    rows += [("changed", f.path, human_size(f.size_a), human_size(f.size_b)) for f in d.changed]
    click.echo()
    table(["STATUS", "PATH", "SIZE A", "SIZE B"], rows, right=(2, 3))
    click.echo(
        f"\ntotal: {human_size(d.bytes_added)} added, {human_size(d.bytes_removed)} removed, "
        f"{human_size(d.bytes_changed)} changed"
    )


def _render_tensors(t: TensorDiff, stats: bool) -> None:
    total = len(t.changes) + t.unchanged
    click.echo(f"\n{t.path}: {len(t.changes)} of {total} tensors differ")
    if t.metadata_changed:
        click.echo("header metadata (__metadata__) changed")
    if not t.changes:
        return
    headers = ["TENSOR", "CHANGE", "DTYPE/SHAPE"]
    if stats:
        headers += ["MAX|DIFF|", "REL L2"]
    rows = []
    for c in t.changes:
        row = [c.name, c.kind, _layout(c)]
        if stats:
            row += [_number(c.max_abs_diff), _number(c.rel_l2)]
        rows.append(row)
    table(headers, rows, right=(3, 4) if stats else ())


def _layout(c: TensorChange) -> str:
    def one(dtype: str | None, shape: tuple[int, ...] | None) -> str:
        return f"{dtype} {list(shape or ())}"

    if c.kind == "added":
        return one(c.dtype_b, c.shape_b)
    if c.kind in ("removed", "values"):
        return one(c.dtype_a, c.shape_a)
    return f"{one(c.dtype_a, c.shape_a)} -> {one(c.dtype_b, c.shape_b)}"


def _number(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if math.isfinite(x) else str(x)
