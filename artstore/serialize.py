"""Every ``--json`` document, built once for every front end (the ``art`` CLI, a dashboard).

Each function takes the library's own result objects and returns the JSON-ready document
docs/cli.md documents; :func:`dumps` turns a document into the text the CLI prints. Front
ends add nothing to a document: a field they need belongs here, and in docs/cli.md.
Fields are only ever added to (docs/cli.md, "Output").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artstore.artifacts import (
        ArtifactVersion,
        Check,
        Diff,
        FileEntry,
        Problem,
        PromotionResult,
        RunFileInfo,
        RunInfo,
        Store,
        TensorChange,
        TensorDiff,
        VerifyReport,
    )
    from artstore.artifacts.usage import StoreUsage
    from artstore.lineage import AliasMove, ArtifactInfo, LineageGraph, RunAlert
    from artstore.lineage.catalog_sweeps import SweepRecord, TrialRecord
    from artstore.lineage.dashboard import ConsoleLine
    from artstore.lineage.series import Series
    from artstore.sweeps import AgentResult, SweepView
    from artstore.tracker import Run, SyncResult

__all__ = [
    "agent_json",
    "alert_json",
    "artifact_detail_json",
    "artifact_json",
    "artifact_summary_json",
    "console_line_json",
    "deduplicated",
    "diff_json",
    "downloaded_json",
    "dumps",
    "error_line",
    "file_json",
    "history_json",
    "iso_time",
    "lineage_json",
    "lineage_text",
    "logged_json",
    "move_json",
    "promotion_json",
    "run_detail_json",
    "run_exit_json",
    "run_file_json",
    "run_json",
    "run_row_json",
    "series_json",
    "store_json",
    "sweep_json",
    "sweep_view_json",
    "sync_json",
    "trial_json",
    "usage_json",
    "verify_json",
    "version_files_json",
    "version_json",
]


def dumps(document: Any, *, indent: int | None = 2) -> str:
    """The JSON text of ``document``: indented (compact with ``indent=None``), UTF-8 as is,
    always valid JSON.

    JSON has no NaN or infinity: they are written as the strings ``"NaN"``, ``"Infinity"``
    and ``"-Infinity"``.
    """
    separators = None if indent is not None else (",", ":")
    options: dict[str, Any] = {"indent": indent, "separators": separators, "ensure_ascii": False}
    try:
        return json.dumps(document, default=str, allow_nan=False, **options)
    except ValueError:  # a non-finite float somewhere
        return json.dumps(_finite(document), default=str, **options)


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def _version_label(number: int | None) -> str | None:
    return None if number is None else f"v{number}"


def iso_time(moment: datetime) -> str:
    """A time as every document writes it: ISO 8601 UTC with microseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error_line(message: str, exit_code: int) -> str:
    """The one-line JSON error ``art --json`` prints on stderr after the ``art:`` line."""
    return json.dumps({"error": message, "code": exit_code})


def store_json(store: Store) -> dict[str, Any]:
    """``art init``: where the store is, its id and its catalog."""
    return {"url": store.url, "id": store.blobs.id, "catalog": store.catalog.url}


def version_json(version: ArtifactVersion) -> dict[str, Any]:
    """The version object (``art ls NAME`` lists them)."""
    new_bytes = version.new_bytes
    return {
        "name": version.name,
        "version": version.version,
        "number": version.number,
        "type": version.type,
        "digest": version.digest,
        "size": version.size,
        "files": version.file_count,
        "aliases": list(version.aliases),
        "metadata": version.metadata,
        "created_by": version.created_by,
        "created_by_user": version.created_by_user,
        "created_at": iso_time(version.created_at),
        "new_bytes": new_bytes,
        "deduplicated": None if new_bytes is None else deduplicated(version.size, new_bytes),
    }


def logged_json(version: ArtifactVersion) -> dict[str, Any]:
    """``art put``: the version object and whether this put created it."""
    return {**version_json(version), "created": version.created}


def deduplicated(size: int, new_bytes: int) -> float:
    """The share (0-1) of ``size`` bytes that a put did not write, since the store held them
    already: 0.0 when every byte was new (or there were none), 1.0 when none was. (A store's
    ``dedup_ratio`` is a factor instead: logical bytes over stored bytes.)"""
    return round(1 - new_bytes / size, 4) if size else 0.0


def downloaded_json(version: ArtifactVersion, path: Path) -> dict[str, Any]:
    """``art get``: the version object and where it (or its one file) was written."""
    return {**version_json(version), "path": str(path)}


def artifact_json(info: ArtifactInfo) -> dict[str, Any]:
    """One artifact of ``art ls``."""
    return {
        "name": info.name,
        "type": info.type,
        "description": info.description,
        "versions": info.version_count,
        "latest": _version_label(info.latest_number),
        "size": info.size,
        "created_at": iso_time(info.created_at),
    }


def artifact_summary_json(info: ArtifactInfo, aliases: Mapping[str, int]) -> dict[str, Any]:
    """One artifact of ``art ui``'s list: the ``art ls`` object and where each alias points."""
    return {
        **artifact_json(info),
        "aliases": {alias: f"v{number}" for alias, number in sorted(aliases.items())},
    }


def artifact_detail_json(
    info: ArtifactInfo, versions: Iterable[ArtifactVersion], moves: Iterable[AliasMove]
) -> dict[str, Any]:
    """One artifact in ``art ui``: the ``art ls`` object, its versions (oldest first) and
    every move of its aliases (``art alias log``)."""
    return {
        "artifact": artifact_json(info),
        "versions": [version_json(v) for v in versions],
        "alias_history": [move_json(m) for m in moves],
    }


def version_files_json(version: ArtifactVersion, entries: Iterable[FileEntry]) -> dict[str, Any]:
    """One version in ``art ui``: the version object and its files, each with how many
    pieces it is stored in (0: whole)."""
    return {
        "version": version_json(version),
        "files": [{**file_json(e), "chunks": len(e.chunks)} for e in entries],
    }


def file_json(entry: FileEntry) -> dict[str, Any]:
    """One file of ``art ls NAME:REF``."""
    return {
        "path": entry.path,
        "size": entry.size,
        "digest": entry.digest.hex,
        "executable": entry.executable,
    }


def move_json(move: AliasMove) -> dict[str, Any]:
    """The alias move object (``art alias set|rm``, and ``art alias log`` lists them)."""
    return {
        "name": move.artifact,
        "alias": move.alias,
        "from": _version_label(move.from_number),
        "to": _version_label(move.to_number),
        "at": iso_time(move.at),
        "who": move.who,
        "run_id": move.run_id,
        "ci_job": move.ci_job,
        "reason": move.reason,
    }


def promotion_json(result: PromotionResult) -> dict[str, Any]:
    """``art promote``: the checks, the verdict, and the move when there was one."""
    moved = move_json(result.move) if result.move is not None else {}
    return {
        "name": result.version.name,
        "alias": result.alias,
        "version": result.version.version,
        "number": result.version.number,
        "from": _version_label(result.previous),
        "passed": result.passed,
        "moved": result.moved,
        "checks": [_check_json(c) for c in result.checks],
        **{key: moved.get(key) for key in ("at", "who", "run_id", "ci_job", "reason")},
    }


def _check_json(check: Check) -> dict[str, Any]:
    req = check.requirement
    return {
        "requirement": str(req),
        "field": req.field,
        "op": req.op,
        "left": check.left,
        "right": check.right,
        "right_version": _version_label(check.right_version),
        "passed": check.passed,
        "note": check.note,
    }


def diff_json(diff: Diff) -> dict[str, Any]:
    """``art diff``: files added, removed and changed, and the changed tensors."""
    return {
        "a": diff.a,
        "b": diff.b,
        "identical": diff.identical,
        "added": [{"path": f.path, "size": f.size} for f in diff.added],
        "removed": [{"path": f.path, "size": f.size} for f in diff.removed],
        "changed": [{"path": f.path, "size_a": f.size_a, "size_b": f.size_b} for f in diff.changed],
        "unchanged": diff.unchanged,
        "bytes_added": diff.bytes_added,
        "bytes_removed": diff.bytes_removed,
        "bytes_changed": diff.bytes_changed,
        "tensors": [_tensor_json(t) for t in diff.tensors],
    }


def _tensor_json(tensors: TensorDiff) -> dict[str, Any]:
    return {
        "path": tensors.path,
        "unchanged": tensors.unchanged,
        "metadata_changed": tensors.metadata_changed,
        "changes": [_change_json(c) for c in tensors.changes],
    }


def _change_json(change: TensorChange) -> dict[str, Any]:
    return {
        "name": change.name,
        "kind": change.kind,
        "dtype_a": change.dtype_a,
        "dtype_b": change.dtype_b,
        "shape_a": None if change.shape_a is None else list(change.shape_a),
        "shape_b": None if change.shape_b is None else list(change.shape_b),
        "max_abs_diff": change.max_abs_diff,
        "rel_l2": change.rel_l2,
    }


def run_json(run: RunInfo) -> dict[str, Any]:
    """The run object (``art runs`` lists them)."""
    r = run.record
    return {
        "id": r.id,
        "project": r.project,
        "name": r.name,
        "state": r.status,
        "config": r.config,
        "summary": r.summary,
        "tags": list(r.tags),
        "notes": r.notes,
        "user": r.user,
        "host": r.host,
        "python": r.python,
        "command": r.command,
        "git_commit": r.git_commit,
        "git_dirty": r.git_dirty,
        "exit_code": r.exit_code,
        "created_at": iso_time(r.created_at),
        "finished_at": None if r.finished_at is None else iso_time(r.finished_at),
        "heartbeat_at": iso_time(r.heartbeat_at),
        "entity": r.entity,
    }


def run_row_json(run: RunInfo, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row of the UI's runs table: the run's identity, state, tags and times, and only the
    ``values`` of the columns the table shows (``config.lr``, ``summary.acc``,
    ``metric.loss.min``, ...)."""
    r = run.record
    end = r.finished_at or r.heartbeat_at
    return {
        "id": r.id,
        "project": r.project,
        "name": r.name,
        "state": r.status,
        "tags": list(r.tags),
        "created_at": iso_time(r.created_at),
        "finished_at": None if r.finished_at is None else iso_time(r.finished_at),
        "duration": max(0.0, (end - r.created_at).total_seconds()),
        "values": dict(values),
    }


def series_json(series: Series) -> dict[str, Any]:
    """One run's points of one metric for a chart (``/api/series``): ``x`` and ``y`` in step
    order (an infinite ``y`` as null, a gap: ``non_finite`` counts them), and ``downsampled``
    (the points logged and the buckets that kept their lowest and highest) when not every
    point is sent."""
    xs = list(series.steps) if series.x == "step" else list(series.xs)
    ys = [y if math.isfinite(y) else None for y in series.ys]
    downsampled = None
    if series.buckets is not None:
        downsampled = {"points": series.total, "buckets": series.buckets}
    return {
        "run": series.run_id,
        "key": series.key,
        "x_axis": series.x,
        "x": xs,
        "y": ys,
        "points": len(ys),
        "non_finite": sum(y is None for y in ys),
        "last_step": series.last_step,
        "downsampled": downsampled,
    }


def console_line_json(line: ConsoleLine) -> dict[str, Any]:
    """A piece of a run's console output (``/api/runs/{id}/console``)."""
    return {"position": line.position, "stream": line.stream, "text": line.text, "time": line.time}


def run_detail_json(
    run: RunInfo,
    used: Iterable[ArtifactVersion],
    produced: Iterable[ArtifactVersion],
    files: Iterable[RunFileInfo] = (),
    alerts: Iterable[RunAlert] = (),
    media: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``art runs show``: the run object, the versions it used and produced, the files it
    kept, the alerts it raised and how many media values it logged by key."""
    return {
        **run_json(run),
        "used": [v.qualified_name for v in used],
        "produced": [v.qualified_name for v in produced],
        "files": [run_file_json(f) for f in files],
        "alerts": [alert_json(a) for a in alerts],
        "media": dict(media or {}),
    }


def run_file_json(kept: RunFileInfo) -> dict[str, Any]:
    """A file kept with a run (``art runs files`` lists them)."""
    return {
        "name": kept.name,
        "size": kept.size,
        "digest": kept.digest,
        "policy": kept.policy,
        "saved_at": iso_time(kept.saved_at),
    }


def alert_json(alert: RunAlert) -> dict[str, Any]:
    """An alert a run raised."""
    return {
        "time": iso_time(alert.at),
        "level": alert.level,
        "title": alert.title,
        "text": alert.text,
        "step": alert.step,
    }


def run_exit_json(run: Run, exit_code: int) -> dict[str, Any]:
    """``art run``: the run that wrapped the command, and the command's exit code."""
    return {"id": run.id, "project": run.project, "name": run.name, "exit_code": exit_code}


def history_json(
    run_id: str, keys: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """``art runs history``: the run, its metric keys, and one object per step.

    Each row holds ``_step`` and every key, null where the step did not log it.
    """
    return {
        "run": run_id,
        "keys": list(keys),
        "rows": [{"_step": row["_step"], **{k: row.get(k) for k in keys}} for row in rows],
    }


def sync_json(result: SyncResult, folder: Path) -> dict[str, Any]:
    """One offline run of ``art sync``: what the sync of ``folder`` added."""
    return {
        "run": result.run_id,
        "path": str(folder),
        "metrics": result.metrics,
        "console": result.console,
        "new_metrics": result.new_metrics,
        "new_console": result.new_console,
        "new_files": result.new_files,
        "new_alerts": result.new_alerts,
        "produced": result.produced,
        "used": result.used,
        "finished": result.finished,
    }


def verify_json(report: VerifyReport) -> dict[str, Any]:
    """``art verify``: what was checked, every problem, and what was repaired."""
    return {
        "ok": report.ok,
        "deep": report.deep,
        "versions": report.versions,
        "files": report.files,
        "run_files": report.run_files,
        "media": report.media,
        "blobs": report.blobs,
        "bytes": report.bytes,
        "problems": [_problem_json(p) for p in report.problems],
        "quarantined": list(report.quarantined),
        "debris": report.debris,
        "debris_bytes": report.debris_bytes,
        "debris_removed": report.debris_removed,
    }


def _problem_json(problem: Problem) -> dict[str, Any]:
    found = {
        "version": problem.version,
        "path": problem.path,
        "kind": problem.kind,
        "digest": problem.digest,
        "actual": problem.actual,
        "size": problem.size,
        "actual_size": problem.actual_size,
        "reason": problem.reason,
        "quarantined": problem.quarantined,
        "run": problem.run,
        "key": problem.key,
        "step": problem.step,
    }
    if problem.chunk is not None:  # a piece of a file stored in chunks
        found["chunk"] = problem.chunk
    return found


def usage_json(usage: StoreUsage) -> dict[str, Any]:
    """``art du``: the bytes the store holds, and per artifact its logical, unique and shared
    bytes."""
    return {
        "versions": usage.versions,
        "blobs": usage.blobs,
        "logical": usage.logical,
        "stored": usage.stored,
        "dedup_ratio": usage.dedup_ratio,
        "unreadable": usage.unreadable,
        "artifacts": [
            {
                "name": a.name,
                "type": a.type,
                "versions": a.versions,
                "logical": a.logical,
                "stored": a.stored,
                "unique": a.unique,
                "shared": a.shared,
            }
            for a in usage.artifacts
        ],
    }


def lineage_json(
    graph: LineageGraph, places: Mapping[str, Mapping[str, float]], size: tuple[float, float]
) -> dict[str, Any]:
    """``art ui``'s lineage: the node-link document of ``art lineage --json``, each node with
    where the page draws it (``places`` by node id: ``x``, ``y``, ``width``, ``height``,
    ``column``, ``row``) and the picture's ``width`` and ``height`` under ``layout``."""
    document: dict[str, Any] = json.loads(lineage_text(graph))
    for node in document["nodes"]:
        node.update(places.get(node["id"], {}))
    document["layout"] = {"width": size[0], "height": size[1]}
    return document


def lineage_text(graph: LineageGraph) -> str:
    """``art lineage --json``: the graph as indented networkx node-link JSON text."""
    from artstore.lineage import to_node_link_json

    return to_node_link_json(graph, indent=2)


def sweep_json(sweep: SweepRecord, trials: Sequence[TrialRecord] = ()) -> dict[str, Any]:
    """A sweep (``art sweep``, ``art sweep ls``): its id, project, state, config as stored
    and how many of its trials are in each state."""
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    return {
        "id": sweep.id,
        "project": sweep.project,
        "name": sweep.name,
        "state": sweep.state,
        "method": sweep.config.get("method"),
        "metric": sweep.config.get("metric"),
        "config": sweep.config,
        "user": sweep.user,
        "created_at": iso_time(sweep.created_at),
        "trials": len(trials),
        "trial_states": counts,
    }


def trial_json(trial: TrialRecord) -> dict[str, Any]:
    """One trial of a sweep: its number, parameters, state, run, lease and metric value."""
    return {
        "number": trial.number,
        "params": trial.params,
        "state": trial.state,
        "run_id": trial.run_id,
        "agent": trial.agent,
        "metric": trial.metric,
        **{
            key: None if moment is None else iso_time(moment)
            for key, moment in (
                ("lease_expires", trial.lease_expires),
                ("heartbeat_at", trial.heartbeat_at),
                ("created_at", trial.created_at),
                ("finished_at", trial.finished_at),
            )
        },
    }


def sweep_view_json(view: SweepView) -> dict[str, Any]:
    """``art sweep show --json``: the sweep, its trials ranked by the metric (best first) and
    the best trial's number and parameters."""
    return {
        **sweep_json(view.sweep, view.trials),
        "ranked": [trial_json(trial) for trial in view.trials],
        "best": None
        if view.best is None
        else {"number": view.best.number, "params": view.best.params, "metric": view.best.metric},
    }


def agent_json(result: AgentResult) -> dict[str, Any]:
    """``art agent --json``: the trials the agent ran and why it stopped."""
    return {
        "sweep_id": result.sweep_id,
        "reason": result.reason,
        "trials": [
            {
                "number": t.number,
                "run_id": t.run_id,
                "state": t.state,
                "metric": t.metric,
                "recorded": t.recorded,
            }
            for t in result.trials
        ],
    }
