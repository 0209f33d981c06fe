"""Writing the catalog: recording versions and moving aliases, each in one transaction.

Correctness under concurrent writers comes from the database, never from a read-then-write in
Python: SQLite write transactions start with ``BEGIN IMMEDIATE`` (one writer at a time), on
PostgreSQL the artifact row is locked ``FOR UPDATE`` before anything about it is read, and the
unique constraints on (artifact, number) and (artifact, alias) turn any race that slips past
into an ``IntegrityError`` on which the catalog rolls back and runs the whole function again.

The rules of aliases are checked here too, inside the transaction that writes, so that no
caller can skip them: ``latest`` is kept by the catalog alone, a protected alias moves only
by a :class:`~artstore.lineage.records.Promotion`, an artifact keeps the type of its first
version, and a compare-and-swap move checks its expected holder under the artifact's lock.
Every write function takes ``protected`` as a required keyword, so a new caller cannot skip
the rule by leaving it out.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

from sqlmodel import Session, col, select

from artstore.errors import (
    AliasConflictError,
    ArtifactTypeError,
    InvalidNameError,
    ProtectedAliasError,
)
from artstore.lineage.queries import (
    alias_move,
    find_artifact,
    missing_alias,
    require_artifact,
    version_info_with_aliases,
    version_row,
)
from artstore.lineage.records import Actor, AliasMove, LogResult, NewVersion, Promotion
from artstore.lineage.runs import add_edge
from artstore.lineage.tables import AliasHistoryRow, AliasRow, ArtifactRow, VersionRow, utcnow

__all__ = ["LATEST", "check_settable", "move_alias", "record_version", "remove_alias"]

LATEST = "latest"


def check_settable(
    name: str,
    aliases: Iterable[str],
    protected: Collection[str],
    promotion: Promotion | None = None,
) -> None:
    """Refuse to set or remove ``latest``, or a protected alias other than by a promotion.

    Raises:
        InvalidNameError: an alias is ``latest``.
        ProtectedAliasError: an alias is in ``protected`` and ``promotion`` is None.
    """
    for alias in aliases:
        if alias == LATEST:
            raise InvalidNameError(
                "alias 'latest' is kept by the store on the highest version; choose another alias"
            )
        if alias in protected and promotion is None:
            raise ProtectedAliasError(name, alias)


def record_version(
    session: Session,
    new: NewVersion,
    actor: Actor,
    *,
    protected: Collection[str],
) -> LogResult:
    """Record ``new`` unless the newest version of its artifact already has its digest.

    See :meth:`artstore.lineage.catalog_versions.CatalogVersions.record` for the contract.
    """
    check_settable(new.name, new.aliases, protected)
    artifact = _lock_or_create_artifact(session, new.name, new.type, new.description)
    newest = session.exec(
        select(VersionRow)
        .where(VersionRow.artifact_id == artifact.id)
        .order_by(col(VersionRow.number).desc())
        .limit(1)
    ).first()
    # Compare in JSON form, as stored: a tuple given and a list stored are the same value.
    given: dict[str, Any] = json.loads(json.dumps(new.metadata))
    if newest is not None and newest.digest == new.digest:
        version, stored = newest, newest.meta
        ignored = tuple(sorted(k for k, v in given.items() if k not in stored or stored[k] != v))
        return _finish(session, artifact, version, new.aliases, actor, ignored)
    version = VersionRow(
        artifact_id=_id(artifact),
        number=0 if newest is None else newest.number + 1,
        digest=new.digest,
        size=new.size,
        file_count=new.file_count,
        new_bytes=new.new_bytes,
        meta=given,
        created_by_run=actor.run_id,
        created_by_user=actor.who,
    )
    session.add(version)
    session.flush()  # the UNIQUE(artifact_id, number) check happens here
    return _finish(session, artifact, version, new.aliases, actor, None)


def _finish(
    session: Session,
    artifact: ArtifactRow,
    version: VersionRow,
    aliases: Sequence[str],
    actor: Actor,
    ignored: tuple[str, ...] | None,
) -> LogResult:
    if actor.run_id is not None:
        assert version.id is not None
        add_edge(session, actor.run_id, version.id, "produced")
    # `version` is the highest number either way: the newest, or the newest + 1.
    for alias in dict.fromkeys([LATEST, *aliases]):
        _point(session, artifact, alias, version, actor)
    info = version_info_with_aliases(session, artifact, version)
    # ignored is None exactly when the version was created.
    return LogResult(version=info, created=ignored is None, ignored_metadata_keys=ignored or ())


def move_alias(
    session: Session,
    name: str,
    alias: str,
    number: int,
    *,
    actor: Actor,
    expect: int | Literal["any"] | None = "any",
    protected: Collection[str],
    promotion: Promotion | None = None,
) -> AliasMove:
    """Point ``alias`` of ``name`` at version ``number``, with its history row.

    A move to where the alias already points writes no history row; the returned move then
    has ``from_number == to_number``. Unless ``expect`` is ``"any"``, the alias must point at
    version ``expect`` (None: nowhere) when the move happens, or nothing is written. A
    protected alias moves only with a ``promotion``.
    """
    check_settable(name, [alias], protected, promotion)
    artifact = require_artifact(session, name, lock=True)
    version = version_row(session, artifact, number)
    if expect != "any":
        _check_holder(session, artifact, alias, expect)
    move = _point(session, artifact, alias, version, actor)
    if move is None:
        return AliasMove(
            artifact=name,
            alias=alias,
            from_number=number,
            to_number=number,
            at=utcnow(),
            who=actor.who,
            run_id=actor.run_id,
            ci_job=actor.ci_job,
            reason=actor.reason,
        )
    return move


def remove_alias(
    session: Session,
    name: str,
    alias: str,
    *,
    actor: Actor,
    expect: int | Literal["any"] = "any",
    protected: Collection[str],
) -> AliasMove:
    """Remove ``alias`` from ``name``, with its history row (``to_number`` None); neither
    ``latest`` nor a protected alias is ever removed. Unless ``expect`` is ``"any"``, the
    alias must point at version ``expect`` when it is removed, or nothing is written."""
    check_settable(name, [alias], protected)
    artifact = require_artifact(session, name, lock=True)
    row = _alias_row(session, artifact, alias)
    if row is None:
        raise missing_alias(session, artifact, alias)
    if expect != "any":
        _check_holder(session, artifact, alias, expect)
    from_number = _number_of(session, row.version_id)
    session.delete(row)
    return _history(session, artifact, alias, from_number, None, actor)


def _check_holder(session: Session, artifact: ArtifactRow, alias: str, expect: int | None) -> None:
    # Called under the artifact lock, so no other move can slip in before ours.
    row = _alias_row(session, artifact, alias)
    actual = None if row is None else _number_of(session, row.version_id)
    if actual != expect:
        raise AliasConflictError(
            artifact.name,
            alias,
            expect,
            actual,
            f"nothing was moved; see: art alias log {artifact.name} {alias}",
        )


def _lock_or_create_artifact(
    session: Session, name: str, type: str, description: str | None
) -> ArtifactRow:
    artifact = find_artifact(session, name, lock=True)
    if artifact is None:
        artifact = ArtifactRow(name=name, type=type, description=description)
        session.add(artifact)
        session.flush()  # a concurrent creator makes this fail on UNIQUE(name): retried
        return artifact
    if artifact.type != type:
        raise ArtifactTypeError(name, artifact.type, type)
    if description is not None and description != artifact.description:
        artifact.description = description
        session.add(artifact)
    return artifact


def _alias_row(session: Session, artifact: ArtifactRow, alias: str) -> AliasRow | None:
    return session.exec(
        select(AliasRow)
        .where(AliasRow.artifact_id == artifact.id, AliasRow.alias == alias)
        .with_for_update()
    ).first()


def _number_of(session: Session, version_id: int) -> int:
    return session.exec(select(VersionRow.number).where(VersionRow.id == version_id)).one()


def _point(
    session: Session,
    artifact: ArtifactRow,
    alias: str,
    version: VersionRow,
    actor: Actor,
) -> AliasMove | None:
    # Returns None, and writes no history, when the alias already points at `version`.
    row = _alias_row(session, artifact, alias)
    if row is None:
        from_number = None
        session.add(AliasRow(artifact_id=_id(artifact), alias=alias, version_id=_id(version)))
    elif row.version_id == version.id:
        return None
    else:
        from_number = _number_of(session, row.version_id)
        row.version_id = _id(version)
        session.add(row)
    return _history(session, artifact, alias, from_number, version.number, actor)


def _history(
    session: Session,
    artifact: ArtifactRow,
    alias: str,
    from_number: int | None,
    to_number: int | None,
    actor: Actor,
) -> AliasMove:
    row = AliasHistoryRow(
        artifact_id=_id(artifact),
        alias=alias,
        from_version=from_number,
        to_version=to_number,
        who=actor.who,
        run_id=actor.run_id,
        ci_job=actor.ci_job,
        reason=actor.reason,
    )
    session.add(row)
    session.flush()  # the UNIQUE(artifact_id, alias) check of a new alias happens here
    return alias_move(artifact, row)


def _id(row: ArtifactRow | VersionRow) -> int:
    # Rows are flushed before their id is used, so the id is always set here.
    assert row.id is not None
    return row.id
