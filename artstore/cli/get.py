"""``art get NAME:REF [DEST]``: download a version, verified."""

from __future__ import annotations

from pathlib import Path

import click

from artstore.cli._context import json_option, run_from_env, store_from
from artstore.cli._render import print_json, progress
from artstore.serialize import downloaded_json


@click.command("get")
@click.argument("ref", metavar="NAME[:REF]")
@click.argument("dest", required=False, type=click.Path(path_type=Path))
@click.option("--file", "-f", "file_path", metavar="PATH", help="Download only this file.")
@json_option
@click.pass_context
def command(
    ctx: click.Context, ref: str, dest: Path | None, file_path: str | None, as_json: bool
) -> None:
    """Download a version to DEST (default ./artifacts/NAME-vN); every file is verified."""
    store = store_from(ctx)
    version = store.use(ref, run_id=run_from_env())
    if file_path is not None:
        path = version.file(file_path, dest)
    else:
        path = version.download(dest, callback=progress(f"get {version.qualified_name}"))
    if as_json:
        print_json(downloaded_json(version, path))
    else:
        click.echo(f"{version.qualified_name} -> {path}")
