"""``art verify [NAME[:REF]] [--deep] [--repair]``: check stored data, and heal what can heal."""

from __future__ import annotations

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import human_size, print_json
from artstore.serialize import verify_json


@click.command("verify")
@click.argument("target", required=False, metavar="[NAME[:REF]]")
@click.option("--deep", is_flag=True, help="Also re-hash every stored file (reads everything).")
@click.option(
    "--repair",
    is_flag=True,
    help="Move corrupt files to quarantine/ so that putting the good files again heals the "
    "store, and remove staging files of interrupted writes.",
)
@json_option
@click.pass_context
def command(
    ctx: click.Context, target: str | None, deep: bool, repair: bool, as_json: bool
) -> None:
    """Check that every version's manifest is readable and every stored file is there with
    its size (with --deep: hashes to its digest); list every problem (exit 1 if any).

    With NAME:REF one version, with NAME every version of it, else the whole store (and the
    files kept with runs and the media blobs their histories reference).
    """
    report = store_from(ctx).verify(target, deep=deep, repair=repair)
    if as_json:
        print_json(verify_json(report))
    else:
        for problem in report.problems:
            click.echo(f"art: {problem}", err=True)
        verdict = "ok" if report.ok else _count(len(report.problems), "problem")
        click.echo(
            f"verified {_count(report.versions, 'version')}, {_count(report.files, 'file')}, "
            f"{_count(report.run_files, 'run file') + ', ' if report.run_files else ''}"
            f"{_count(report.media, 'media blob') + ', ' if report.media else ''}"
            f"{_count(report.blobs, 'blob')} ({human_size(report.bytes)}"
            f"{', hashed' if deep else ''}): {verdict}"
        )
        if report.quarantined:
            click.echo(
                f"moved {_count(len(report.quarantined), 'damaged object')} to quarantine/; "
                "put the good files again to heal the store"
            )
        if report.debris_removed:
            click.echo(
                f"removed {_count(report.debris_removed, 'staging file')} of interrupted "
                f"writes ({human_size(report.debris_bytes)})"
            )
        elif report.debris:
            click.echo(
                f"art: warning: {_count(report.debris, 'staging file')} of interrupted writes "
                f"in tmp/ ({human_size(report.debris_bytes)}); remove them with: "
                "art verify --repair",
                err=True,
            )
    if not report.ok:
        ctx.exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
