"""The offline spool: a run's records as JSON lines in a folder, replayed by ``art sync``.

Layout of ``artstore-runs/offline-run-<time>-<id>/``: ``run.jsonl`` (one record per line, each
with ``"format": 1`` and a ``"type"``: start, batch, artifact, use, finish) and ``store/``, a blob
store holding the files of artifacts the run logged. Each batch is flushed and fsynced as it is
written, so a killed process loses at most its unwritten batch; a torn last line is ignored.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from artstore.artifacts import StagedVersion, Store
from artstore.errors import NotFoundError, UnsupportedFormatError, UserError
from artstore.storage import BlobStore, init_store, open_store, parse_format

__all__ = ["SPOOL_FILE", "SpoolWriter", "SyncResult", "read_spool", "spool_folder", "sync_spool"]

logger = logging.getLogger(__name__)

SPOOL_FILE = "run.jsonl"
SPOOL_ROOT = "artstore-runs"


def spool_folder(base: Path, run_id: str, now: datetime) -> Path:
    """``<base>/artstore-runs/offline-run-<YYYYmmdd_HHMMSS>-<id>``."""
    return base / SPOOL_ROOT / f"offline-run-{now.strftime('%Y%m%d_%H%M%S')}-{run_id}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    # Columns ending in _at are times; they travel as ISO 8601 strings.
    return {
        k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v
        for k, v in fields.items()
    }


class SpoolWriter:
    """Appends records to a spool folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(folder / SPOOL_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self._blobs: BlobStore | None = None

    def record(self, kind: str, **fields: Any) -> None:
        """Append one record and make it durable."""
        line = json.dumps({"format": 1, "type": kind, **fields}, default=_encode)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def blobs(self) -> BlobStore:
        """The spool's own blob store, for the files of logged artifacts."""
        if self._blobs is None:
            self._blobs = init_store(str(self.folder / "store"))
        return self._blobs

    def close(self) -> None:
        """Close the spool file."""
        self._file.close()


def read_spool(folder: Path) -> list[dict[str, Any]]:
    """The records of a spool folder, in order; a torn last line is dropped with a warning.

    Raises:
        NotFoundError: no spool file in ``folder``.
        UnsupportedFormatError: a record of an unknown format.
    """
    path = folder / SPOOL_FILE
    if not path.is_file():
        raise NotFoundError(f"{folder} is not an offline run folder (no {SPOOL_FILE})")
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                logger.warning("%s: last line is incomplete (the run was killed); ignored", path)
                break
            raise UnsupportedFormatError(f"{path}:{number} is not a JSON record") from None
        parse_format(record.get("format"), f"{path}:{number}")
        records.append(record)
    if not records or records[0].get("type") != "start":
        raise UnsupportedFormatError(f"{path} does not begin with a start record")
    return records


@dataclass(slots=True)
class SyncResult:
    """What one ``sync_spool`` wrote."""

    run_id: str
    metrics: int = 0
    console: int = 0
    produced: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    finished: bool = False


def sync_spool(folder: Path, store: Store) -> SyncResult:
    """Replay an offline run into ``store``; running it again changes nothing.

    Metrics and console are rewritten whole; versions the run already produced with the same
    content are not logged again; edges are recorded once.
    """
    records = read_spool(folder)
    start = _times(records[0]["fields"])
    run_id = str(start.pop("id"))
    catalog = store.catalog
    if catalog.find_run(run_id) is None:
        catalog.create_run(id=run_id, **start)
    else:
        catalog.update_run(run_id, **start)
    catalog.reset_run_data(run_id)
    result = SyncResult(run_id)
    spool_blobs: BlobStore | None = None
    for record in records[1:]:
        kind = record["type"]
        if kind == "batch":
            metrics = [tuple(r) for r in record["metrics"]]
            console = [tuple(r) for r in record["console"]]
            fields = _times(record["fields"])
            catalog.write_run_batch(run_id, metrics, console, fields)
            result.metrics += len(metrics)
            result.console += len(console)
            # A finishing run's last batch carries its final status.
            if fields.get("status", "running") != "running":
                result.finished = True
        elif kind == "artifact":
            if spool_blobs is None:
                spool_blobs = open_store(str(folder / "store"))
            result.produced.append(_sync_artifact(store, spool_blobs, run_id, record))
        elif kind == "use":
            result.used.extend(_sync_use(store, run_id, record))
        elif kind == "finish":
            catalog.update_run(run_id, **_times(record["fields"]))
            result.finished = True
        else:
            raise UserError(f"{folder}: unknown record type {kind!r}: upgrade artstore")
    return result


def _sync_use(store: Store, run_id: str, record: dict[str, Any]) -> list[str]:
    ref = f"{record['name']}:v{record['number']}"
    try:
        version = store.artifact(ref)
    except NotFoundError:
        version = None
    if version is None or version.digest != record["digest"]:
        # Another store, or another history: the same name and number hold other content.
        logger.warning(
            "%s in %s is not the version run %s used offline; its use is not recorded",
            ref,
            store.url,
            run_id,
        )
        return []
    store.catalog.add_edge(run_id, version.name, version.number, "used")
    return [ref]


def _sync_artifact(store: Store, spool: BlobStore, run_id: str, record: dict[str, Any]) -> str:
    staged = StagedVersion(
        record["name"],
        record["artifact_type"],  # "type" is the record's kind, "artifact"
        record["description"],
        record["metadata"],
        record["digest"],
    )
    for kind, name, number in store.catalog.run_edges(run_id):
        if kind == "produced" and name == staged.name:
            existing = store.artifact(f"{name}:v{number}")
            if existing.digest == staged.digest:
                return existing.qualified_name
    return store.import_version(spool, staged, record["aliases"], run_id=run_id).qualified_name
