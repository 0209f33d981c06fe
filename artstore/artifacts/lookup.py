"""Finding versions in a repository: by reference, of one artifact, or every one.

Every :class:`ArtifactVersion` handed out is made by :func:`make_version`, so none downloads
over the store's own folder or its catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artstore.artifacts.names import Ref, check_name
from artstore.artifacts.version import ArtifactVersion

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import VersionInfo

__all__ = ["every_version", "find_version", "list_versions", "make_version"]


def make_version(repo: Repository, info: VersionInfo, *, created: bool = True) -> ArtifactVersion:
    """The version a catalog row describes, reading its files from ``repo``."""
    return ArtifactVersion(info, repo.blobs, created=created, keep_out=repo.keep_out())


def find_version(repo: Repository, ref: str) -> ArtifactVersion:
    """The version ``name:v3``, ``name:alias`` or ``name`` (latest).

    Raises:
        InvalidNameError: the reference is malformed.
        NotFoundError: no such artifact, version or alias.
    """
    parsed = Ref.parse(ref)
    return make_version(repo, repo.catalog.versions.get(parsed.name, parsed.selector))


def list_versions(repo: Repository, name: str) -> list[ArtifactVersion]:
    """Every version of the artifact ``name``, oldest first.

    Raises:
        NotFoundError: no artifact named ``name``.
    """
    return [make_version(repo, v) for v in repo.catalog.versions.of(check_name(name))]


def every_version(repo: Repository) -> list[ArtifactVersion]:
    """Every version of every artifact, by artifact name, then oldest first."""
    return [v for a in repo.catalog.versions.artifacts(None) for v in list_versions(repo, a.name)]
