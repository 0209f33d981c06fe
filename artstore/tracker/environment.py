"""What a run records about where it ran: host, Python, command line, git commit.

The command line is kept without its secrets (see :mod:`artstore.redaction`).
"""

from __future__ import annotations

import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from artstore.redaction import redact_argv

__all__ = ["run_environment"]


def run_environment() -> dict[str, Any]:
    """Host, Python version, command line and, inside a git work tree, commit and dirty flag."""
    # The tracker's job is to describe the process it runs in, so it reads sys.argv.
    fields: dict[str, Any] = {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "command": shlex.join(redact_argv(sys.argv)) if sys.argv and sys.argv[0] else None,
    }
    fields.update(_git(Path.cwd()))
    return fields


def _git(cwd: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return {}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}
