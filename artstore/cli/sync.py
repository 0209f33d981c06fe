"""``art sync PATH...``: replay offline runs into the store."""

from __future__ import annotations

from pathlib import Path

import click

from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_json
from artstore.serialize import sync_json


@click.command("sync")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Sync offline runs (folders made by mode="offline") into the store; safe to repeat.

    PATH is a run folder, or a folder holding them (default: ./artstore-runs). W&B's paths
    work too: a PATH through a missing wandb/ folder is read in artstore-runs/ beside it
    (art sync wandb/, art sync 'wandb/offline-run-*').
    """
    from artstore.errors import NotFoundError
    from artstore.tracker import SPOOL_FILE, read_spool, sync_spool

    folders: list[Path] = []
    # Without PATH, a missing ./artstore-runs just means no offline run was made here.
    default = Path("artstore-runs")
    given = paths or ((default,) if default.exists() else ())
    for path in (found for named in given for found in _wandb_habit(named)):
        if (path / SPOOL_FILE).is_file():
            folders.append(path)
        elif path.is_dir():
            folders.extend(sorted(p.parent for p in path.glob(f"*/{SPOOL_FILE}")))
        else:
            raise NotFoundError(f"{path} is not an offline run folder, nor a folder of them")
    if not folders:
        if as_json:
            print_json([])
        else:
            click.echo("no offline runs to sync")
        return
    # Every spool is checked before the first is written: a bad one stops the whole sync.
    spools = [read_spool(folder) for folder in folders]
    store = store_from(ctx).writable()
    results = [sync_spool(spool, store) for spool in spools]
    if as_json:
        print_json([sync_json(r, f) for r, f in zip(results, folders, strict=True)])
        return
    for result, folder in zip(results, folders, strict=True):
        click.echo(
            f"synced {folder} -> run {result.run_id}: {result.metrics} metrics "
            f"({result.new_metrics} new), "
            f"produced {', '.join(result.produced) or '-'}, used {', '.join(result.used) or '-'}"
        )


def _wandb_habit(path: Path) -> list[Path]:
    """``path``, or where a W&B path means: offline runs live in ``artstore-runs/``, not the
    ``wandb/`` a W&B user names (an unexpanded ``offline-run-*`` is expanded there)."""
    from artstore.tracker.spool import SPOOL_ROOT

    parts = path.parts
    if path.exists() or "wandb" not in parts:
        return [path]
    at = len(parts) - 1 - parts[::-1].index("wandb")
    if Path(*parts[: at + 1]).exists():
        return [path]
    mapped = Path(*parts[:at], SPOOL_ROOT, *parts[at + 1 :])
    if any(mark in mapped.name for mark in "*?["):
        return sorted(mapped.parent.glob(mapped.name)) or [path]
    # Neither exists: the error names what was typed.
    return [mapped] if mapped.exists() else [path]
