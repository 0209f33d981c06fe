"""Merging a run recorded elsewhere (an offline spool) into the catalog, in one transaction.

The merge never deletes and never doubles: a metric row is identified by (step, key, value,
text, time, media), a console row by (seq, stream, time), a kept file or an alert by all its fields,
and only rows the run does not have yet are inserted, so rows another writer added (a resumed
online run) stay, and a repeated import adds nothing. The run's columns are taken from the
import only when the catalog has nothing newer: a run whose heartbeat is later than the
import's last one (resumed online since) keeps its columns.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from artstore.errors import ArtifactTypeError, InvalidArgumentError, RunStateError
from artstore.lineage import queries, runs, versions
from artstore.lineage.records import (
    ImportedVersion,
    NewVersion,
    RunImport,
    RunImportResult,
    UsedVersion,
)
from artstore.lineage.tables import ArtifactRow, EdgeRow, RunRow, VersionRow

__all__ = ["IDENTITY_COLUMNS", "check_import", "import_run"]

# Columns a spool's run shares with the catalog's run of the same id when it is the same run.
IDENTITY_COLUMNS = ("project", "user", "created_at")


def import_run(session: Session, spec: RunImport, *, protected: Collection[str]) -> RunImportResult:
    """Merge ``spec`` into the catalog; see
    :meth:`artstore.lineage.catalog_runs.CatalogRuns.import_run`."""
    _check_aliases(spec, protected)
    created, applied = _merge_columns(session, spec)
    connection = session.connection()
    new_metrics = runs.merge_rows(connection, "metrics", spec.run_id, spec.metrics)
    new_console = runs.merge_rows(connection, "console_lines", spec.run_id, spec.console)
    new_files = runs.add_files(session, spec.run_id, spec.files, merge=True)
    new_alerts = runs.add_alerts(session, spec.run_id, spec.alerts, merge=True)
    produced: list[str] = []
    used: list[str] = []
    skipped: list[str] = []
    for item in spec.lineage:
        if isinstance(item, ImportedVersion):
            produced.append(_produce(session, spec, item, protected))
        elif _use(session, spec.run_id, item):
            used.append(f"{item.name}:v{item.number}")
        else:
            skipped.append(f"{item.name}:v{item.number}")
    return RunImportResult(
        created=created,
        columns_applied=applied,
        new_metrics=new_metrics,
        new_console=new_console,
        produced=tuple(produced),
        used=tuple(used),
        skipped_uses=tuple(skipped),
        new_files=new_files,
        new_alerts=new_alerts,
    )


def check_import(session: Session, spec: RunImport, *, protected: Collection[str]) -> None:
    """Raise what :func:`import_run` would raise as the catalog is now, writing nothing."""
    row = session.get(RunRow, spec.run_id)
    if row is not None:
        _check_identity(row, spec)
    _check_aliases(spec, protected)
    for item in spec.lineage:
        if isinstance(item, ImportedVersion):
            artifact = queries.find_artifact(session, item.name)
            if artifact is not None and artifact.type != item.type:
                raise ArtifactTypeError(item.name, artifact.type, item.type)


def _check_aliases(spec: RunImport, protected: Collection[str]) -> None:
    if spec.actor.run_id != spec.run_id:
        raise InvalidArgumentError(
            f"an import of run {spec.run_id!r} is written by that run, not by "
            f"{spec.actor.run_id!r}; build its actor with run_id={spec.run_id!r}"
        )
    # Before anything is written, also for a version imported before (which sets no alias).
    for item in spec.lineage:
        if isinstance(item, ImportedVersion):
            versions.check_settable(item.name, item.aliases, protected)


def _check_identity(row: RunRow, spec: RunImport) -> None:
    for name in IDENTITY_COLUMNS:
        if getattr(row, name) != spec.columns[name]:
            raise RunStateError(
                f"run {spec.run_id!r} in the catalog is another run (its {name} is "
                f"{getattr(row, name)!s}, not {spec.columns[name]!s}); nothing was written"
            )


def _merge_columns(session: Session, spec: RunImport) -> tuple[bool, bool]:
    # FOR UPDATE (PostgreSQL) queues a concurrent import of the same run behind this one, so
    # the second sees the first's rows and adds none of them again.
    row = session.exec(select(RunRow).where(RunRow.id == spec.run_id).with_for_update()).first()
    if row is None:
        session.add(RunRow(id=spec.run_id, **{"status": "running", **spec.columns}))
        session.flush()  # a concurrent import of a new run fails here, and is retried
        return True, True
    _check_identity(row, spec)
    if row.heartbeat_at > spec.columns["heartbeat_at"]:
        return False, False
    for key, value in spec.columns.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    return False, True


def _produce(
    session: Session, spec: RunImport, item: ImportedVersion, protected: Collection[str]
) -> str:
    # A version this run already produced with that content was imported before: keep it
    # (and its aliases, which may have moved since) as it is.
    number = session.exec(
        select(VersionRow.number)
        .join(EdgeRow, col(EdgeRow.version_id) == VersionRow.id)
        .join(ArtifactRow, col(ArtifactRow.id) == VersionRow.artifact_id)
        .where(
            EdgeRow.run_id == spec.run_id,
            EdgeRow.kind == "produced",
            ArtifactRow.name == item.name,
            VersionRow.digest == item.digest,
        )
        .order_by(col(EdgeRow.id))
        .limit(1)
    ).first()
    if number is not None:
        return f"{item.name}:v{number}"
    new = NewVersion(
        name=item.name,
        type=item.type,
        description=item.description,
        digest=item.digest,
        size=item.size,
        file_count=item.file_count,
        metadata=item.metadata,
        aliases=item.aliases,
    )
    result = versions.record_version(session, new, spec.actor, protected=protected)
    return f"{item.name}:v{result.version.number}"


def _use(session: Session, run_id: str, item: UsedVersion) -> bool:
    artifact = queries.find_artifact(session, item.name)
    if artifact is None:
        return False
    row = session.exec(
        select(VersionRow).where(
            VersionRow.artifact_id == artifact.id, VersionRow.number == item.number
        )
    ).first()
    # Another store, or another history: the same name and number may hold other content.
    if row is None or row.digest != item.digest:
        return False
    assert row.id is not None
    return runs.add_edge(session, run_id, row.id, "used")
