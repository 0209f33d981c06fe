"""The lineage around a version or a run: what it came from, and what came from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from artstore.artifacts.lookup import get_version
from artstore.artifacts.names import MAX_VERSION, check_run_id
from artstore.errors import InvalidArgumentError, UserError

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import LineageGraph

__all__ = ["walk"]


def walk(
    repo: Repository,
    ref: str | None = None,
    *,
    run_id: str | None = None,
    direction: Literal["up", "down", "both"] = "both",
    depth: int | None = None,
) -> LineageGraph:
    """The lineage around the version ``ref`` or the run ``run_id``: the verb behind
    :meth:`artstore.artifacts.Store.lineage`, whose docstring gives the arguments and errors."""
    if ref is not None and run_id is not None:
        raise InvalidArgumentError("lineage is of a version (name:ref) or of a run, not both")
    if direction not in ("up", "down", "both"):
        raise InvalidArgumentError(
            f"direction must be 'up', 'down' or 'both', not {str(direction)[:40]!r}"
        )
    if depth is not None and (type(depth) is not int or depth < 0):
        raise InvalidArgumentError(f"depth must be a whole number >= 0 or None, not {depth!r}")
    if depth is not None and depth > MAX_VERSION:
        depth = None  # more hops than any catalog holds: no limit
    lineage = repo.catalog.lineage
    if run_id is not None:
        node = lineage.run_node(check_run_id(run_id))
    elif ref is not None:
        version = get_version(repo, ref)
        node = lineage.version_node(version.name, version.number)
    else:
        raise UserError("lineage needs a version (name:ref) or a run id")
    return lineage.walk(node, direction=direction, depth=depth)
