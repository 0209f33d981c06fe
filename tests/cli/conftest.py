"""Fixtures for the CLI tests: run ``art`` in-process against a fresh store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from artstore.cli import cli

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def art(store_url: str) -> Callable[..., Result]:
    """``art(*args)``: run ``art --store <store> *args`` in-process."""

    def run(*args: str, store: str | None = store_url) -> Result:
        prefix = ["--store", store] if store is not None else []
        return CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)

    return run


def one_error_line(result: Result, code: int = 2) -> str:
    """Check a failure: exit ``code``, nothing on stdout, one ``art: `` line on stderr."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("art: ")
    return lines[0]


def json_out(result: Result) -> Any:
    """Check a ``--json`` success: exit 0, stdout is one JSON document."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)
