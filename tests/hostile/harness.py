"""The harness of the hostile-input tables: run a case, check its refusal, compare the store.

Every table in ``tests/hostile/`` lists cases a careless or hostile user might try, through the
``art`` command or the Python API. A case that is refused must:

- exit with its code (2 bad input, 1 a failed check), never 3 (a bug, with a traceback), or
  raise a typed ``artstore.errors`` exception from the API;
- say so in one line naming the problem (``art: <message>`` on stderr, or ``str(exc)``);
- leave the store byte-identical: every file under its root, and every catalog row.

:func:`snapshot` captures a store for that comparison: the digest of each file under the root
(the SQLite catalog is compared by its rows, not its bytes, which checkpoints may rewrite), and
the rows of every catalog table in primary-key order.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from artstore.cli import cli
from artstore.errors import ArtstoreError
from artstore.storage import hash_file

__all__ = ["NOBODY", "Outcome", "art", "art_as_nobody", "check_refused", "snapshot"]

# SQLite keeps these beside its database; they are compared through the rows instead.
_SQLITE_FILES = ("catalog.db", "catalog.db-wal", "catalog.db-shm", "catalog.db-journal")


def snapshot(store_root: Path, catalog_url: str | None = None) -> dict[str, Any]:
    """Everything a refused input must leave as it was: files under ``store_root`` by digest
    (folders too, so a new empty folder counts) and the rows of every catalog table."""
    files: dict[str, str] = {}
    for folder, dirs, names in os.walk(store_root):
        rel_folder = os.path.relpath(folder, store_root)
        for d in dirs:
            files[os.path.normpath(os.path.join(rel_folder, d)) + "/"] = "dir"
        for name in names:
            rel = os.path.normpath(os.path.join(rel_folder, name))
            if rel in _SQLITE_FILES:
                continue
            path = Path(folder, name)
            files[rel] = "link" if path.is_symlink() else hash_file(path)[0].hex
    url = catalog_url or f"sqlite:///{store_root / 'catalog.db'}"
    return {"files": files, "catalog": _catalog_rows(url)}


def _catalog_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        rows: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as connection:
            for name, table in sorted(meta.tables.items()):
                order = list(table.primary_key.columns) or list(table.columns)
                query = sa.select(table).order_by(*order)
                rows[name] = [tuple(r) for r in connection.execute(query)]
        return rows
    finally:
        engine.dispose()


@dataclass
class Outcome:
    """What one attempt did: the exit code (3 for an exception that is not artstore's) and
    the message lines (stderr for the CLI, ``str(exc)`` for the API)."""

    code: int
    lines: list[str]
    stdout: str = ""
    exception: BaseException | None = field(default=None, repr=False)


def art(*args: str, input: str | None = None) -> Outcome:
    """Run ``art ARGS`` in this process as the console script would, exceptions included."""
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        # What main() would print: a bug, exit 3 with a traceback.
        return Outcome(3, [f"internal error: {exc!r}"], result.stdout, exc)
    return Outcome(result.exit_code, result.stderr.splitlines(), result.stdout)


#: The unprivileged user and group that permission cases run as (root reads everything).
NOBODY = 65534
# The venv's interpreter lives under /root, which nobody cannot enter: the system interpreter
# of the same version runs artstore from the checkout with the venv's packages.
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
_LAUNCH = (
    "import site, sys; site.addsitedir(sys.argv.pop(1)); sys.path.insert(0, sys.argv.pop(1)); "
    "from artstore.cli import main; main()"
)


def art_as_nobody(*args: str, cwd: Path, cache: Path) -> Outcome:
    """Run ``art ARGS`` in a real process as the user ``nobody``, with ``cache`` as its
    ``XDG_CACHE_HOME``; the caller opens the folders it needs to that user. Skips where that
    cannot run (not root, or no system interpreter of this version)."""
    if os.geteuid() != 0 or not SYSTEM_PYTHON.exists():
        pytest.skip(f"needs root and a {SYSTEM_PYTHON} that the user nobody may run")
    import artstore

    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    checkout = str(Path(artstore.__file__).parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env.update(XDG_CACHE_HOME=str(cache), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", _LAUNCH, site_packages, checkout, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        user=NOBODY,
        group=NOBODY,
        timeout=120,
    )
    return Outcome(proc.returncode, proc.stderr.splitlines(), proc.stdout)


def api(call: Callable[[], object]) -> Outcome:
    """Call ``call``; an ``ArtstoreError`` gives its exit code, anything else exit 3."""
    try:
        call()
    except ArtstoreError as exc:
        return Outcome(exc.exit_code, str(exc).splitlines() or [""], exception=exc)
    except Exception as exc:  # the case fails in check_refused, showing what escaped
        return Outcome(3, [f"untyped {type(exc).__name__}: {exc}"], exception=exc)
    return Outcome(0, [])


def check_refused(
    outcome: Outcome,
    *,
    code: int,
    says: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    error: type[BaseException] | None = None,
) -> None:
    """Assert a refusal: exit ``code``, exactly one message line matching the regular
    expression ``says`` (case-insensitive), the API's exception an instance of ``error``, and
    the store unchanged when both snapshots are given."""
    assert outcome.code == code, f"exit {outcome.code}, expected {code}: {outcome.lines}"
    lines = [line for line in outcome.lines if line.strip()]
    assert len(lines) == 1, f"expected one message line, got {lines}"
    assert re.search(says, lines[0], re.IGNORECASE), f"{lines[0]!r} does not say {says!r}"
    if error is not None:
        assert isinstance(outcome.exception, error), repr(outcome.exception)
    if before is not None or after is not None:
        assert before == after, "the store changed although the input was refused"


def refused_line(lines: Sequence[str]) -> str:
    """The single message line of a refusal (for cases that check more than a pattern)."""
    assert len(lines) == 1, lines
    return lines[0]
