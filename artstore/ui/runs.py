"""The runs pages (projects, a project's runs table, compare, a run) and their ``/api/`` routes.

Each view's data is built by one function that both the page and its API route call; pages
carry the table rows, and charts fetch their points from ``/api/series`` (downsampled in the
catalog), so a page sends only the columns and points its view shows.
"""

from __future__ import annotations

import mimetypes
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from artstore.artifacts import FileEntry, RunInfo
from artstore.artifacts.runs import matches, parse_filters, run_value
from artstore.errors import InvalidArgumentError, NotFoundError
from artstore.serialize import console_line_json, run_detail_json, run_row_json, series_json
from artstore.storage import Digest
from artstore.ui.web import BINARY, api, download, in_range, page, query_int, query_list, store_of

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage.dashboard import MetricStats

__all__ = [
    "ROUTES",
    "RunsTable",
    "chart_groups",
    "compare_data",
    "config_diff",
    "projects_data",
    "runs_table",
    "series_data",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_RUNS = 50  # runs one chart overlays
DEFAULT_POINTS = 1000
MAX_POINTS = 10_000  # per run of one series request
MAX_TOTAL_POINTS = 200_000  # all runs of one series request
MAX_KEYS = 200  # charts of one compare page
_FIXED = ("name", "state", "created_at", "duration")
_STATS = ("min", "max", "last")
# Media shown in the page; anything else (HTML, SVG, 3D objects) is only downloaded, so no
# logged file runs as a page of this origin.
_INLINE = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "audio/wav",
     "audio/x-wav", "audio/mpeg", "audio/ogg", "audio/flac", "video/mp4", "video/webm"}
)  # fmt: skip


# -- data ----------------------------------------------------------------------------------------


def projects_data(store: Store) -> list[dict[str, Any]]:
    """Every project with how many runs it holds, by name."""
    return [{"project": name, "runs": count} for name, count in store.projects()]


@dataclass(frozen=True)
class RunsTable:
    """One page of a project's runs table.

    Attributes:
        rows: ``run_row_json`` of each run of the page, with the values of ``columns``.
        total: runs matching the filter.
        available: the columns that may be shown: ``config.*``, ``summary.*`` and the
            ``metric.KEY.min|max|last`` of each number in the runs' summaries.
    """

    project: str
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    sort: str
    order: str
    columns: list[str]
    available: dict[str, list[str]]
    filter: str

    def document(self) -> dict[str, Any]:
        """The ``/api/runs`` document."""
        return {
            "project": self.project,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "sort": self.sort,
            "order": self.order,
            "filter": self.filter,
            "columns": self.columns,
            "available": self.available,
            "runs": self.rows,
        }


def parse_filter_text(text: str) -> dict[str, Any]:
    """The filter box's text: a JSON document, or terms as ``art runs --filter`` takes them
    (``config.lr=0.001 summary.acc>=0.9 state=finished``), separated by spaces.

    Raises:
        UserError: a term is malformed.
    """
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        return parse_filters([text], label="filter", regex=False)
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"filter {text[:80]!r}: {exc}") from None
    return parse_filters(terms, label="filter", regex=False)


def _flat(prefix: str, value: Any, into: set[str]) -> None:
    if isinstance(value, dict) and "_type" in value:
        return  # a media value (W&B keeps the last one in the summary): not a column
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flat(f"{prefix}.{key}", inner, into)
    else:
        into.add(prefix)


def available_columns(runs: Iterable[RunInfo]) -> dict[str, list[str]]:
    """The config and summary paths of ``runs`` and the metrics (numbers in their summaries,
    as the tracker keeps each logged key's last value there)."""
    config: set[str] = set()
    summary: set[str] = set()
    metrics: set[str] = set()
    for run in runs:
        for key, value in run.record.config.items():
            if not key.startswith("_"):
                _flat(f"config.{key}", value, config)
        for key, value in run.record.summary.items():
            if key.startswith("_"):
                continue
            _flat(f"summary.{key}", value, summary)
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics.add(key)
    return {"config": sorted(config), "summary": sorted(summary), "metrics": sorted(metrics)}


def _check_column(column: str) -> str:
    if column in _FIXED:
        return column
    head, _, rest = column.partition(".")
    if head in ("config", "summary") and rest:
        return column
    key, _, stat = rest.rpartition(".")
    if head == "metric" and key and stat in _STATS:
        return column
    raise InvalidArgumentError(
        f"no column {column[:80]!r}; columns are name, state, created_at, duration, "
        "config.KEY, summary.KEY or metric.KEY.min|max|last"
    )


def _default_columns(available: dict[str, list[str]]) -> list[str]:
    return [*available["config"][:4], *available["summary"][:4]]


def _metric_columns(columns: Iterable[str]) -> list[tuple[str, str, str]]:
    found = []
    for column in columns:
        head, _, rest = column.partition(".")
        if head == "metric":
            key, _, stat = rest.rpartition(".")
            found.append((column, key, stat))
    return found


def _values(
    run: RunInfo, columns: Sequence[str], stats: dict[str, dict[str, MetricStats]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    metric = {column: (key, stat) for column, key, stat in _metric_columns(columns)}
    for column in columns:
        if column in metric:
            key, stat = metric[column]
            found = stats.get(run.id, {}).get(key)
            values[column] = None if found is None else getattr(found, stat)
        elif column not in _FIXED:
            values[column] = run_value(run.record, column)
    return values


def _sort_key(value: Any) -> tuple[int, Any]:
    # Numbers before text before anything else; None (a missing value) always last.
    if value is None:
        return (3, 0)
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, value) if value == value else (2, 0)
    if isinstance(value, str):
        return (1, value)
    return (2, str(value))


def runs_table(
    store: Store,
    project: str,
    *,
    filter_text: str = "",
    sort: str = "created_at",
    order: str = "desc",
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
    columns: Sequence[str] | None = None,
) -> RunsTable:
    """A page of the project's runs: filtered, sorted and cut to ``[offset, offset+limit)``.

    Raises:
        NotFoundError: the store has no run in ``project``.
        InvalidArgumentError: an unknown column, sort or order.
        UserError: a malformed filter.
    """
    if order not in ("asc", "desc"):
        raise InvalidArgumentError(f"order must be asc or desc, not {order[:20]!r}")
    every = store.runs(project)
    if not every:
        raise NotFoundError(f"no project {project[:200]!r} in this store (it has no runs)")
    filters = parse_filter_text(filter_text)
    runs = [r for r in every if matches(r.record, filters)] if filters else every
    available = available_columns(every)
    chosen = [_check_column(c) for c in columns] if columns else []
    shown = chosen or _default_columns(available)
    _check_column(sort)
    sorting_metric = _metric_columns([sort])
    if sorting_metric:
        stats = store.metric_stats([r.id for r in runs], [sorting_metric[0][1]])
        runs = _sorted(runs, lambda r: _values(r, [sort], stats)[sort], order)
    elif sort != "created_at" or order != "desc":
        runs = _sorted(runs, lambda r: _fixed_or_value(r, sort), order)
    window = runs[offset : offset + limit]
    metric_keys = sorted({key for _, key, _ in _metric_columns(shown)})
    stats = store.metric_stats([r.id for r in window], metric_keys) if metric_keys else {}
    rows = [run_row_json(r, _values(r, shown, stats)) for r in window]
    return RunsTable(
        project, rows, len(runs), offset, limit, sort, order, shown, available, filter_text
    )


def _fixed_or_value(run: RunInfo, column: str) -> Any:
    record = run.record
    if column == "name":
        return record.name or record.id
    if column == "state":
        return record.status
    if column == "created_at":
        return record.created_at.timestamp()
    if column == "duration":
        end = record.finished_at or record.heartbeat_at
        return (end - record.created_at).total_seconds()
    return run_value(record, column)


def _sorted(runs: list[RunInfo], value: Any, order: str) -> list[RunInfo]:
    keyed = [(value(r), r) for r in runs]
    present = [(v, r) for v, r in keyed if v is not None]
    ordered = sorted(present, key=lambda pair: _sort_key(pair[0]), reverse=order == "desc")
    return [r for _, r in ordered] + [r for v, r in keyed if v is None]


def _runs_of(store: Store, ids: Sequence[str]) -> list[RunInfo]:
    if not ids:
        raise InvalidArgumentError("runs must name at least one run id (runs=ID,ID,...)")
    if len(ids) > MAX_RUNS:
        raise InvalidArgumentError(f"at most {MAX_RUNS} runs at once, not {len(ids)}")
    return [store.run(run_id) for run_id in dict.fromkeys(ids)]


def series_data(
    store: Store,
    run_ids: Sequence[str],
    key: str,
    *,
    x: str = "step",
    points: int = DEFAULT_POINTS,
    after: int | None = None,
) -> dict[str, Any]:
    """The ``/api/series`` document: ``key``'s points of each run, downsampled in the catalog
    (each bucket's lowest and highest kept) when a run logged more than ``points``."""
    runs = _runs_of(store, run_ids)
    series = []
    for run in runs:
        document = series_json(run.series(key, x=x, points=points, after=after))
        document.update(name=run.name or run.id, state=run.state)
        series.append(document)
    return {"key": key, "x_axis": x, "series": series}


def chart_groups(keys: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Keys grouped by their prefix before the first ``/`` (``train/``, ``val/``); keys without
    one come first, under ``""``."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys):
        prefix = key.split("/", 1)[0] if "/" in key else ""
        groups.setdefault(prefix, []).append(key)
    return sorted(groups.items(), key=lambda item: (item[0] != "", item[0]))


def config_diff(runs: Sequence[RunInfo]) -> list[tuple[str, list[Any]]]:
    """(config path, each run's value) for the paths whose values differ between the runs."""
    paths: set[str] = set()
    for run in runs:
        for key, value in run.record.config.items():
            _flat(key, value, paths)
    rows = []
    for path in sorted(paths):
        values = [run_value(run.record, f"config.{path}") for run in runs]
        if any(v != values[0] for v in values[1:]) or len(runs) == 1:
            rows.append((path, values))
    return rows


def compare_data(store: Store, run_ids: Sequence[str], keys: Sequence[str]) -> dict[str, Any]:
    """The runs compared, the keys charted (``keys``, or every number any of them logged) and
    the config paths whose values differ."""
    if len(keys) > MAX_KEYS:
        raise InvalidArgumentError(f"at most {MAX_KEYS} keys at once, not {len(keys)}")
    runs = _runs_of(store, run_ids)
    charted = list(keys) or store.metric_keys(r.id for r in runs)
    return {
        "runs": [run_row_json(r, {}) for r in runs],
        "keys": charted,
        "config_diff": [{"key": k, "values": v} for k, v in config_diff(runs)],
    }


def media_items(run: RunInfo, key: str) -> list[dict[str, Any]]:
    """Each media value logged under ``key``, by step: its type, its reference and the URL of
    its bytes (each item of a gallery on its own)."""
    items = []
    base = f"/runs/{quote(run.id)}/media/{quote(key, safe='')}"
    for step, reference in run.media_steps(key):
        kind = reference.get("_type")
        parts = reference.get("items", []) if kind == "gallery" else [reference]
        for index, part in enumerate(parts):
            item: dict[str, Any] = {"step": step, "index": index, "type": part.get("_type")}
            if part.get("_type") == "histogram":
                item["histogram"] = {k: v for k, v in part.items() if k != "_type"}
            else:
                item["url"] = f"{base}/{step}/{index}"
                item["caption"] = part.get("caption")
                item["size"] = part.get("size")
            items.append(item)
    return items


def run_page_data(store: Store, run_id: str) -> dict[str, Any]:
    """What the run page shows beside its charts."""
    run = store.run(run_id)
    used, produced = run.used(), run.produced()
    return {
        "run": run,
        "detail": run_detail_json(
            run, used, produced, run.files(), run.alerts(), run.media_counts()
        ),
        "groups": chart_groups(store.metric_keys([run.id])),
        "used": [(v.name, f"v{v.version}") for v in used],
        "produced": [(v.name, f"v{v.version}") for v in produced],
    }


# -- routes ---------------------------------------------------------------------------------------


def _table_of(request: Request, project: str) -> RunsTable:
    q = request.query_params
    columns = query_list(request, "columns") or q.getlist("col")
    return runs_table(
        store_of(request),
        project,
        filter_text=q.get("filter", ""),
        sort=q.get("sort", "created_at") or "created_at",
        order=q.get("order", "desc") or "desc",
        offset=query_int(request, "offset", 0),
        limit=query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        columns=columns,
    )


def projects_page(request: Request) -> Response:
    return page(request, "projects.html", projects=projects_data(store_of(request)))


def projects_api(request: Request) -> Response:
    return api({"projects": projects_data(store_of(request))})


def project_page(request: Request) -> Response:
    project = request.path_params["project"]
    table = _table_of(request, project)
    template = "runs_table.html" if request.headers.get("HX-Request") else "project.html"
    response = page(request, template, table=table, title=project)
    response.headers["Vary"] = "HX-Request"  # a cache must not answer a page with a fragment
    return response


def runs_api(request: Request) -> Response:
    project = request.query_params.get("project")
    if not project:
        raise InvalidArgumentError("project= names the project whose runs to list")
    return api(_table_of(request, project).document())


def run_page(request: Request) -> Response:
    data = run_page_data(store_of(request), request.path_params["run_id"])
    return page(request, "run.html", **data)


def run_api(request: Request) -> Response:
    run = store_of(request).run(request.path_params["run_id"])
    return api(
        run_detail_json(
            run, run.used(), run.produced(), run.files(), run.alerts(), run.media_counts()
        )
    )


def run_keys_api(request: Request) -> Response:
    store = store_of(request)
    run = store.run(request.path_params["run_id"])
    return api({"run": run.id, "state": run.state, "keys": store.metric_keys([run.id])})


def keys_api(request: Request) -> Response:
    store = store_of(request)
    runs = _runs_of(store, query_list(request, "runs"))
    return api({"runs": [r.id for r in runs], "keys": store.metric_keys(r.id for r in runs)})


def series_api(request: Request) -> Response:
    q = request.query_params
    key = q.get("key")
    if not key:
        raise InvalidArgumentError("key= names the metric to chart")
    after = q.get("after")
    runs = query_list(request, "runs")
    points = query_int(request, "points", DEFAULT_POINTS, minimum=2, maximum=MAX_POINTS)
    if points * len(runs) > MAX_TOTAL_POINTS:
        raise InvalidArgumentError(
            f"points x runs must be at most {MAX_TOTAL_POINTS}, not {points} x {len(runs)}"
        )
    return api(
        series_data(
            store_of(request),
            runs,
            key,
            x=q.get("x", "step") or "step",
            points=points,
            after=None if after in (None, "") else query_int(request, "after", 0, minimum=-1),
        )
    )


def console_api(request: Request) -> Response:
    run = store_of(request).run(request.path_params["run_id"])
    after = query_int(request, "after", 0)
    limit = query_int(request, "limit", 1000, minimum=1, maximum=10_000)
    lines = run.console_after(after, request.query_params.get("q") or None, limit)
    return api(
        {
            "run": run.id,
            "state": run.state,
            "lines": [console_line_json(line) for line in lines],
            "last_position": lines[-1].position if lines else after,
        }
    )


def media_api(request: Request) -> Response:
    run = store_of(request).run(request.path_params["run_id"])
    key = request.query_params.get("key")
    if key is None:
        return api({"run": run.id, "media": run.media_counts()})
    items = media_items(run, key)
    if not items:
        raise NotFoundError(f"run {run.id} logged no media under {key[:200]!r}")
    return api({"run": run.id, "key": key, "items": items})


def media_bytes(request: Request) -> Response:
    store = store_of(request)
    run = store.run(request.path_params["run_id"])
    key = request.path_params["key"]
    step = in_range("step", request.path_params["step"])
    index = in_range("index", request.path_params["index"])
    media = run.media(key, step, index)  # at exactly ``step``, or NotFoundError
    # RunInfo.media ignores ``index`` for a single value; the URL of its item 1 is no page.
    if index and _value_at(store, run, key, step).get("_type") != "gallery":
        raise NotFoundError(f"run {run.id} logged one media value under {key[:200]!r}, no {index}")
    reference = media.reference
    if reference.get("_type") == "histogram":
        raise NotFoundError(f"the histogram {key[:200]!r} is kept inline: it has no bytes")
    kind = mimetypes.guess_type(media.name)[0] or BINARY
    entry = FileEntry(media.name, Digest.parse(reference["digest"]), int(reference["size"]))
    inline = kind in _INLINE
    return download(
        request,
        entry,
        lambda exc: f"run {run.id} media {key[:200]!r}: {exc}",
        kind=kind if inline else BINARY,
        disposition="inline" if inline else "attachment",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def _value_at(store: Store, run: RunInfo, key: str, step: int) -> dict[str, Any]:
    # The one row at ``step``, not every media value of the key.
    found = store.repository.catalog.runs.media_value(run.id, key, step)
    return {} if found is None else found[1]


def file_download(request: Request) -> Response:
    run = store_of(request).run(request.path_params["run_id"])
    kept = run.file(request.path_params["name"])
    entry = FileEntry(kept.name, Digest.parse(kept.digest), kept.size)
    return download(request, entry, lambda exc: f"run {run.id} file {kept.name[:200]!r}: {exc}")


def compare_page(request: Request) -> Response:
    data = compare_data(store_of(request), query_list(request, "runs"), query_list(request, "keys"))
    return page(request, "compare.html", **data)


ROUTES: list[BaseRoute] = [
    Route("/", projects_page, methods=["GET"]),
    Route("/projects/{project}", project_page, methods=["GET"]),
    Route("/compare", compare_page, methods=["GET"]),
    Route("/runs/{run_id}", run_page, methods=["GET"]),
    Route("/runs/{run_id}/files/{name:path}", file_download, methods=["GET"]),
    Route("/runs/{run_id}/media/{key:path}/{step:int}/{index:int}", media_bytes, methods=["GET"]),
    Route("/api/projects", projects_api, methods=["GET"]),
    Route("/api/runs", runs_api, methods=["GET"]),
    Route("/api/runs/{run_id}", run_api, methods=["GET"]),
    Route("/api/runs/{run_id}/keys", run_keys_api, methods=["GET"]),
    Route("/api/runs/{run_id}/console", console_api, methods=["GET"]),
    Route("/api/runs/{run_id}/media", media_api, methods=["GET"]),
    Route("/api/keys", keys_api, methods=["GET"]),
    Route("/api/series", series_api, methods=["GET"]),
]
