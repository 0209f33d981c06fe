"""Who is acting: the user and host, and the CI job when running under CI."""

from __future__ import annotations

import getpass
import os
import socket

from artstore.lineage.records import Actor

__all__ = ["ci_job", "current_actor", "who"]

# Checked in order; the first one set names the job.
_CI_VARIABLES = (
    ("GITHUB_RUN_ID", "github"),
    ("CI_JOB_ID", "gitlab"),
    ("BUILDKITE_BUILD_ID", "buildkite"),
    ("CIRCLE_WORKFLOW_JOB_ID", "circleci"),
    ("BUILD_ID", "jenkins"),
)


def who() -> str:
    """``user@host`` for the current process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def ci_job() -> str | None:
    """An identifier of the CI job running this process, from well-known CI variables."""
    for variable, system in _CI_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return f"{system}:{value}"
    return None


def current_actor(*, run_id: str | None = None, reason: str | None = None) -> Actor:
    """The process as an :class:`~artstore.lineage.Actor`: its ``user@host`` and CI job, with
    the ``run_id`` and ``reason`` the caller gives."""
    return Actor(who=who(), run_id=run_id, ci_job=ci_job(), reason=reason)
