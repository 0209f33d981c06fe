"""The paths ``Api()`` takes, as W&B writes them: ``entity/project`` and ``entity/project/id``."""

from __future__ import annotations

from dataclasses import dataclass

from artstore.artifacts.names import check_run_id
from artstore.errors import InvalidNameError

__all__ = ["ProjectPath", "RunPath", "parse_project_path", "parse_run_path"]

_RUN_SHAPES = (
    "use 'entity/project/run_id', 'project/run_id', 'entity/project:run_id', "
    "'project:run_id' or 'run_id'"
)
_PROJECT_SHAPES = "use 'entity/project' or 'project'"


@dataclass(frozen=True, slots=True)
class ProjectPath:
    """Where ``Api().runs()`` looks: ``None`` for a part means any."""

    entity: str | None
    project: str | None


@dataclass(frozen=True, slots=True)
class RunPath:
    """One run: its id, and the entity and project it must have when they are given."""

    entity: str | None
    project: str | None
    run_id: str


def parse_project_path(
    path: str | None, entity: str | None = None, project: str | None = None
) -> ProjectPath:
    """``"entity/project"`` or ``"project"``; the parts the path leaves out come from
    ``entity`` and ``project`` (``Api``'s overrides), and ``None`` means every project.

    Raises:
        InvalidNameError: the path has another shape, or an empty part.
    """
    if path is None:
        return ProjectPath(entity, project)
    parts = _split(path, _PROJECT_SHAPES)
    if len(parts) == 1:
        return ProjectPath(entity, parts[0])
    if len(parts) == 2:
        return ProjectPath(parts[0], parts[1])
    raise InvalidNameError(f"invalid project path {_shown(path)}: {_PROJECT_SHAPES}")


def parse_run_path(path: str, entity: str | None = None, project: str | None = None) -> RunPath:
    """A run's path in any shape W&B accepts (see ``_RUN_SHAPES``, and
    ``entity/project/runs/run_id`` as W&B's web addresses end); the parts it leaves out come
    from ``entity`` and ``project``. A run id alone is enough: ids are unique in a store.

    Raises:
        InvalidNameError: the path has another shape, an empty part or a malformed run id.
    """
    parts = _split(path, _RUN_SHAPES)
    if len(parts) == 4 and parts[2] == "runs":
        parts = [parts[0], parts[1], parts[3]]
    if len(parts) == 2 and ":" in parts[1]:
        parts = [parts[0], *parts[1].split(":", 1)]
    elif len(parts) == 1 and ":" in parts[0]:
        parts = parts[0].split(":", 1)
    if len(parts) == 3:
        entity, project, run_id = parts
    elif len(parts) == 2:
        project, run_id = parts
    elif len(parts) == 1:
        run_id = parts[0]
    else:
        raise InvalidNameError(f"invalid run path {_shown(path)}: {_RUN_SHAPES}")
    if not all(parts):
        raise InvalidNameError(f"invalid run path {_shown(path)} (an empty part): {_RUN_SHAPES}")
    return RunPath(entity, project, check_run_id(run_id))


def _split(path: object, shapes: str) -> list[str]:
    if not isinstance(path, str):
        raise InvalidNameError(f"a path is text, not {type(path).__name__}: {shapes}")
    parts = path.strip(" /").split("/")
    if not all(p.strip() for p in parts) or "\x00" in path:
        raise InvalidNameError(f"invalid path {_shown(path)}: {shapes}")
    return [p.strip() for p in parts]


def _shown(path: str) -> str:
    # A hostile path stays one short line in a message.
    return repr(path) if len(path) <= 80 else f"{path[:60]!r}... ({len(path)} characters)"
