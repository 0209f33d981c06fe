"""``art runs [ls]|show|log|history|plot|files``: tracked runs."""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import math
import shutil
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from artstore.api.history import HistoryScan
from artstore.artifacts.media import describe
from artstore.artifacts.runs import parse_filters
from artstore.cli._chart import Series, draw
from artstore.cli._context import json_option, store_from
from artstore.cli._render import print_chunks, print_json, table, when
from artstore.errors import InvalidArgumentError, NotFoundError
from artstore.serialize import (
    dumps,
    history_json,
    run_detail_json,
    run_file_json,
    run_json,
)

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage.catalog_runs import CatalogRuns

logger = logging.getLogger(__name__)

_PAGE = 1000  # steps read at once by `art runs history`


class _RunsGroup(click.Group):
    # `art runs` alone lists runs, as `art runs ls` does.
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-"):
            args = ["ls", *args]
        return super().parse_args(ctx, args)


@click.group("runs", cls=_RunsGroup)
def command() -> None:
    """Tracked runs: list, show, console log, metric history and charts."""


def _short(summary: dict[str, Any], limit: int = 3) -> str:
    parts = []
    for key, value in list(summary.items())[:limit]:
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts) + (" ..." if len(summary) > limit else "")


@command.command("ls")
@click.option("--project", "-p", help="Only runs of this project.")
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="config.KEY, summary.KEY, state, entity, tags; =, !=, >, >=, <, <=; or a JSON "
    'filter such as \'{"$or": [{"state": "failed"}, {"tags": "x"}]}\'.',
)
@json_option
@click.pass_context
def list_runs(
    ctx: click.Context, project: str | None, filters: tuple[str, ...], as_json: bool
) -> None:
    """List runs, newest first."""
    runs = store_from(ctx).runs(project=project, filters=parse_filters(filters))
    if as_json:
        print_json([run_json(r) for r in runs])
        return
    table(
        ["ID", "PROJECT", "NAME", "STATE", "CREATED", "SUMMARY"],
        [
            [r.id, r.project, r.name or "", r.state, when(r.record.created_at), _short(r.summary)]
            for r in runs
        ],
    )


@command.command("show")
@click.argument("run_id")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run: config, summary, artifacts used and produced."""
    run = store_from(ctx).run(run_id)
    used = run.used()
    produced = run.produced()
    files = run.files()
    alerts = run.alerts()
    media = run.media_counts()
    if as_json:
        print_json(run_detail_json(run, used, produced, files, alerts, media))
        return
    r = run.record
    click.echo(f"run {r.id}  {r.project}/{r.name or '-'}  {r.status}")
    if r.entity is not None:
        click.echo(f"  entity    {r.entity}")
    click.echo(f"  created   {when(r.created_at)}  by {r.user} on {r.host or '?'}")
    if r.finished_at is not None:
        click.echo(f"  finished  {when(r.finished_at)}  exit code {r.exit_code}")
    if r.command:
        click.echo(f"  command   {r.command}")
    if r.git_commit:
        click.echo(f"  git       {r.git_commit}{' (dirty)' if r.git_dirty else ''}")
    if r.tags:
        click.echo(f"  tags      {', '.join(r.tags)}")
    for title, data in (("config", r.config), ("summary", r.summary)):
        click.echo(f"{title}:")
        for key, value in data.items():
            click.echo(f"  {key}: {json.dumps(value)}")
    click.echo(f"used:     {', '.join(v.qualified_name for v in used) or '-'}")
    click.echo(f"produced: {', '.join(v.qualified_name for v in produced) or '-'}")
    shown = f"{len(files)} (art runs files {r.id})" if files else "-"
    click.echo(f"files:    {shown}")
    click.echo(f"media:    {', '.join(f'{k} {n}' for k, n in media.items()) or '-'}")
    click.echo(f"alerts:   {len(alerts) or '-'}")
    for alert in alerts:
        text = " ".join(f"{alert.title}: {alert.text}".split()) if alert.text else alert.title
        click.echo(f"  {when(alert.at)}  {alert.level:<5}  step {alert.step}  {text}")


@command.command("files")
@click.argument("run_id")
@json_option
@click.pass_context
def files(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """List the files kept with a run (``run.save``), each as last saved."""
    kept = store_from(ctx).run(run_id).files()
    if as_json:
        print_json([run_file_json(f) for f in kept])
        return
    table(
        ["NAME", "SIZE", "SAVED", "POLICY", "DIGEST"],
        [[f.name, str(f.size), when(f.saved_at), f.policy, f.digest] for f in kept],
        right=[1],
    )


@command.command("log")
@click.argument("run_id")
@click.pass_context
def console_log(ctx: click.Context, run_id: str) -> None:
    """Print what the run wrote to stdout and stderr."""
    click.echo(store_from(ctx).run(run_id).console(), nl=False)


def _split_keys(text: str) -> list[str]:
    keys = list(dict.fromkeys(key.strip() for key in text.split(",") if key.strip()))
    if not keys:
        raise InvalidArgumentError(f"--keys takes KEY[,KEY...], got {text!r}")
    return keys


def _first_logged(runs: CatalogRuns, run_id: str, keys: Sequence[str]) -> list[str]:
    """``keys`` in the order the run first logged them."""
    order: dict[str, None] = {}
    start = 0
    while unseen := [key for key in keys if key not in order]:
        # Pages of the steps that logged a key not seen yet, jumping to the first such step:
        # a key seen on an earlier page was first logged at an earlier step.
        page = runs.history_page(run_id, unseen, start, None, _PAGE)
        if not page:
            break
        for row in page:
            order.update(dict.fromkeys(key for key in row if key != "_step"))
        start = page[-1]["_step"] + 1
    return list(order)


def _history(
    store: Store, run_id: str, keys: Sequence[str] | None
) -> tuple[list[str], HistoryScan]:
    """The run's columns (``keys``, or every key it logged, in the order first logged) and
    its rows that hold one of them, read a page at a time.

    Raises:
        NotFoundError: no such run, or it never logged one of ``keys``; the message lists
            what it has.
    """
    run = store.run(run_id)
    runs = store.catalog.runs
    logged = runs.metric_keys(run.id)
    if keys is None:
        columns = _first_logged(runs, run.id, logged)
    else:
        missing = [key for key in keys if key not in logged]
        if missing:
            every = _first_logged(runs, run.id, logged)
            has = ", ".join(every[:20]) + (", ..." if len(every) > 20 else "")
            raise NotFoundError(
                f"run {run.id} never logged {missing[0]!r}; "
                + (f"it has: {has}" if every else "it logged no metrics")
            )
        columns = list(keys)
    return columns, HistoryScan(runs, run.id, columns, _PAGE, 0, None, every=False)


def _table_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return describe(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if text.isprintable() else repr(text)


def _csv_cell(value: Any) -> Any:
    # repr keeps every digit of a float, and writes nan, inf, -inf as pandas reads them.
    if isinstance(value, dict):
        return describe(value)
    return repr(value) if isinstance(value, float) else ("" if value is None else value)


def _csv_lines(keys: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes only where needed
    writer.writerow(["_step", *keys])
    for row in rows:
        writer.writerow([row["_step"], *(_csv_cell(row.get(key)) for key in keys)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _json_pieces(run_id: str, keys: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The text of ``dumps(history_json(run_id, keys, rows))``, a row at a time."""
    head = dumps(history_json(run_id, keys, []))
    found = iter(rows)
    first = next(found, None)
    if first is None:
        yield head
        return
    yield head.removesuffix("[]\n}") + "["
    for index, row in enumerate(itertools.chain([first], found)):
        # A row as history_json shapes it, indented as the rows list's item it is.
        text = dumps(history_json(run_id, keys, [row])["rows"][0])
        yield ("," if index else "") + "\n    " + text.replace("\n", "\n    ")
    yield "\n  ]\n}"


@command.command("history")
@click.argument("run_id")
@click.option("--keys", "-k", metavar="K1,K2", help="Only these metrics, as columns in this order.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@json_option
@click.pass_context
def history(ctx: click.Context, run_id: str, keys: str | None, as_csv: bool, as_json: bool) -> None:
    """Print a run's logged metrics, one row per step."""
    if as_csv and as_json:
        raise InvalidArgumentError("--csv and --json print different formats; give one")
    store = store_from(ctx)
    columns, rows = _history(store, run_id, None if keys is None else _split_keys(keys))
    if as_json:
        print_chunks(_json_pieces(run_id, columns, rows))
        click.echo()
    elif as_csv:
        print_chunks(_csv_lines(columns, rows))
    else:
        table(  # aligned columns need every row's width: the table alone is held whole
            ["_step", *columns],
            [[row["_step"], *(_table_cell(row.get(key)) for key in columns)] for row in rows],
            right=range(len(columns) + 1),
        )


def _series(run_id: str, key: str, rows: Sequence[dict[str, Any]]) -> Series:
    """The points of ``key``.

    Raises:
        InvalidArgumentError: ``key`` holds text or media, or nothing but NaN.
    """
    points = [(row["_step"], row[key]) for row in rows if key in row]
    for _, value in points:
        if isinstance(value, dict):
            raise InvalidArgumentError(
                f"{key!r} of run {run_id} holds media ({describe(value)}), not numbers; "
                f"see: art runs history {run_id} --keys {key}"
            )
        if isinstance(value, str):
            raise InvalidArgumentError(
                f"{key!r} of run {run_id} holds text ({value[:40]!r}), not numbers; "
                f"see: art runs history {run_id} --keys {key}"
            )
    if all(math.isnan(value) for _, value in points):
        raise InvalidArgumentError(f"{key!r} of run {run_id} holds only NaN; nothing to plot")
    return Series(key, points)


@command.command("plot")
@click.argument("run_id")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@click.option(
    "--width", type=click.IntRange(min=20), help="Characters per line (default: the terminal's)."
)
@click.option(
    "--height", type=click.IntRange(min=2), default=15, show_default=True, help="Rows of plot."
)
@click.pass_context
def plot(
    ctx: click.Context, run_id: str, keys: tuple[str, ...], width: int | None, height: int
) -> None:
    """Draw KEY (several overlaid) against step as a line chart on the terminal."""
    columns, scan = _history(store_from(ctx), run_id, list(dict.fromkeys(keys)))
    rows = list(scan)
    series = [_series(run_id, key, rows) for key in columns]
    # get_terminal_size reads $COLUMNS, then the terminal, and falls back to 80 when piped.
    lines, notes = draw(series, width or shutil.get_terminal_size((80, 24)).columns, height)
    for line in lines:
        click.echo(line)
    for note in notes:
        logger.warning(note)
