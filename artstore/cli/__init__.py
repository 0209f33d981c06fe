"""The ``art`` command: a thin shell over the Python API, with one error boundary.

Each command parses its arguments, calls the public API and renders the result. Errors that
artstore raises on purpose become one ``art: <message>`` line on stderr and their exit code
(2 bad input, 1 a failed check); anything else is a bug: exit 3 with the traceback.
"""

from __future__ import annotations

import gc
import logging
import sys
import traceback
from typing import Any

import click

from artstore.errors import ArtstoreError
from artstore.serialize import error_line

__all__ = ["cli", "main"]


class _Failure(click.ClickException):
    """An ``ArtstoreError`` on its way out of click, printed as one line."""

    def __init__(self, error: ArtstoreError, as_json: bool) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code  # type: ignore[misc]  # per instance, by design
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        click.echo(f"art: {self.message}", file=stream)
        if self.as_json:
            click.echo(error_line(self.message, self.exit_code), file=stream)


class _ArtGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArtstoreError as error:
            raise _Failure(error, bool(ctx.obj and ctx.obj.get("json"))) from None


@click.group(cls=_ArtGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    envvar="ARTSTORE_URL",
    help="Store location (default: nearest .artstore/ above this folder).",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    envvar="ARTSTORE_DB",
    help="Catalog database URL (default: catalog.db inside a local store).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or warnings.")
@click.version_option(package_name="artstore", prog_name="art")
@click.pass_context
def cli(ctx: click.Context, store_url: str | None, db_url: str | None, quiet: bool) -> None:
    """artstore: versioned, deduplicated artifacts with lineage."""
    ctx.obj = {"store": store_url, "db": db_url, "quiet": quiet}
    _configure_logging(quiet)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, not to the one seen when it was made."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # a second `art` call in one process (tests, notebooks) must reach its own stderr


def _configure_logging(quiet: bool) -> None:
    logger = logging.getLogger("artstore")
    if not any(getattr(h, "_art_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("art: %(levelname)s: %(message)s"))
        handler._art_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logging.addLevelName(logging.WARNING, "warning")
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)
    # Libraries below artstore log their retries with tracebacks (gcsfs, when a server does
    # not answer); with no handler anywhere, Python would print them on stderr. What they
    # mean reaches the user as artstore's own one-line error.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def _register() -> None:
    from artstore.cli import (
        agent,
        alias,
        diff,
        du,
        get,
        init,
        lineage,
        ls,
        promote,
        put,
        runs,
        sweep,
        sync,
        ui,
        verify,
        wrap,
    )

    for module in (init, put, ls, get, alias, lineage, runs, wrap, sync, verify, promote, diff, du):
        cli.add_command(module.command)
    cli.add_command(ui.command)
    cli.add_command(sweep.command)
    cli.add_command(agent.command)


_register()


def main() -> None:
    """Entry point of the ``art`` console script."""
    try:
        cli.main(prog_name="art")
    except Exception as exc:  # a bug: keep the traceback, exit 3
        click.echo(f"art: internal error (please report it): {exc!r}", err=True)
        traceback.print_exc()
        sys.exit(3)
    finally:
        # The interpreter's last full collection walks every object the database libraries
        # made at import: 0.1 s of each command. Frozen objects are skipped; everything the
        # command opened is closed by now.
        gc.freeze()
