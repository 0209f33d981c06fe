"""``art verify [NAME[:REF]]``: check stored data against its digests."""

from __future__ import annotations

import click

from artstore.cli._context import json_option, open_store
from artstore.cli._render import human_size, print_json


@click.command("verify")
@click.argument("target", required=False, metavar="[NAME[:REF]]")
@json_option
@click.pass_context
def command(ctx: click.Context, target: str | None, as_json: bool) -> None:
    """Hash stored files and report any that are missing or corrupt (exit 1 if so).

    With NAME:REF one version, with NAME every version of it, else the whole store.
    """
    report = open_store(ctx).verify(target)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "versions": report.versions,
                "files": report.files,
                "blobs": report.blobs,
                "bytes": report.bytes,
                "problems": [
                    {
                        "version": p.version,
                        "path": p.path,
                        "kind": p.kind,
                        "digest": p.digest,
                        "actual": p.actual,
                    }
                    for p in report.problems
                ],
            }
        )
    else:
        for problem in report.problems:
            click.echo(f"art: {problem}", err=True)
        verdict = "ok" if report.ok else f"{len(report.problems)} problems"
        click.echo(
            f"verified {_count(report.versions, 'version')}, {_count(report.files, 'file')}, "
            f"{_count(report.blobs, 'blob')} "
            f"({human_size(report.bytes)}): {verdict}"
        )
    if not report.ok:
        ctx.exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
