"""Opening the store the global options name."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from artstore.artifacts import Store

__all__ = ["json_flag", "json_option", "run_from_env", "store_from"]


def store_from(ctx: click.Context) -> Store:
    """The ``Store`` for ``--store``/``--db`` (closed when the command ends); not to be
    confused with ``artstore.storage.open_store``, which opens a bare blob store."""
    from artstore.artifacts import Store

    options = ctx.find_root().obj or {}
    store = Store(options.get("store"), db=options.get("db"))
    ctx.call_on_close(store.close)
    return store


def run_from_env() -> str | None:
    """The run a command records lineage against: ``$ARTSTORE_RUN_ID`` (set by ``art run``)."""
    return os.environ.get("ARTSTORE_RUN_ID") or None


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    root = ctx.find_root()
    if root.obj is not None:
        root.obj["json"] = value
    return value


def json_flag(help: str = "Print JSON on stdout.") -> Callable[[_F], _F]:
    """The ``--json`` flag: sets ``as_json`` and makes errors print as JSON too."""
    return click.option("--json", "as_json", is_flag=True, callback=_remember_json, help=help)


json_option = json_flag()
