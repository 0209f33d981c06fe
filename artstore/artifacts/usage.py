"""What a store really holds: the bytes of the blobs its versions reference, each counted once,
and per artifact what is its own and what it shares with other artifacts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artstore.artifacts.lookup import list_artifacts, list_versions
from artstore.errors import CorruptBlobError, UserError
from artstore.storage import Digest

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository

__all__ = ["ArtifactUsage", "StoreUsage", "usage"]


@dataclass(frozen=True, slots=True)
class ArtifactUsage:
    """The bytes of one artifact: ``logical`` the sum of its versions' sizes (every version's
    files counted in full), ``stored`` the bytes of the distinct blobs they reference (a file's
    one blob or its chunks), of which ``unique`` only this artifact references and ``shared``
    others reference too."""

    name: str
    type: str
    versions: int
    logical: int
    stored: int
    unique: int
    shared: int


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """What the store holds for its artifacts: ``stored`` bytes in ``blobs`` distinct blobs
    (each counted once, whoever references it) for ``logical`` bytes of versions' files;
    ``unreadable`` versions whose manifest could not be read (see ``art verify``) count with
    their size in ``logical`` but reference no blob. ``artifacts`` holds every artifact, or the
    one asked for."""

    artifacts: tuple[ArtifactUsage, ...]
    versions: int
    blobs: int
    logical: int
    stored: int
    unreadable: int

    @property
    def dedup_ratio(self) -> float:
        """``logical / stored``: how many times over the store would hold its files if each
        version kept its own copy (1.0 for an empty store)."""
        return self.logical / self.stored if self.stored else 1.0


def usage(repo: Repository, name: str | None = None) -> StoreUsage:
    """The bytes the store holds, and per artifact (every one, or only ``name``) its logical,
    unique and shared bytes. Every version's manifest is read; no blob is.

    Raises:
        NotFoundError: no artifact named ``name``.
    """
    if name is not None:
        list_versions(repo, name)  # the artifact exists, or NotFoundError names it
    sizes: dict[Digest, int] = {}
    owners: dict[Digest, set[str]] = defaultdict(set)
    logical: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    types: dict[str, str] = {}
    unreadable = 0
    for info in list_artifacts(repo):
        types[info.name] = info.type
        for version in list_versions(repo, info.name):
            counts[info.name] += 1
            logical[info.name] += version.size
            try:
                entries = version.files()
            except (UserError, CorruptBlobError):
                unreadable += 1
                continue
            for entry in entries:
                for blob in entry.blob_refs():
                    sizes[blob.digest] = blob.size
                    owners[blob.digest].add(info.name)
    stored: dict[str, int] = defaultdict(int)
    unique: dict[str, int] = defaultdict(int)
    for digest, holders in owners.items():
        for holder in holders:
            stored[holder] += sizes[digest]
            if len(holders) == 1:
                unique[holder] += sizes[digest]
    shown = [name] if name is not None else sorted(types)
    return StoreUsage(
        artifacts=tuple(
            ArtifactUsage(
                name=n,
                type=types[n],
                versions=counts[n],
                logical=logical[n],
                stored=stored[n],
                unique=unique[n],
                shared=stored[n] - unique[n],
            )
            for n in shown
        ),
        versions=sum(counts.values()),
        blobs=len(sizes),
        logical=sum(logical.values()),
        stored=sum(sizes.values()),
        unreadable=unreadable,
    )
