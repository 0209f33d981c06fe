"""``art ls [NAME[:REF]]``: artifacts, an artifact's versions, or a version's files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import human_size, print_json, table, when
from artstore.serialize import artifact_json, file_json, version_json

if TYPE_CHECKING:
    from artstore.artifacts import Store


@click.command("ls")
@click.argument("target", required=False, metavar="[NAME[:REF]]")
@click.option("--type", "-t", "type_", help="Only artifacts of this type.")
@json_option
@click.pass_context
def command(ctx: click.Context, target: str | None, type_: str | None, as_json: bool) -> None:
    """List artifacts; with NAME its versions; with NAME:REF that version's files."""
    store = store_from(ctx)
    if target is None:
        _artifacts(store, type_, as_json)
    elif ":" in target:
        _files(store, target, as_json)
    else:
        _versions(store, target, as_json)


def _artifacts(store: Store, type_: str | None, as_json: bool) -> None:
    infos = store.artifacts(type_)
    if as_json:
        print_json([artifact_json(a) for a in infos])
        return
    rows = [
        [
            a.name,
            a.type,
            a.version_count,
            "-" if a.latest_number is None else f"v{a.latest_number}",
            human_size(a.size),
            a.description or "",
        ]
        for a in infos
    ]
    table(["NAME", "TYPE", "VERSIONS", "LATEST", "SIZE", "DESCRIPTION"], rows, right=(2, 4))


def _versions(store: Store, name: str, as_json: bool) -> None:
    versions = store.versions(name)
    if as_json:
        print_json([version_json(v) for v in versions])
        return
    rows = [
        [
            v.version,
            ",".join(v.aliases),
            v.file_count,
            human_size(v.size),
            "-" if v.new_bytes is None else human_size(v.new_bytes),
            when(v.created_at),
            v.created_by or v.created_by_user,
        ]
        for v in versions
    ]
    # SIZE is the version's files; NEW the new bytes its put wrote (unknown before schema 5).
    table(["VERSION", "ALIASES", "FILES", "SIZE", "NEW", "CREATED", "BY"], rows, right=(2, 3, 4))


def _files(store: Store, ref: str, as_json: bool) -> None:
    version = store.artifact(ref)
    entries = version.files()
    if as_json:
        print_json([file_json(e) for e in entries])
        return
    table(
        ["PATH", "SIZE", "DIGEST"],
        [[e.path, human_size(e.size), e.digest.short] for e in entries],
        right=(1,),
    )
