"""No secret kept or shown: planted passwords and keys go through real ``art`` commands and the
tracker (online, offline, ``art sync``), and none of them is found afterwards in the catalog
(the SQLite file's bytes, or every PostgreSQL row), any file under the store, the offline
spool, the cache folder, or anything printed.

Planted: a password in the ``--db`` URL on the command line and in ``$ARTSTORE_DB`` (a real
PostgreSQL catalog, so the password must be the right one), in bad ``--db`` URLs with and
without a scheme, ``AWS_SECRET_ACCESS_KEY`` in the environment, and ``--password X`` and
``token=X`` arguments of the commands that run.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from artstore.redaction import is_secret_name, redact_argv
from tests.services import postgres_url, require_service, schema_url

ART = Path(sys.executable).with_name("art")

PASSWORD_ARG = "pw-planted-5e1f9a"
TOKEN_ARG = "tok-planted-77c3ab"
ENV_SECRET = "env-secret-planted-b4d2c1"
URL_SECRET = "url-secret-planted-0c9e4f"

SCRIPT = """\
import sys
import artstore

with artstore.init(project="secrets") as run:
    run.log({"loss": 0.5})
    data = artstore.Artifact("data", type="dataset")
    data.add_file(sys.argv[0])
    run.log_artifact(data)
print("trained")
"""


@pytest.fixture
def pg_secret_url() -> Iterator[tuple[str, list[str]]]:
    """A PostgreSQL catalog URL in a fresh schema whose password is written percent-encoded:
    the test database's password equals its user name, so the encoded spelling is what can
    be searched for (with ``user:password`` as the driver decodes it)."""
    base, reason = postgres_url()
    if base is None:
        require_service("PostgreSQL", reason)
    parsed = sa.make_url(base)
    password = str(parsed.password)
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    plain = schema_url(base, schema)
    encoded = "".join(f"%{byte:02X}" for byte in password.encode())
    url = plain.replace(f":{password}@", f":{encoded}@", 1)
    assert encoded in url
    try:
        yield url, [encoded, f"{parsed.username}:{password}@", f"password={password}"]
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class Session:
    """Runs ``art`` and Python in real processes, keeping everything they print."""

    def __init__(self, tmp_path: Path, planted: list[str]) -> None:
        self.tmp = tmp_path
        self.env = _environment(tmp_path)
        self.planted = [PASSWORD_ARG, TOKEN_ARG, ENV_SECRET, URL_SECRET, *planted]
        self.output: list[str] = []

    def run(
        self, *args: str, code: int = 0, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> str:
        done = subprocess.run(
            [str(args[0]), *args[1:]],
            cwd=cwd or self.tmp,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.output += [done.stdout, done.stderr]
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout

    def art(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
        return self.run(str(ART), *args, code=code, env=env)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["AWS_SECRET_ACCESS_KEY"] = ENV_SECRET
    env["PATH"] = f"{ART.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _exercise(session: Session, db: list[str], db_env: dict[str, str]) -> list[dict[str, object]]:
    """Every way a secret could be kept or shown; returns ``art runs --json``."""
    store = str(session.tmp / "store")
    script = session.tmp / "train.py"
    script.write_text(SCRIPT)
    secret_args = ["--password", PASSWORD_ARG, f"token={TOKEN_ARG}"]
    session.art(*db, "init", store)
    # A command wrapped as a run, which joins that run from Python.
    session.art(*db, "--store", store, "run", "--", sys.executable, str(script), *secret_args)
    # The tracker online, then offline and synced.
    tracked = {"ARTSTORE_URL": store, **db_env}
    session.run(sys.executable, str(script), *secret_args, env=tracked)
    work = session.tmp / "work"
    work.mkdir()
    offline = {**tracked, "ARTSTORE_MODE": "offline"}
    session.run(sys.executable, str(script), *secret_args, env=offline, cwd=work)
    _assert_nothing_kept(session, [])  # the spool, before sync may tidy it
    session.art(*db, "--store", store, "sync", str(work / "artstore-runs"))
    # Reading, and failing on bad catalog URLs that carry a password.
    session.art(*db, "--store", store, "ls")
    runs = json.loads(session.art(*db, "--store", store, "runs", "--json"))
    for run in runs:
        session.art(*db, "--store", store, "runs", "show", str(run["id"]))
        session.art(*db, "--store", store, "runs", "show", str(run["id"]), "--json")
    for bad in (
        f"user:{URL_SECRET}@db.example/catalog",
        f"postgresql+psycopg://user:{URL_SECRET}@127.0.0.1:1/catalog",
        f"postgresql+psycopg://user:{URL_SECRET}@h@127.0.0.1:1/catalog",
    ):
        session.art("--db", bad, "--store", store, "ls", code=2)
        session.art("--db", bad, "--store", store, "--quiet", "runs", "--json", code=2)
    session.art("--store", store, "run", "--", "no-such-command", *secret_args, code=2)
    return runs


def _assert_nothing_kept(session: Session, rows: list[str]) -> None:
    places = {f"output {i}": text.encode() for i, text in enumerate(session.output)}
    for path in session.tmp.rglob("*"):
        if path.is_file() and path.name != "train.py":
            places[str(path)] = path.read_bytes()
    places.update({f"catalog row {i}": row.encode() for i, row in enumerate(rows)})
    found = [
        (where, secret)
        for where, data in places.items()
        for secret in session.planted
        if secret.encode() in data
    ]
    assert not found, found


def _check_runs(runs: list[dict[str, object]]) -> None:
    # What was kept is the command line with its secrets hidden, not nothing at all.
    assert len(runs) == 3, runs
    commands = [str(run["command"]) for run in runs]
    assert all("--password '***' 'token=***'" in command for command in commands), commands
    wrapped = [run for run in runs if run["config"]]
    assert len(wrapped) == 1, runs
    assert wrapped[0]["config"]["command"][-3:] == ["--password", "***", "token=***"]  # type: ignore[index]


def _rows(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as connection:
            return [
                repr(tuple(row))
                for table in meta.tables.values()
                for row in connection.execute(sa.select(table))
            ]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_no_secret_with_a_sqlite_catalog(tmp_path: Path) -> None:
    session = Session(tmp_path, [])
    runs = _exercise(session, [], {})
    _check_runs(runs)
    catalog = tmp_path / "store" / "catalog.db"
    assert catalog.stat().st_size > 0
    _assert_nothing_kept(session, _rows(f"sqlite:///{catalog}"))


@pytest.mark.slow
def test_no_secret_with_a_postgres_catalog_url_holding_a_password(
    tmp_path: Path, pg_secret_url: tuple[str, list[str]]
) -> None:
    url, planted = pg_secret_url
    session = Session(tmp_path, planted)
    runs = _exercise(session, ["--db", url], {"ARTSTORE_DB": url})
    _check_runs(runs)
    assert any(":***@" in str(run["command"]) for run in runs)
    rows = _rows(url)
    assert any("trained" in row for row in rows)  # the console was kept, in these rows
    _assert_nothing_kept(session, rows)


# -- the rules, one by one (fast, in-process) --------------------------------------------------

ARGV_CASES = [
    (["--password", "s3cr3t"], ["--password", "***"]),
    (["--password=s3cr3t"], ["--password=***"]),
    (["--token", "t0k"], ["--token", "***"]),
    (["--api-key", "k"], ["--api-key", "***"]),
    (["--apiKey=k"], ["--apiKey=***"]),
    (["--secret-file", "k"], ["--secret-file", "***"]),
    (["--aws-secret-access-key", "k"], ["--aws-secret-access-key", "***"]),
    (["--client-secret", "k", "--next"], ["--client-secret", "***", "--next"]),
    (["token=t0k", "lr=0.1"], ["token=***", "lr=0.1"]),
    (["AWS_SECRET_ACCESS_KEY=k", "HF_TOKEN=t"], ["AWS_SECRET_ACCESS_KEY=***", "HF_TOKEN=***"]),
    (["-Dpassword=p"], ["-Dpassword=***"]),
    (["-H", "Authorization: Bearer t0k"], ["-H", "Authorization: ***"]),
    (["-H", "X-Api-Key:k"], ["-H", "X-Api-Key:***"]),
    (["curl", "-u", "me:pw", "https://h"], ["curl", "-u", "me:***", "https://h"]),
    (["wget", "--user=me:pw"], ["wget", "--user=me:***"]),
    (["mysql", "-uroot", "-ps3cr3t", "db"], ["mysql", "-uroot", "-p***", "db"]),
    (["/usr/bin/mysqldump", "-pk", "-h", "h"], ["/usr/bin/mysqldump", "-p***", "-h", "h"]),
    (["mariadb", "--password=pw"], ["mariadb", "--password=***"]),
    (["--db", "postgresql://u:pw@h/db"], ["--db", "postgresql://u:***@h/db"]),
    (["--db", "u:pw@h/db"], ["--db", "u:***@h/db"]),
    (["--db=u:pw@h/db"], ["--db=u:***@h/db"]),
    (["--db", "postgresql://u:p@ss/w@h/db"], ["--db", "postgresql://u:***@h/db"]),
    (
        ["postgresql://h/db?password=pw&sslmode=require"],
        ["postgresql://h/db?password=***&sslmode=require"],
    ),
    (["host=h password=pw dbname=d"], ["host=h password=*** dbname=d"]),
    (["-c", "TOKEN=t0k run --x"], ["-c", "TOKEN=*** run --x"]),
    (
        ["-c", "psql postgresql://u:pw@h/db; echo a@b"],
        ["-c", "psql postgresql://u:***@h/db; echo a@b"],
    ),
    # Not credentials: left as they are.
    (
        ["--max-tokens", "512", "--tokenizer", "bert"],
        ["--max-tokens", "512", "--tokenizer", "bert"],
    ),
    (["--author", "me", "--key", "val_acc"], ["--author", "me", "--key", "val_acc"]),
    (["--no-auth", "file.txt"], ["--no-auth", "file.txt"]),
    (["python", "-u", "train.py", "--user", "me"], ["python", "-u", "train.py", "--user", "me"]),
    (["python", "train.py", "-p8080"], ["python", "train.py", "-p8080"]),
    (["mysql", "-p", "db"], ["mysql", "-p", "db"]),
    (["-H", "Content-Type: application/json"], ["-H", "Content-Type: application/json"]),
    (["s3://bucket/a@b", "git@github.com:o/r.git"], ["s3://bucket/a@b", "git@github.com:o/r.git"]),
    (["http://h:8080/x", "/tmp/a:b@c"], ["http://h:8080/x", "/tmp/a:b@c"]),
]


@pytest.mark.parametrize(("argv", "expected"), ARGV_CASES, ids=[" ".join(c[0]) for c in ARGV_CASES])
def test_redact_argv(argv: list[str], expected: list[str]) -> None:
    assert redact_argv(argv) == expected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        *[(n, True) for n in ("PGPASSWORD", "MYSQL_PWD", "GITHUB_TOKEN", "WANDB_API_KEY")],
        *[(n, True) for n in ("AWS_SESSION_TOKEN", "accessToken", "private_key", "AUTH")],
        *[(n, False) for n in ("max_tokens", "tokenizer", "AUTHOR", "KEY", "lr", "PASSES")],
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_catalog_messages_show_no_password() -> None:
    from artstore.lineage._engine import display_url, open_error

    for url in ("postgresql://u:pw-x1@h/db", "u:pw-x1@h/db", "mysql://u:pw-x1@h@x/db"):
        assert "pw-x1" not in display_url(url)
        message = str(open_error(url, ValueError(f"failed for {url} and host x1@x")))
        assert "pw-x1" not in message and "\n" not in message
