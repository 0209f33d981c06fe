"""Checking stored versions: every manifest and blob present and hashing to its name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from artstore.artifacts.version import ArtifactVersion
from artstore.errors import CorruptBlobError, NotFoundError, UnsupportedFormatError
from artstore.storage import BlobStore, Digest, Kind

__all__ = ["Problem", "VerifyReport", "verify_versions"]

ProblemKind = Literal["missing", "corrupt", "bad-manifest"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one version: a missing or corrupt file, or an unreadable manifest."""

    version: str
    path: str | None
    kind: ProblemKind
    digest: str
    actual: str | None = None

    def __str__(self) -> str:
        where = f"{self.version} {self.path!r}" if self.path else f"{self.version} manifest"
        if self.kind == "corrupt":
            return f"{where}: corrupt (blob {self.digest} hashes to {self.actual})"
        if self.kind == "missing":
            return f"{where}: missing (blob {self.digest})"
        return f"{where}: unreadable manifest {self.digest}"


@dataclass(slots=True)
class VerifyReport:
    """What a verification read, and what it found wrong."""

    versions: int = 0
    files: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def verify_versions(blobs: BlobStore, versions: Iterable[ArtifactVersion]) -> VerifyReport:
    """Hash every blob the versions reference (each blob once) and report what is wrong."""
    report = VerifyReport()
    checked: dict[Digest, tuple[ProblemKind, str | None] | None] = {}
    for version in versions:
        report.versions += 1
        label = version.qualified_name
        try:
            entries = version.files()
        except (NotFoundError, CorruptBlobError, UnsupportedFormatError):
            report.problems.append(Problem(label, None, "bad-manifest", version.digest))
            continue
        for entry in entries:
            report.files += 1
            if entry.digest not in checked:
                checked[entry.digest] = _check_blob(blobs, entry.digest)
                report.blobs += 1
                report.bytes += entry.size
            outcome = checked[entry.digest]
            if outcome is not None:
                kind, actual = outcome
                report.problems.append(Problem(label, entry.path, kind, entry.digest.hex, actual))
    return report


def _check_blob(blobs: BlobStore, digest: Digest) -> tuple[ProblemKind, str | None] | None:
    try:
        actual = blobs.verify(Kind.BLOB, digest)
    except NotFoundError:
        return ("missing", None)
    return None if actual == digest else ("corrupt", actual.hex)
