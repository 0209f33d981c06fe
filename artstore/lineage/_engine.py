"""Engines for the catalog: SQLite pragmas and transaction control, URL display, retries."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from artstore.errors import ConfigError
from artstore.lineage import jsoncodec

__all__ = ["WRITE_OPTION", "create_catalog_engine", "display_url", "is_retryable", "open_error"]

# Execution option marking the engine whose transactions write (BEGIN IMMEDIATE on SQLite).
WRITE_OPTION = "artstore_write"

_BUSY_TIMEOUT_MS = 30_000
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505"})  # serialization, deadlock, unique
_WHAT_TO_DO = "check the catalog URL (--db, $ARTSTORE_DB or catalog: in artstore.yaml)"


def display_url(url: str) -> str:
    """The URL as it may be shown to users and logs: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def create_catalog_engine(url: str) -> Engine:
    """Create the engine for a catalog URL; nothing is connected yet.

    Raises:
        ConfigError: the URL is malformed or names a database without an installed driver.
    """
    try:
        parsed = make_url(url)
        # JSON columns keep NaN and infinities in a tagged form that every database accepts.
        codec = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads}
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, pool_pre_ping=True, **codec)
        engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000}, **codec)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise open_error(url, exc) from None
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from sqlite3 (it would defer it past SELECTs); _sqlite_on_begin emits it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writer processes queue on
    # busy_timeout instead of failing when a read lock would have to be upgraded.
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_retryable(exc: DBAPIError) -> bool:
    """Whether a failed write transaction may succeed when run again from the start."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRY_SQLSTATES:
        return True
    message = str(orig)
    if isinstance(exc, IntegrityError):
        return "UNIQUE constraint failed" in message
    return "database is locked" in message


def open_error(url: str, exc: BaseException) -> ConfigError:
    """The one-line error for a catalog URL the engine cannot open."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = reason[0] if reason else type(exc).__name__
    password = _password(url)
    if password:
        text = text.replace(password, "***")
    todo = _WHAT_TO_DO
    if isinstance(exc, ImportError) and exc.name:
        text = f"its driver {exc.name!r} is not installed"
        todo = f"install it (pip install {exc.name.split('.')[0]}) or {_WHAT_TO_DO}"
    return ConfigError(f"cannot open catalog database {display_url(url)}: {text}; {todo}")


def _password(url: str) -> str | None:
    try:
        password = make_url(url).password
        return None if password is None else str(password)
    except (ArgumentError, ValueError):
        match = re.search(r"://[^:/@]*:([^@/]*)@", url)
        return match.group(1) if match else None
