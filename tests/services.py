"""Finding (and, on a CI-like machine, starting) the servers some tests need.

A test that needs a server asks for it here and, when the server is missing, calls
:func:`require_service`: the test is skipped with the reason, unless
``ARTSTORE_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing server is a failure.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "postgres_url",
    "require_service",
    "schema_url",
    "services_required",
]

DEFAULT_POSTGRES_URL = (
    "postgresql+psycopg://artstore_test:artstore_test@127.0.0.1:5432/artstore_test"
)
POSTGRES_ENV = "ARTSTORE_TEST_POSTGRES"
REQUIRE_ENV = "ARTSTORE_REQUIRE_SERVICES"

_PG_START = Path(__file__).resolve().parents[1] / ".ci" / "pg-start"
_PG_START_TIMEOUT = 90
_CONNECT_TIMEOUT = 5


def services_required() -> bool:
    """Whether a missing server fails the tests instead of skipping them (CI)."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def require_service(name: str, reason: str) -> NoReturn:
    """Skip the current test because ``name`` is unavailable, or fail it where CI requires it."""
    if services_required():
        pytest.fail(f"{name} is unavailable and {REQUIRE_ENV}=1: {reason}", pytrace=False)
    pytest.skip(f"{name} is unavailable: {reason}")


@functools.cache
def postgres_url() -> tuple[str | None, str]:
    """A PostgreSQL URL the tests may create schemas in, or None and the reason why not.

    In order: ``$ARTSTORE_TEST_POSTGRES`` if set (it is never replaced by a local server);
    else :data:`DEFAULT_POSTGRES_URL` if it answers; else, as root with Debian's
    ``pg_ctlcluster``, ``.ci/pg-start`` is run and the URL it prints is tried. The answer is
    cached for the process (each xdist worker asks once).

    Returns:
        ``(url, "")`` when a connection succeeded, else ``(None, reason)``.
    """
    given = os.environ.get(POSTGRES_ENV)
    if given:
        error = _connect_error(given)
        if error is None:
            return given, ""
        return None, f"${POSTGRES_ENV} ({_shown(given)}) does not answer: {error}"
    error = _connect_error(DEFAULT_POSTGRES_URL)
    if error is None:
        return DEFAULT_POSTGRES_URL, ""
    reason = f"{_shown(DEFAULT_POSTGRES_URL)} does not answer: {error}"
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None:
        return None, f"{reason}; set ${POSTGRES_ENV} or run .ci/pg-start as root"
    started, detail = _run_pg_start()
    if started is None:
        return None, f"{reason}; .ci/pg-start failed: {detail}"
    error = _connect_error(started)
    if error is None:
        return started, ""
    return None, f"{_shown(started)} does not answer after .ci/pg-start: {error}"


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with every connection's ``search_path`` set to ``schema`` alone.

    Uses libpq's ``options`` parameter, so it works for any client of the URL: the catalog,
    raw engines in tests, and spawned worker processes.
    """
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _run_pg_start() -> tuple[str | None, str]:
    # Parallel workers may all get here: one runs the script, the others wait and rerun it
    # (it is idempotent and then returns at once).
    lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / "artstore-pg-start.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(
                ["bash", str(_PG_START)],
                capture_output=True,
                text=True,
                timeout=_PG_START_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        message = done.stderr.strip().splitlines()
        return None, message[-1] if message else f"exit status {done.returncode}"
    return lines[-1], ""


def _connect_error(url: str) -> str | None:
    """None if ``url`` accepts a connection, else the first line of the reason."""
    try:
        engine = sa.create_engine(
            url, poolclass=NullPool, connect_args={"connect_timeout": _CONNECT_TIMEOUT}
        )
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as exc:
        return _first_line(url, exc)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        return _first_line(url, getattr(exc, "orig", None) or exc)
    finally:
        engine.dispose()
    return None


def _shown(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<unparseable URL>"


def _first_line(url: str, exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    try:
        password = sa.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        return text
    return text.replace(str(password), "***") if password else text
