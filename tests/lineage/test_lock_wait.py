"""A catalog locked by another process: opening takes no write lock when the schema is current,
and every operation waits for the lock, says so once after a few seconds, and stops with
``CatalogBusyError`` (one line, exit 2) at ``$ARTSTORE_LOCK_TIMEOUT``.

The lock holders are real processes (or, for PostgreSQL, another session) that release when
the test tells them to, after ``art`` has said it is waiting: nothing here sleeps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from artstore.artifacts import Store
from artstore.errors import CatalogBusyError, ConfigError
from artstore.lineage import Catalog
from artstore.lineage.locks import LockWait

ART = Path(sys.executable).with_name("art")

# Holds the catalog locked until a line arrives on stdin, then closes and exits. "write" is
# what another writer does (BEGIN IMMEDIATE: readers go on in WAL mode); "exclusive" keeps
# readers out too (an exclusive locking mode, as a backup or a repair tool might take).
HOLDER = """\
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
if sys.argv[2] == "exclusive":
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    connection.execute("BEGIN EXCLUSIVE")
    connection.execute("UPDATE schema_version SET version = version")
else:
    connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.rollback()
connection.close()
"""

WAITING = "is locked by another process; waiting for it up to"


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    Store.init(str(root)).close()
    (tmp_path / "data.txt").write_text("some data\n")
    return root


class Holder:
    """A process holding the catalog's lock until :meth:`release`."""

    def __init__(self, catalog: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(catalog), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "locked\n"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.close()
            assert self.process.wait(30) == 0


@pytest.fixture
def hold(store_root: Path) -> Iterator[type[Holder]]:
    holders: list[Holder] = []

    def start(mode: str) -> Holder:
        holder = Holder(store_root / "catalog.db", mode)
        holders.append(holder)
        return holder

    yield start  # type: ignore[misc]
    for holder in holders:
        holder.release()


def _env(limit: float, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["ARTSTORE_LOCK_TIMEOUT"] = str(limit)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def _start(store_root: Path, limit: float, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ART), "--store", str(store_root), *args],
        cwd=store_root.parent,
        env=_env(limit, store_root.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_warning(art: subprocess.Popen[str]) -> str:
    assert art.stderr is not None
    line = art.stderr.readline()  # blocks until art says it is waiting (or exits)
    assert WAITING in line, (line, art.communicate())
    return line


COMMANDS = {
    "ls": ("ls",),
    "put": ("put", "data.txt", "--name", "data", "--type", "dataset"),
}


def test_reading_does_not_wait_for_a_writer(store_root: Path, hold) -> None:
    """Today's cause of `art ls` dying after 30 s: opening took the write lock."""
    hold("write")
    started = time.monotonic()
    done = subprocess.run(
        [str(ART), "--store", str(store_root), "ls"],
        env=_env(600, store_root.parent),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert time.monotonic() - started < 10  # it never waited (the busy timeout would be 600)


@pytest.mark.parametrize(
    ("command", "mode"), [("ls", "exclusive"), ("put", "write"), ("put", "exclusive")]
)
def test_a_command_waits_warns_once_and_succeeds_when_released(
    store_root: Path, hold, command: str, mode: str
) -> None:
    holder = hold(mode)
    art = _start(store_root, 20, *COMMANDS[command])
    warning = _wait_for_warning(art)
    assert warning.startswith("art: warning: catalog sqlite:///")
    assert "catalog.db" in warning and "(ARTSTORE_LOCK_TIMEOUT=20 seconds)" in warning
    holder.release()
    out, err = art.communicate(timeout=60)
    assert art.returncode == 0, err
    assert err == ""  # the warning came once
    assert "data" in out or command == "ls"
    if command == "put":
        with Store(str(store_root)) as store:
            assert [f.path for f in store.artifact("data:v0").files()] == ["data.txt"]


@pytest.mark.parametrize(("command", "mode"), [("ls", "exclusive"), ("put", "write")])
def test_a_lock_held_past_the_limit_is_one_line_exit_2(
    store_root: Path, hold, command: str, mode: str
) -> None:
    hold(mode)
    limit = 1.5
    started = time.monotonic()
    art = _start(store_root, limit, "--quiet", *COMMANDS[command])
    out, err = art.communicate(timeout=60)
    waited = time.monotonic() - started
    assert art.returncode == 2, err
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("art: catalog sqlite:///") and "stayed locked by another process" in line
    assert "ARTSTORE_LOCK_TIMEOUT=1.5" in line
    assert waited >= limit  # read-only commands wait as long as writers


def test_without_quiet_the_warning_precedes_the_refusal(store_root: Path, hold) -> None:
    hold("exclusive")
    art = _start(store_root, 1, "ls")
    _, err = art.communicate(timeout=60)
    assert art.returncode == 2
    lines = err.splitlines()
    assert len(lines) == 2 and WAITING in lines[0] and "stayed locked" in lines[1], lines
    assert "Traceback" not in err


# -- the API --------------------------------------------------------------------------------


def test_the_api_raises_catalog_busy_error(store_root: Path, hold, monkeypatch) -> None:
    monkeypatch.setenv("ARTSTORE_LOCK_TIMEOUT", "0.5")
    hold("exclusive")
    with pytest.raises(CatalogBusyError) as info:
        Catalog.open(f"sqlite:///{store_root / 'catalog.db'}", create=False)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e400"])
def test_a_malformed_lock_timeout_is_a_config_error(tmp_path: Path, monkeypatch, value) -> None:
    monkeypatch.setenv("ARTSTORE_LOCK_TIMEOUT", value)
    with pytest.raises(ConfigError, match="ARTSTORE_LOCK_TIMEOUT"):
        Catalog.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    assert not (tmp_path / "catalog.db").exists()


def test_lock_wait_warns_once_then_gives_up(caplog) -> None:
    wait = LockWait("sqlite:///x.db", 0.0)
    with pytest.raises(CatalogBusyError, match=r"x\.db stayed locked"):
        wait.locked()
    wait = LockWait("sqlite:///x.db", 3600)
    wait._start -= 10  # internal: as if the first attempts had waited 10 s
    with caplog.at_level("WARNING", logger="artstore.lineage.locks"):
        wait.locked()
        wait.locked()
    assert [r.getMessage() for r in caplog.records] == [
        "catalog sqlite:///x.db is locked by another process; waiting for it up to "
        "60 minutes (ARTSTORE_LOCK_TIMEOUT=3600 seconds)"
    ]


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_store(tmp_path: Path, pg_catalog_url: str) -> Path:
    root = tmp_path / "store"
    Store.init(str(root), db=pg_catalog_url).close()
    return root


def _start_pg(root: Path, url: str, limit: float, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ART), "--store", str(root), "--db", url, *args],
        env=_env(limit, root.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_postgres_table_lock_waits_and_then_succeeds(pg_store: Path, pg_catalog_url: str) -> None:
    engine = sa.create_engine(pg_catalog_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE artifacts IN ACCESS EXCLUSIVE MODE")
            art = _start_pg(pg_store, pg_catalog_url, 20, "ls")
            warning = _wait_for_warning(art)
            assert "postgresql+psycopg://" in warning and ":***@" in warning
            holder.rollback()
        _, err = art.communicate(timeout=60)
    finally:
        engine.dispose()
    assert art.returncode == 0 and err == "", err


def test_postgres_table_lock_past_the_limit_is_one_line_exit_2(
    pg_store: Path, pg_catalog_url: str
) -> None:
    engine = sa.create_engine(pg_catalog_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE versions IN ACCESS EXCLUSIVE MODE")
            art = _start_pg(pg_store, pg_catalog_url, 1, "--quiet", "ls")
            _, err = art.communicate(timeout=60)
            holder.rollback()
    finally:
        engine.dispose()
    assert art.returncode == 2
    [line] = err.splitlines()
    assert "stayed locked by another process" in line and ":***@" in line


def test_attempts_that_fail_at_once_do_not_spin_until_the_limit():
    # An attempt the database refuses at once (no busy wait inside it) is paced to the
    # attempt length, so a one-second limit allows about 1 / attempt_seconds attempts.
    from artstore.errors import CatalogBusyError
    from artstore.lineage.locks import LockWait, attempt_seconds

    limit = 1.0
    wait = LockWait("sqlite:///x.db", limit)
    attempts = 0
    with pytest.raises(CatalogBusyError):
        while True:
            attempts += 1
            wait.locked()
    assert attempts <= 2 * limit / attempt_seconds(limit) + 1, attempts
