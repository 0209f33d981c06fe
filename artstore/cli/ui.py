"""``art ui``: the read-only web dashboard of the store's runs, artifacts and lineage."""

from __future__ import annotations

import importlib.util

import click

from artstore.errors import ConfigError

_NEEDS = ("starlette", "uvicorn", "jinja2")


@click.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any but this machine's loopback is reachable by others "
    "(the UI has no login).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a web browser.")
@click.pass_context
def command(ctx: click.Context, host: str, port: int, open_browser: bool) -> None:
    """Serve a read-only web UI of the store: projects and their runs, charts of their
    metrics, artifacts, versions and lineage. It never writes to the store or its catalog."""
    if any(importlib.util.find_spec(name) is None for name in _NEEDS):
        raise ConfigError("art ui needs the ui extra: pip install 'artstore[ui]'")
    from artstore.artifacts import Store
    from artstore.ui import serve

    options = ctx.find_root().obj or {}
    store = Store(options.get("store"), db=options.get("db"), read_only=True)
    ctx.call_on_close(store.close)
    store.catalog  # noqa: B018 - a store or catalog that cannot be read stops here, in one line
    serve(store, host, port, open_browser=open_browser, quiet=bool(options.get("quiet")))
