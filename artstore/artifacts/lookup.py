"""Finding versions in a repository: by reference, of one artifact, or every one; and
using one, which records the run's "used" edge.

Every :class:`ArtifactVersion` handed out is made by :func:`make_version`, so none downloads
over the store's own folder or its catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artstore.artifacts.names import Ref, check_name
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import InvalidArgumentError

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import ArtifactInfo, VersionInfo

__all__ = [
    "check_version_type",
    "every_alias",
    "every_version",
    "get_artifact",
    "get_version",
    "list_artifacts",
    "list_versions",
    "make_version",
    "use_version",
]


def make_version(
    repo: Repository, info: VersionInfo, *, created: bool = True, new_bytes: int | None = None
) -> ArtifactVersion:
    """The version a catalog row describes, reading its files from ``repo`` (``created`` and
    ``new_bytes``: what the put that returns it did)."""
    return ArtifactVersion(
        info, repo.blobs, created=created, new_bytes=new_bytes, keep_out=repo.keep_out
    )


def get_version(repo: Repository, ref: str) -> ArtifactVersion:
    """The version ``name:v3``, ``name:alias`` or ``name`` (latest).

    Raises:
        InvalidNameError: the reference is malformed.
        NotFoundError: no such artifact, version or alias.
    """
    parsed = Ref.parse(ref)
    return make_version(repo, repo.catalog.versions.get(parsed.name, parsed.selector))


def use_version(
    repo: Repository, ref: str, *, run_id: str | None, type: str | None = None
) -> ArtifactVersion:
    """The version ``ref`` names, recording that the run ``run_id`` used it (a run the
    catalog lacks is warned about, and nothing is recorded).

    Raises:
        InvalidNameError: the reference is malformed.
        NotFoundError: no such artifact, version or alias.
        InvalidArgumentError: ``type`` is given and is not the version's (nothing recorded).
    """
    version = get_version(repo, ref)
    check_version_type(version, type)
    if run_id is not None and not repo.catalog.runs.add_edge(
        run_id, version.name, version.number, "used"
    ):
        repo.unknown_run(run_id)
    return version


def check_version_type(version: ArtifactVersion, type: str | None) -> None:
    """Refuse ``version`` if ``type`` is given and is not its type (W&B's ``use_artifact(type=)``).

    Raises:
        InvalidArgumentError: the version is of another type.
    """
    if type is not None and version.type != type:
        raise InvalidArgumentError(
            f"{version.qualified_name} is of type {version.type!r}, not {type!r}; nothing recorded"
        )


def get_artifact(repo: Repository, name: str) -> ArtifactInfo:
    """The artifact ``name``: its type, description, version count and latest version.

    Raises:
        InvalidNameError: ``name`` is malformed.
        NotFoundError: no artifact named ``name``.
    """
    return repo.catalog.versions.artifact(check_name(name))


def list_artifacts(repo: Repository, type: str | None = None) -> list[ArtifactInfo]:
    """Every artifact (optionally of one type), sorted by name."""
    return repo.catalog.versions.artifacts(type)


def list_versions(repo: Repository, name: str) -> list[ArtifactVersion]:
    """Every version of the artifact ``name``, oldest first.

    Raises:
        NotFoundError: no artifact named ``name``.
    """
    return [make_version(repo, v) for v in repo.catalog.versions.of(check_name(name))]


def every_alias(repo: Repository) -> dict[str, dict[str, int]]:
    """Where each alias of every artifact points (name -> alias -> version number), ``latest``
    included; one catalog query."""
    return repo.catalog.versions.aliases()


def every_version(repo: Repository) -> list[ArtifactVersion]:
    """Every version of every artifact, by artifact name, then oldest first."""
    return [v for a in repo.catalog.versions.artifacts(None) for v in list_versions(repo, a.name)]
