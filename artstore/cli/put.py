"""``art put PATH...``: log files or folders as the next version of an artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from artstore.cli._context import json_option, run_from_env, store_from
from artstore.cli._render import human_size, print_json, progress
from artstore.serialize import deduplicated, logged_json
from artstore.storage import NEW_BYTES, Callback, TqdmCallback


@click.command("put")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", "-n", help="Artifact name (default: the first path's base name).")
@click.option("--type", "-t", "type_", required=True, help="Artifact type: model, dataset, ...")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias to point at the version.")
@click.option(
    "--meta",
    "-m",
    "meta",
    multiple=True,
    metavar="KEY=VALUE",
    help="Metadata; VALUE is read as JSON when it parses (0.9, true), else text.",
)
@click.option("--description", "-d", help="Description of the artifact.")
@click.option(
    "--exclude",
    "-x",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Leave out files whose path or name matches.",
)
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    name: str | None,
    type_: str,
    aliases: tuple[str, ...],
    meta: tuple[str, ...],
    description: str | None,
    excludes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Log PATH... as the next version of an artifact.

    One folder puts its contents at the artifact's root; several paths each go under their
    base name. Content identical to the newest version creates no new version.
    """
    from artstore.artifacts import Artifact

    artifact = Artifact(
        name or _base_name(paths[0]), type_, description=description, metadata=_metadata(meta)
    )
    if len(paths) == 1 and paths[0].is_dir():
        artifact.add_dir(paths[0], exclude=excludes)
    else:
        for path in paths:
            if path.is_dir():
                artifact.add_dir(path, _base_name(path), exclude=excludes)
            else:
                artifact.add_file(path)
    store = store_from(ctx)
    version = store.log_artifact(
        artifact,
        aliases,
        run_id=run_from_env(),
        callback=_NewBytes(progress(f"put {artifact.name}")),
    )
    if as_json:
        print_json(logged_json(version))
        return
    state = "logged" if version.created else "unchanged, still"
    new = version.new_bytes or 0
    click.echo(
        f"{state} {version.qualified_name}: {version.file_count} files, "
        f"{human_size(version.size)}, {human_size(new)} new "
        f"({deduplicated(version.size, new):.0%} deduplicated) "
        f"(aliases: {', '.join(version.aliases)})"
    )


class _NewBytes(Callback):  # type: ignore[misc]
    """The put's progress bar (``bar``: bytes read), showing beside it how many of the bytes
    were new to the store."""

    def __init__(self, bar: Callback) -> None:
        super().__init__()
        self._bar = bar
        self._new = 0

    def set_size(self, size: int) -> None:
        self._bar.set_size(size)

    def relative_update(self, inc: int = 1) -> None:
        self._bar.relative_update(inc)

    def call(self, hook_name: str | None = None, **kwargs: Any) -> None:
        if hook_name != NEW_BYTES:
            return
        self._new += kwargs["n"]
        shown = self._bar.tqdm if isinstance(self._bar, TqdmCallback) else None
        if shown is not None:
            shown.set_postfix_str(f"{human_size(self._new)} new", refresh=False)

    def close(self) -> None:
        self._bar.close()


def _base_name(path: Path) -> str:
    return path.resolve().name


def _metadata(pairs: tuple[str, ...]) -> dict[str, Any]:
    from artstore.errors import UserError

    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--meta takes KEY=VALUE, got {pair!r}")
        try:
            result[key] = json.loads(raw)
        except json.JSONDecodeError:
            result[key] = raw
    return result
