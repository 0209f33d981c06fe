"""Reading the catalog: artifacts, versions, aliases and alias history, as frozen records.

Every function runs inside a session the :class:`~artstore.lineage.catalog.Catalog` opened,
and answers in a fixed, small number of queries (no query per artifact or per version).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import cast

from sqlalchemy import and_, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from artstore.errors import NotFoundError
from artstore.lineage.records import AliasMove, ArtifactInfo, VersionInfo
from artstore.lineage.tables import AliasHistoryRow, AliasRow, ArtifactRow, VersionRow

__all__ = [
    "VERSION_RE",
    "alias_history",
    "alias_move",
    "every_alias",
    "find_artifact",
    "get_artifact",
    "get_version",
    "list_artifacts",
    "list_versions",
    "missing_alias",
    "missing_version",
    "require_artifact",
    "version_info",
]

VERSION_RE = re.compile(r"v(\d+)")


def find_artifact(session: Session, name: str, *, lock: bool = False) -> ArtifactRow | None:
    """The artifact row named ``name``; ``lock`` takes a row lock where the database has one."""
    statement = select(ArtifactRow).where(ArtifactRow.name == name)
    if lock:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def require_artifact(session: Session, name: str, *, lock: bool = False) -> ArtifactRow:
    """Like :func:`find_artifact`, but a missing artifact raises :class:`NotFoundError`."""
    artifact = find_artifact(session, name, lock=lock)
    if artifact is None:
        raise NotFoundError(f"no artifact named {name!r} in this store; see: art ls")
    return artifact


def missing_alias(session: Session, artifact: ArtifactRow, alias: str) -> NotFoundError:
    """The error for an alias the artifact does not have, listing the ones it has."""
    names = session.exec(
        select(AliasRow.alias).where(AliasRow.artifact_id == artifact.id).order_by(AliasRow.alias)
    ).all()
    have = f"aliases: {', '.join(names)}" if names else "no aliases"
    return NotFoundError(
        f"artifact {artifact.name!r} has no alias {alias!r} ({have}); see: art ls {artifact.name}"
    )


def missing_version(session: Session, artifact: ArtifactRow, number: int) -> NotFoundError:
    """The error for a version number the artifact does not have, naming the range it has."""
    bounds = session.exec(
        select(func.min(VersionRow.number), func.max(VersionRow.number)).where(
            VersionRow.artifact_id == artifact.id
        )
    ).one()
    low, high = cast("tuple[int | None, int | None]", tuple(bounds))
    if low is None or high is None:
        have = "no versions yet"
    elif low == high:
        have = f"only version v{low}"
    else:
        have = f"versions v{low}-v{high}"
    return NotFoundError(
        f"artifact {artifact.name!r} has no version v{number} ({have}); see: art ls {artifact.name}"
    )


def version_row(session: Session, artifact: ArtifactRow, number: int) -> VersionRow:
    """The version with ``number``, or :class:`NotFoundError`."""
    row = session.exec(
        select(VersionRow).where(VersionRow.artifact_id == artifact.id, VersionRow.number == number)
    ).first()
    if row is None:
        raise missing_version(session, artifact, number)
    return row


def _aliases(session: Session, artifact_id: int | None) -> dict[int, list[str]]:
    rows = session.exec(
        select(AliasRow.version_id, AliasRow.alias)
        .where(AliasRow.artifact_id == artifact_id)
        .order_by(AliasRow.alias)
    ).all()
    by_version: dict[int, list[str]] = defaultdict(list)
    for version_id, alias in rows:
        by_version[version_id].append(alias)
    return by_version


def version_info(artifact: ArtifactRow, row: VersionRow, aliases: list[str]) -> VersionInfo:
    """The frozen record of a version row."""
    return VersionInfo(
        artifact=artifact.name,
        type=artifact.type,
        number=row.number,
        digest=row.digest,
        size=row.size,
        file_count=row.file_count,
        metadata=dict(row.meta),
        created_by_run=row.created_by_run,
        created_by_user=row.created_by_user,
        created_at=row.created_at,
        aliases=tuple(sorted(aliases)),
        new_bytes=row.new_bytes,
    )


def version_info_with_aliases(
    session: Session, artifact: ArtifactRow, row: VersionRow
) -> VersionInfo:
    """The frozen record of a version row, with the aliases that point at it now."""
    aliases = session.exec(select(AliasRow.alias).where(AliasRow.version_id == row.id)).all()
    return version_info(artifact, row, list(aliases))


def alias_move(artifact: ArtifactRow, row: AliasHistoryRow) -> AliasMove:
    """The frozen record of an alias history row."""
    return AliasMove(
        artifact=artifact.name,
        alias=row.alias,
        from_number=row.from_version,
        to_number=row.to_version,
        at=row.at,
        who=row.who,
        run_id=row.run_id,
        ci_job=row.ci_job,
        reason=row.reason,
    )


def get_version(session: Session, name: str, selector: str) -> VersionInfo:
    """Resolve ``"v3"`` or an alias (``latest`` included) to a version of ``name``."""
    artifact = require_artifact(session, name)
    match = VERSION_RE.fullmatch(selector)
    if match:
        row = version_row(session, artifact, int(match.group(1)))
    else:
        found = session.exec(
            select(VersionRow)
            .join(AliasRow, col(AliasRow.version_id) == col(VersionRow.id))
            .where(AliasRow.artifact_id == artifact.id, AliasRow.alias == selector)
        ).first()
        if found is None:
            raise missing_alias(session, artifact, selector)
        row = found
    return version_info_with_aliases(session, artifact, row)


def _artifact_infos(session: Session, *, name: str | None, type: str | None) -> list[ArtifactInfo]:
    stats = (
        select(
            col(VersionRow.artifact_id).label("artifact_id"),
            func.count(col(VersionRow.id)).label("count"),
            func.max(VersionRow.number).label("newest"),
        )
        .group_by(col(VersionRow.artifact_id))
        .subquery()
    )
    newest = aliased(VersionRow)
    statement = (
        select(ArtifactRow, stats.c.count, stats.c.newest, newest.size)
        .outerjoin(stats, stats.c.artifact_id == ArtifactRow.id)
        .outerjoin(
            newest,
            and_(
                col(newest.artifact_id) == col(ArtifactRow.id),
                col(newest.number) == stats.c.newest,
            ),
        )
        .order_by(col(ArtifactRow.name))
    )
    if name is not None:
        statement = statement.where(ArtifactRow.name == name)
    if type is not None:
        statement = statement.where(ArtifactRow.type == type)
    return [
        ArtifactInfo(
            name=row.name,
            type=row.type,
            description=row.description,
            created_at=row.created_at,
            version_count=count or 0,
            latest_number=latest,
            size=size or 0,
        )
        for row, count, latest, size in session.exec(statement).all()
    ]


def get_artifact(session: Session, name: str) -> ArtifactInfo:
    """The artifact named ``name``, or :class:`NotFoundError`."""
    found = _artifact_infos(session, name=name, type=None)
    if not found:
        require_artifact(session, name)  # raises NotFoundError
    return found[0]


def list_artifacts(session: Session, type: str | None = None) -> list[ArtifactInfo]:
    """All artifacts (of ``type``, when given), sorted by name; one query."""
    return _artifact_infos(session, name=None, type=type)


def every_alias(session: Session) -> dict[str, dict[str, int]]:
    """Where each alias of every artifact points (name -> alias -> version number); one query."""
    rows = session.exec(
        select(ArtifactRow.name, AliasRow.alias, VersionRow.number)
        .join(AliasRow, col(AliasRow.artifact_id) == col(ArtifactRow.id))
        .join(VersionRow, col(VersionRow.id) == col(AliasRow.version_id))
        .order_by(col(ArtifactRow.name), col(AliasRow.alias))
    ).all()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for name, alias, number in rows:
        found[name][alias] = number
    return dict(found)


def list_versions(session: Session, name: str) -> list[VersionInfo]:
    """The versions of ``name`` in ascending number, each with its aliases."""
    artifact = require_artifact(session, name)
    rows = session.exec(
        select(VersionRow)
        .where(VersionRow.artifact_id == artifact.id)
        .order_by(col(VersionRow.number))
    ).all()
    aliases = _aliases(session, artifact.id)
    return [version_info(artifact, row, aliases.get(row.id or 0, [])) for row in rows]


def alias_history(session: Session, name: str, alias: str | None = None) -> list[AliasMove]:
    """The alias moves of ``name`` (of one ``alias``, when given) in the order they happened."""
    artifact = require_artifact(session, name)
    statement = select(AliasHistoryRow).where(AliasHistoryRow.artifact_id == artifact.id)
    if alias is not None:
        statement = statement.where(AliasHistoryRow.alias == alias)
    rows = session.exec(statement.order_by(col(AliasHistoryRow.id))).all()
    return [alias_move(artifact, row) for row in rows]
