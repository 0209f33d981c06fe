"""Engines for the catalog: SQLite pragmas and transaction control, lock waits, URL display,
retries."""

from __future__ import annotations

import re
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from artstore.errors import ConfigError
from artstore.lineage import jsoncodec
from artstore.redaction import REDACTED, redact_text, redact_url, url_password

__all__ = [
    "WRITE_OPTION",
    "create_catalog_engine",
    "display_url",
    "is_locked",
    "is_retryable",
    "open_error",
    "sqlite_file",
]

# Execution option marking the engine whose transactions write (BEGIN IMMEDIATE on SQLite).
WRITE_OPTION = "artstore_write"

_RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505"})  # serialization, deadlock, unique
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
_WHAT_TO_DO = "check the catalog URL (--db, $ARTSTORE_DB or catalog: in artstore.yaml)"


def display_url(url: str) -> str:
    """The URL as it may be shown to users and logs: never with its password, and with
    characters that are not printable escaped."""
    shown = redact_url(url)
    return shown if shown.isprintable() else repr(shown)[1:-1]


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite catalog URL names; None for other databases, in-memory and URI forms.

    Raises:
        ConfigError: the URL is malformed.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise open_error(url, exc) from None
    if "\x00" in url:
        raise open_error(url, ValueError("it holds a NUL character"))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if parsed.query.get("uri") == "true" or database.startswith("file:"):
        return None
    return Path(database)


def create_catalog_engine(url: str, attempt_seconds: float, read_only: bool = False) -> Engine:
    """Create the engine for a catalog URL; nothing is connected yet.

    Args:
        attempt_seconds: how long one statement waits for a lock another process holds before
            it fails with a lock error (see :func:`is_locked`) that the caller may retry.
        read_only: every connection refuses writes (a SQLite file opened ``mode=ro`` with
            ``query_only``, PostgreSQL
            ``default_transaction_read_only``) and changes nothing of the database when it
            connects.

    Raises:
        ConfigError: the URL is malformed or names a database without an installed driver.
    """
    try:
        parsed = make_url(url)
        # JSON columns keep NaN and infinities in a tagged form that every database accepts.
        codec = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads}
        if parsed.get_backend_name() != "sqlite":
            engine = create_engine(parsed, pool_pre_ping=True, **codec)
            if parsed.get_backend_name() == "postgresql":
                milliseconds = max(1, round(attempt_seconds * 1000))
                connect = partial(_postgres_on_connect, milliseconds, read_only)
                event.listen(engine, "connect", connect)
            return engine
        path = sqlite_file(url) if read_only else None
        if path is not None:
            # query_only alone still lets the last connection to close checkpoint the WAL
            # into the file and delete it; a connection opened read-only never writes.
            opener = partial(_sqlite_read_only, path, attempt_seconds)
            engine = create_engine("sqlite://", creator=opener, poolclass=QueuePool, **codec)
        else:
            engine = create_engine(parsed, connect_args={"timeout": attempt_seconds}, **codec)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise open_error(url, exc) from None
    event.listen(engine, "connect", partial(_sqlite_on_connect, read_only))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _postgres_on_connect(
    milliseconds: int, read_only: bool, dbapi_connection: Any, record: ConnectionPoolEntry
) -> None:
    # A table lock held by another session (LOCK TABLE, a long migration) fails a statement
    # after one attempt's time instead of blocking it forever; the caller waits and retries.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SET lock_timeout = {milliseconds}")
        if read_only:
            cursor.execute("SET default_transaction_read_only = on")
    finally:
        cursor.close()
    dbapi_connection.commit()


def _sqlite_read_only(path: Path, attempt_seconds: float) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=attempt_seconds, check_same_thread=False)


def _sqlite_on_connect(read_only: bool, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from sqlite3 (it would defer it past SELECTs); _sqlite_on_begin emits it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        if read_only:
            # Setting the journal mode writes the file's header: a reader leaves it as the
            # writers made it (WAL, so their writes never wait for a reader).
            cursor.execute("PRAGMA query_only = ON")
            return
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


def is_locked(exc: DBAPIError) -> bool:
    """Whether an attempt failed because another process held a lock for an attempt's time."""
    orig = exc.orig
    if _sqlstate(orig) == _LOCK_NOT_AVAILABLE:
        return True
    message = str(orig)
    return "database is locked" in message or "database table is locked" in message


def is_retryable(exc: DBAPIError) -> bool:
    """Whether a failed write transaction may succeed when run again from the start (a
    conflict with another writer; locks are :func:`is_locked`)."""
    if _sqlstate(exc.orig) in _RETRY_SQLSTATES:
        return True
    return isinstance(exc, IntegrityError) and "UNIQUE constraint failed" in str(exc.orig)


def _sqlstate(orig: object) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return None if code is None else str(code)


def open_error(url: str, exc: BaseException) -> ConfigError:
    """The one-line error for a catalog URL the engine cannot open."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = redact_text(reason[0] if reason else type(exc).__name__)
    for secret in _passwords(url):
        text = text.replace(secret, REDACTED)
    todo = _WHAT_TO_DO
    if isinstance(exc, ImportError) and exc.name:
        text = f"its driver {exc.name!r} is not installed"
        todo = f"install it (pip install {exc.name.split('.')[0]}) or {_WHAT_TO_DO}"
    return ConfigError(f"cannot open catalog database {display_url(url)}: {text}; {todo}")


def _passwords(url: str) -> list[str]:
    # The password as the user wrote it, and as the driver read it: an unescaped '@' in it
    # makes the driver take its tail for the host, which a driver message may then show.
    found: set[str] = set()
    full = url_password(url)
    if full:
        found |= {full, *(part for part in re.split(r"[@:/]", full) if len(part) >= 3)}
    try:
        parsed = make_url(url).password
    except (ArgumentError, ValueError):
        parsed = None
    if parsed:
        found.add(str(parsed))
    return sorted(found, key=len, reverse=True)
