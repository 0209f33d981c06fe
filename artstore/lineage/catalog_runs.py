"""The runs of a catalog: their rows, metrics, console output and lineage edges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from artstore.lineage import dashboard, history, queries, run_import, runs, series
from artstore.lineage.records import (
    MetricRecord,
    RunAlert,
    RunFile,
    RunImport,
    RunImportResult,
    RunRecord,
)
from artstore.lineage.transactions import Transactions

__all__ = ["CatalogRuns"]


class CatalogRuns:
    """Reads and writes runs, each call in its own transaction (``catalog.runs``)."""

    def __init__(self, transactions: Transactions, protected: frozenset[str]) -> None:
        self._tx = transactions
        self._protected = protected

    def create(self, **fields: Any) -> RunRecord:
        """Insert a run, ``running`` from now; ``fields`` are :class:`RunRecord` columns."""
        return self._tx.write(lambda s: runs.create_run(s, fields))

    def update(self, run_id: str, **fields: Any) -> RunRecord:
        """Set columns of a run, and its heartbeat.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.write(lambda s: runs.update_run(s, run_id, fields))

    def write_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricRecord],
        console: Sequence[runs.ConsoleValue],
        fields: dict[str, Any],
    ) -> None:
        """One flush of a live run in one transaction: metric rows, console rows (run id, seq,
        stream, text, unix time), changed columns and the heartbeat."""

        def work(session: Session) -> None:
            connection = session.connection()
            runs.append_rows(connection, "metrics", metrics)
            runs.append_rows(connection, "console_lines", console)
            runs.update_columns(connection, run_id, fields)

        self._tx.write(work)

    def import_run(self, spec: RunImport) -> RunImportResult:
        """Merge a run recorded elsewhere (an offline spool) in one transaction: its row, the
        metric, console, file and alert rows it does not have yet, the versions it produced and
        the edges to the versions it used. Nothing is deleted, and importing again adds nothing.

        A metric row is identified by (step, key, value, text, time, media), a console row by (seq,
        stream, time), a kept file or an alert by all its fields.
        A new run gets ``spec.columns``; an existing one gets them only if its heartbeat is not
        later than ``spec.columns["heartbeat_at"]`` (else it was written since, and is kept).
        A version is recorded (as ``catalog.versions.record`` does) unless the run already
        produced one of that name with that digest; a used version is linked only if this
        catalog has it with the same digest.

        Raises:
            RunStateError: the catalog holds another run with this id (its project, user or
                creation time differ); nothing was written.
            ArtifactTypeError: a version's type is not its artifact's; nothing was written.
            ProtectedAliasError: a version would set a protected alias; nothing was written.
            InvalidNameError: a version would set ``latest``; nothing was written.
        """
        return self._tx.write(lambda s: run_import.import_run(s, spec, protected=self._protected))

    def check_import(self, spec: RunImport) -> None:
        """Raise what :meth:`import_run` would raise as the catalog is now; writes nothing.

        Lets a caller refuse before it copies files for the import; :meth:`import_run` checks
        again in its own transaction.

        Raises:
            RunStateError: the catalog holds another run with this id.
            ArtifactTypeError: a version's type is not its artifact's.
            ProtectedAliasError: a version would set a protected alias.
            InvalidNameError: a version would set ``latest``.
        """
        self._tx.read(lambda s: run_import.check_import(s, spec, protected=self._protected))

    def get(self, run_id: str) -> RunRecord:
        """One run.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.get_run(s, run_id))

    def find(self, run_id: str) -> RunRecord | None:
        """One run, or None when there is no such run."""
        return self._tx.read(lambda s: runs.find_run(s, run_id))

    def newest_first(self, project: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally of one project."""
        return self._tx.read(lambda s: runs.list_runs(s, project))

    def history(self, run_id: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A run's metrics, one dict per step with ``_step``, ordered by step."""
        return self._tx.read(lambda s: runs.history(s, run_id, keys))

    def history_page(
        self, run_id: str, keys: Sequence[str], start: int, stop: int | None, steps: int
    ) -> list[dict[str, Any]]:
        """The rows of the first ``steps`` steps in ``[start, stop)`` that logged any of
        ``keys``, holding only those (see :func:`artstore.lineage.history.history_page`);
        empty when none is left.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: history.history_page(s, run_id, keys, start, stop, steps))

    def series(
        self,
        run_id: str,
        key: str,
        *,
        x: series.XAxis = "step",
        points: int = 1000,
        after: int | None = None,
    ) -> series.Series:
        """The numeric points of ``key`` after step ``after``, downsampled in the database to
        about ``points`` (each bucket keeps its lowest and highest point; see
        :func:`artstore.lineage.series.series`).

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(
            lambda s: series.series(s, run_id, key, x=x, points=points, after=after)
        )

    def metric_stats(
        self, run_ids: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, dashboard.MetricStats]]:
        """The lowest, highest and last number of each key for each run, by run id then key."""
        return self._tx.read(lambda s: dashboard.metric_stats(s, run_ids, keys))

    def projects(self) -> list[tuple[str, int]]:
        """(project, number of runs) for every project, by name."""
        return self._tx.read(dashboard.projects)

    def numeric_keys(self, run_ids: Sequence[str]) -> list[str]:
        """The keys under which any of the runs logged a number, sorted."""
        return self._tx.read(lambda s: dashboard.numeric_keys(s, run_ids))

    def console_after(
        self, run_id: str, after: int = 0, contains: str | None = None, limit: int = 1000
    ) -> list[dashboard.ConsoleLine]:
        """Up to ``limit`` console pieces after position ``after`` (holding ``contains``).

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: dashboard.console_after(s, run_id, after, contains, limit))

    def media_steps(self, run_id: str, key: str) -> list[tuple[int, dict[str, Any]]]:
        """(step, reference) of every media value logged under ``key``, by step.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: dashboard.media_steps(s, run_id, key))

    def media_counts(self, run_id: str) -> dict[str, int]:
        """How many media values a run logged, by key, sorted by key.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.media_counts(s, run_id))

    def media_value(
        self, run_id: str, key: str, step: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        """(step, reference) of the media a run logged under ``key`` at ``step`` (or at its last
        step with one), None if there is none.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.media_value(s, run_id, key, step))

    def step_count(self, run_id: str, keys: Sequence[str] | None = None) -> int:
        """How many steps a run logged: any metric, or (``keys``) every one of ``keys``.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.step_count(s, run_id, keys))

    def metric_keys(self, run_id: str) -> list[str]:
        """The metric names a run logged, sorted.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: history.metric_keys(s, run_id))

    def console(self, run_id: str) -> list[tuple[str, str]]:
        """A run's console output as (stream, text) pieces in order."""
        return self._tx.read(lambda s: runs.console(s, run_id))

    def max_step(self, run_id: str) -> int | None:
        """The highest step a run logged, None before its first."""
        return self._tx.read(lambda s: runs.max_step(s, run_id))

    def add_file(self, run_id: str, kept: RunFile) -> None:
        """Record a file kept with a run; its blob must already be in the store.

        Raises:
            NotFoundError: no such run.
        """
        self._tx.write(lambda s: runs.add_files(s, run_id, [kept], merge=False))

    def files(self, run_id: str) -> list[RunFile]:
        """The files kept with a run, each as last saved, sorted by name.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.files(s, run_id))

    def every_file(self) -> list[tuple[str, RunFile]]:
        """(run id, file) for the files kept with every run, each as last saved, by run id
        then name, in one query."""
        return self._tx.read(runs.every_file)

    def every_media(self) -> list[MetricRecord]:
        """Every media value of every run, by run id, step and key, in one query."""
        return self._tx.read(runs.every_media)

    def add_alert(self, run_id: str, alert: RunAlert) -> None:
        """Record an alert a run raised.

        Raises:
            NotFoundError: no such run.
        """
        self._tx.write(lambda s: runs.add_alerts(s, run_id, [alert], merge=False))

    def alerts(self, run_id: str) -> list[RunAlert]:
        """The alerts of a run, oldest first.

        Raises:
            NotFoundError: no such run.
        """
        return self._tx.read(lambda s: runs.alerts(s, run_id))

    def add_edge(self, run_id: str, name: str, number: int, kind: runs.EdgeKind) -> bool:
        """Record that a run used or produced ``name:v<number>``; False if the run is unknown.

        Raises:
            NotFoundError: no such version.
        """

        def work(session: Session) -> bool:
            artifact = queries.require_artifact(session, name)
            version = queries.version_row(session, artifact, number)
            assert version.id is not None
            return runs.add_edge(session, run_id, version.id, kind)

        return self._tx.write(work)

    def edges(self, run_id: str) -> list[tuple[runs.EdgeKind, str, int]]:
        """(kind, artifact name, version number) for each edge of a run, in order recorded."""
        return self._tx.read(lambda s: runs.edges_of_run(s, run_id))
