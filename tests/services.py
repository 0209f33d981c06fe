"""Finding (and, on a CI-like machine, starting) the servers some tests need.

A test that needs a server asks for it here and, when the server is missing, calls
:func:`require_service`: the test is skipped with the reason, unless
``ARTSTORE_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing server is a failure.

PostgreSQL is found or started once per machine. The object-store emulators (``moto_server``
for S3, ``gcp-storage-emulator`` for GCS) are console scripts of the dev extra, started here
as child processes on free loopback ports: one per test process, stopped at its end.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "Server",
    "console_script",
    "postgres_url",
    "require_service",
    "schema_url",
    "services_required",
    "start_gcs_emulator",
    "start_moto_server",
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


# -- object-store emulators ----------------------------------------------------------------------

_SERVER_START_TIMEOUT = 30.0
_SERVER_STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3


class Server:
    """An emulator running as a child process, answering HTTP on ``url``."""

    def __init__(self, name: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.url = url
        self.process = process
        self.log = log

    def stop(self) -> None:
        """Terminate the process (kill it if it does not stop in time) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def console_script(name: str) -> Path:
    """A console script of an installed package: beside this interpreter, never from PATH.

    ``.ci/run`` installs the dev extra into a fresh venv that is not activated, so the
    scripts are found next to ``sys.executable`` (a PATH lookup could find another install).
    """
    return Path(sys.executable).with_name(name)


def start_moto_server(log_dir: Path) -> tuple[Server | None, str]:
    """``moto_server`` (S3 and more, in memory) on a free loopback port.

    Returns:
        ``(server, "")`` once it answers HTTP, else ``(None, reason)``.
    """
    return _start_server(
        console_script("moto_server"),
        lambda port: ["-H", "127.0.0.1", "-p", str(port)],
        ready_path="/",
        log_dir=log_dir,
    )


def start_gcs_emulator(log_dir: Path) -> tuple[Server | None, str]:
    """``gcp-storage-emulator`` (GCS JSON API, in memory) on a free loopback port.

    Returns:
        ``(server, "")`` once it answers HTTP, else ``(None, reason)``.
    """
    return _start_server(
        console_script("gcp-storage-emulator"),
        lambda port: ["start", "--host=127.0.0.1", f"--port={port}", "--in-memory", "--quiet"],
        ready_path="/storage/v1/b?project=test",
        log_dir=log_dir,
    )


def _start_server(
    script: Path, args: Callable[[int], list[str]], *, ready_path: str, log_dir: Path
) -> tuple[Server | None, str]:
    """Run ``script`` with ``args(port)`` on free ports until one answers ``ready_path``."""
    if not script.is_file():
        return None, f"{script} is not installed (pip install -e '.[dev]')"
    name = script.name
    reason = ""
    for attempt in range(_PORT_ATTEMPTS):
        # Picking a port and binding it are separate steps: the lock keeps the test processes
        # of one run from picking the same port, and a port another program takes meanwhile
        # makes the server exit or never answer, so a new port is tried.
        with _machine_lock("artstore-test-servers.lock"):
            port = _free_port()
            log = log_dir / f"{name}-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(script), *args(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=log_dir,
                )
            server = Server(name, f"http://127.0.0.1:{port}", process, log)
            reason = _wait_until_ready(server, ready_path)
        if not reason:
            return server, ""
        server.stop()
        reason = f"attempt {attempt + 1} on port {port}: {reason}"
    return None, reason


def _wait_until_ready(server: Server, ready_path: str) -> str:
    """Poll ``server`` until it answers HTTP; "" then, else why it never did."""
    deadline = time.monotonic() + _SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return f"exited with status {server.process.returncode}: {_last_line(server.log)}"
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=1):
                pass
        except urllib.error.HTTPError:
            pass  # an error status is still an answer
        except OSError:
            time.sleep(_POLL_INTERVAL)
            continue
        # Answered, and the process still runs: no test process of this run holds the port
        # (the caller's lock), so the answer is this server's.
        if server.process.poll() is None:
            return ""
    return f"no answer within {_SERVER_START_TIMEOUT:.0f} s: {_last_line(server.log)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _machine_lock(name: str) -> Iterator[None]:
    lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / name
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"
