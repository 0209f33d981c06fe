"""UI benchmark: ``art ui`` against MLflow's UI and Trackio's dashboard, in a real browser.

One workload for every system: ``PROJECTS`` projects of ``RUNS`` runs, each run with
``CONFIG`` config values and ``KEYS`` metric keys logged for ``STEPS`` steps, plus one run (in
its own project) with one key of ``BIG`` points; a second store holds the same with ``BIGGER``
points in that run (a copy of the first, the extra points appended).

How each store is written (generating is not timed):

* **artstore**: through the catalog's run API (``catalog.runs.create``, ``write_batch``,
  ``update``), the calls the tracker's writer makes, in batches of a whole run;
* **MLflow** (``mlflow`` in the peers' venv, SQLite backend): experiments, runs and params
  through ``MlflowClient``; the metric rows straight into its own SQLite schema (``metrics`` and
  ``latest_metrics``), since ``log_batch`` writes about 14,000 values a second and the workload
  has over 10 million;
* **Trackio** (``trackio`` in the peers' venv): through ``SQLiteStorage.bulk_log``, the call
  its own run writer makes (one per run, with the config).

Measured in chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), a fresh browser
context (empty cache) for every load, rounds alternating between the systems, median of
``--rounds``: the time from navigation until the view shows its data, the bytes transferred
(the Resource Timing API's ``transferSize`` of the document and every resource, at that
moment) and the time of the view's data requests (request start to response end of each
``/api/``, ``/ajax-api/`` or Trackio ``/api/`` call, summed; on loopback this is the server's
own time plus a copy). "Shows its data" is, for artstore, the page-readiness contract
(``<html data-ready="1">``, every chart drawn); for MLflow and Trackio, a selector proving their
table or chart drew (see ``PEER_VIEWS``).

Views: (a) the runs list of a 200-run project, (b) one metric of 10 selected runs overlaid,
(c) the big run's chart (and (c') the same in the second store). Targets: each artstore view
<= 0.7 s, page weight <= 300 KB, >= 2x faster than the fastest peer; server time <= 300 ms for
the 1,000,000-point chart.

Usage: ``python benchmarks/ui.py [--quick] [--out FILE] [--workdir DIR] [--rounds N]
[--peers-python PYTHON] [--no-peers]``. The peers are installed in their own venv
(``python3 -m venv /tmp/ui-peers-venv && /tmp/ui-peers-venv/bin/pip install mlflow trackio``);
``--quick`` is a tiny workload without peers (the smoke test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    cache_bytecode,
    describe_machine,
    format_bytes,
    load_average,
    machine_table,
    make_workdir,
    median,
    note,
    write_section,
)

BEGIN = "<!-- ui:begin -->"
END = "<!-- ui:end -->"
CHROMIUM = "/usr/bin/chromium"
DEFAULT_PEERS_PYTHON = "/tmp/ui-peers-venv/bin/python"
VIEW_SECONDS_MAX = 0.7
PAGE_BYTES_MAX = 300 * 1000
PEER_RATIO_MIN = 2.0
SERVER_SECONDS_MAX = 0.3
LOAD_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Workload:
    projects: int
    runs: int
    config: int
    keys: int
    steps: int
    big: int
    bigger: int
    selected: int = 10

    def project(self, p: int) -> str:
        return f"project-{p}"

    def key(self, k: int) -> str:
        return ("train/" if k % 2 == 0 else "val/") + f"m{k}"

    @property
    def big_project(self) -> str:
        return "big"

    @property
    def big_key(self) -> str:
        return "train/loss"


FULL = Workload(projects=5, runs=200, config=5, keys=10, steps=1000, big=200_000, bigger=1_000_000)
QUICK = Workload(
    projects=2, runs=12, config=5, keys=3, steps=50, big=5_000, bigger=20_000, selected=4
)


#: Unix time of the big run's first step (and of every peer run's).
T0 = 1_793_000_000.0


def value(run: int, key: int, step: int) -> float:
    """A smooth decay per run and key with a little deterministic wobble."""
    return 1.0 / (1.0 + step * 0.01 * (1 + run % 7)) + 0.05 * math.sin(step * 0.3 + run + key)


def big_value(step: int) -> float:
    """A noisy curve with a rare spike: what a min/max downsampling must not hide."""
    spike = 5.0 if step % 99_991 == 12_345 else 0.0
    return 2.0 / (1.0 + step * 1e-4) + 0.1 * math.sin(step * 0.7) + spike


def config_of(run: int) -> dict[str, Any]:
    return {
        "lr": 10.0 ** -(2 + run % 3),
        "batch_size": 32 * (1 + run % 4),
        "optimizer": ("adam", "sgd")[run % 2],
        "layers": 2 + run % 5,
        "dropout": round(0.1 * (run % 4), 1),
    }


# -- artstore's store ------------------------------------------------------------------------------


def write_artstore(url: str, w: Workload) -> dict[str, Any]:
    """Write the workload into a new artstore store; returns the ids the views need."""
    from datetime import UTC, datetime, timedelta

    from artstore.artifacts import Store
    from artstore.lineage import MetricRecord

    store = Store.init(url)
    runs_api = store.repository.catalog.runs
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids: dict[str, list[str]] = {}
    for p in range(w.projects):
        project = w.project(p)
        ids[project] = []
        for r in range(w.runs):
            run_id = f"p{p}r{r:04d}"
            created = start + timedelta(hours=p * w.runs + r)
            t0 = created.timestamp()
            runs_api.create(
                id=run_id,
                project=project,
                name=f"run-{r}",
                config=config_of(r),
                user="bench",
                created_at=created,
                tags=["bench"],
            )
            rows = [
                MetricRecord(run_id, s, w.key(k), value(r, k, s), None, t0 + s * 0.5)
                for s in range(w.steps)
                for k in range(w.keys)
            ]
            summary = {w.key(k): value(r, k, w.steps - 1) for k in range(w.keys)}
            runs_api.write_batch(run_id, rows, [], {})
            runs_api.update(
                run_id,
                status="finished",
                summary=summary,
                exit_code=0,
                finished_at=created + timedelta(seconds=w.steps * 0.5),
            )
            ids[project].append(run_id)
    runs_api.create(
        id="bigrun",
        project=w.big_project,
        name="big",
        config=config_of(0),
        user="bench",
        created_at=start,
    )
    append_artstore_big(store, w, 0, w.big)
    store.close()
    return {"runs": ids, "big": "bigrun"}


def append_artstore_big(store: Any, w: Workload, first: int, last: int) -> None:
    from artstore.lineage import MetricRecord

    runs_api = store.repository.catalog.runs
    t0 = T0
    for lo in range(first, last, 100_000):
        hi = min(last, lo + 100_000)
        rows = [
            MetricRecord("bigrun", s, w.big_key, big_value(s), None, t0 + s * 0.01)
            for s in range(lo, hi)
        ]
        runs_api.write_batch("bigrun", rows, [], {})
    runs_api.update(
        "bigrun", status="finished", exit_code=0, summary={w.big_key: big_value(last - 1)}
    )


# -- the peers' stores (run in the peers' venv) ----------------------------------------------------

PEERS_WORKER = r"""
import json, sqlite3, sys
from datetime import datetime, timezone
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["bench_dir"])  # this file: the workload's values, written alike for all
from ui import T0, Workload, big_value, config_of, value
what, w = spec["what"], Workload(**spec["workload"])
keys = [w.key(k) for k in range(w.keys)]
BIG_KEY, BATCH = w.big_key, 100_000
METRIC = "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,0)"
LATEST = ("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
          "VALUES (?,?,?,?,0,?)")
def ms(t):
    return int(t * 1000)
def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).isoformat()
def mlflow_big(con, run_id, first, last):
    for lo in range(first, last, BATCH):
        con.executemany(METRIC, [(BIG_KEY, big_value(s), ms(T0 + s * 0.01), run_id, s)
                                 for s in range(lo, min(last, lo + BATCH))])
    con.execute("DELETE FROM latest_metrics WHERE run_uuid = ?", (run_id,))
    con.execute(LATEST, (BIG_KEY, big_value(last - 1), ms(T0 + (last - 1) * 0.01), last - 1,
                         run_id))
    con.commit()
def trackio_big(first, last):
    from trackio.sqlite_storage import SQLiteStorage
    for lo in range(first, last, BATCH):
        steps = list(range(lo, min(last, lo + BATCH)))
        SQLiteStorage.bulk_log(w.big_project, "big", [{BIG_KEY: big_value(s)} for s in steps],
                               steps=steps, timestamps=[iso(T0 + s * 0.01) for s in steps],
                               config=config_of(0) if lo == 0 else None, run_id="big")
out = None
if what == "mlflow":
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{spec['db']}")
    def make_run(exp, name, cfg):
        run_id = client.create_run(exp, run_name=name).info.run_id
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in cfg.items()])
        client.set_terminated(run_id, "FINISHED")
        return run_id
    experiments, runs = {}, {}
    for project in [w.project(p) for p in range(w.projects)] + [w.big_project]:
        experiments[project] = client.create_experiment(
            project, artifact_location=f"{spec['artifacts']}/{project}")
    for p in range(w.projects):
        exp = experiments[w.project(p)]
        runs[w.project(p)] = [make_run(exp, f"run-{r}", config_of(r)) for r in range(w.runs)]
    big = make_run(experiments[w.big_project], "big", config_of(0))
    con = sqlite3.connect(spec["db"])
    con.execute("PRAGMA synchronous=OFF")
    last = w.steps - 1
    for p in range(w.projects):
        for r, run_id in enumerate(runs[w.project(p)]):
            con.executemany(METRIC, [(keys[k], value(r, k, s), ms(T0 + s * 0.5), run_id, s)
                                     for s in range(w.steps) for k in range(w.keys)])
            con.executemany(LATEST, [(keys[k], value(r, k, last), ms(T0 + last * 0.5), last,
                                      run_id) for k in range(w.keys)])
        con.commit()
    mlflow_big(con, big, 0, w.big)
    con.close()
    out = {"runs": runs, "big": big, "experiments": experiments}
elif what == "mlflow-append":
    con = sqlite3.connect(spec["db"])
    con.execute("PRAGMA synchronous=OFF")
    mlflow_big(con, spec["big"], w.big, w.bigger)
    con.close()
elif what == "trackio":
    from trackio.sqlite_storage import SQLiteStorage
    times = [iso(T0 + s * 0.5) for s in range(w.steps)]
    runs = {}
    for p in range(w.projects):
        runs[w.project(p)] = [f"run-{r}" for r in range(w.runs)]
        for r, name in enumerate(runs[w.project(p)]):
            metrics = [{keys[k]: value(r, k, s) for k in range(w.keys)} for s in range(w.steps)]
            SQLiteStorage.bulk_log(w.project(p), name, metrics, steps=list(range(w.steps)),
                                   timestamps=times, config=config_of(r), run_id=name)
    trackio_big(0, w.big)
    out = {"runs": runs, "big": "big"}
elif what == "trackio-append":
    trackio_big(w.big, w.bigger)
print(json.dumps(out))
"""


def peers_worker(python: str, spec: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """Run :data:`PEERS_WORKER` in the peers' venv; returns what it prints (JSON)."""
    spec = {**spec, "bench_dir": str(Path(__file__).resolve().parent)}
    proc = subprocess.run(
        [python, "-c", PEERS_WORKER, json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['what']} generation failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def write_peers(python: str, work: Path, w: Workload) -> dict[str, Any]:
    """MLflow's and Trackio's stores of the workload, and their copies with the bigger run."""
    spec = {"workload": w.__dict__}
    mlflow_dir = work / "mlflow"
    mlflow_dir.mkdir()
    db, bigger_db = mlflow_dir / "mlflow.db", mlflow_dir / "mlflow-bigger.db"
    t0 = time.perf_counter()
    mlflow = peers_worker(
        python,
        {**spec, "what": "mlflow", "db": str(db), "artifacts": str(mlflow_dir / "artifacts")},
    )
    shutil.copyfile(db, bigger_db)
    peers_worker(
        python, {**spec, "what": "mlflow-append", "db": str(bigger_db), "big": mlflow["big"]}
    )
    note(f"  mlflow written in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    trackio_dir, trackio_bigger = work / "trackio", work / "trackio-bigger"
    trackio = peers_worker(
        python, {**spec, "what": "trackio"}, env={"TRACKIO_DIR": str(trackio_dir)}
    )
    shutil.copytree(trackio_dir, trackio_bigger)
    peers_worker(
        python, {**spec, "what": "trackio-append"}, env={"TRACKIO_DIR": str(trackio_bigger)}
    )
    note(f"  trackio written in {time.perf_counter() - t0:.1f} s")
    mlflow.update(db=str(db), bigger_db=str(bigger_db))
    trackio.update(dir=str(trackio_dir), bigger_dir=str(trackio_bigger))
    return {"mlflow": mlflow, "trackio": trackio}


# -- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(
    argv: list[str], port: int, env: dict[str, str] | None = None, probe: str = "/"
) -> Iterator[str]:
    """Start a server process (its own process group), wait until ``probe`` answers, yield its
    base URL, and stop the group at the end."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=log, stderr=log, start_new_session=True
        )
        try:
            yield _wait_answering(proc, f"http://127.0.0.1:{port}", probe, log, argv)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_answering(
    proc: subprocess.Popen[bytes], base: str, probe: str, log: Any, argv: list[str]
) -> str:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(base + probe, timeout=5) as answer:
                answer.read()
            return base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(
                    f"server did not start: {' '.join(argv)}\n"
                    f"{log.read()[-3000:].decode(errors='replace')}"
                ) from None
            time.sleep(0.2)


def artstore_server(url: str) -> Any:
    """``art ui`` over ``url`` (read-only, as users start it), access log off."""
    port = free_port()
    return serve(
        [
            sys.executable,
            "-m",
            "artstore.cli",
            "--quiet",
            "--store",
            url,
            "ui",
            "--port",
            str(port),
        ],
        port,
    )


def mlflow_server(python: str, db: str) -> Any:
    port = free_port()
    return serve(
        [
            python,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        port,
    )


def trackio_server(python: str, folder: str) -> Any:
    port = free_port()
    return serve(
        [python, "-m", "trackio.cli", "show"],
        port,
        env={"TRACKIO_DIR": folder, "GRADIO_SERVER_PORT": str(port), "BROWSER": "true"},
    )


# -- loading a view in chromium --------------------------------------------------------------------

#: The moment the view shows its data (ms since navigation start), or false: polled every frame.
# Polled from the first frame after the response starts, before <html> may exist.
ARTSTORE_READY = (
    "() => document.documentElement !== null"
    " && document.documentElement.dataset.ready === '1' && performance.now()"
)
_ROWS_READY = "(n) => document.querySelectorAll('{sel}').length >= n && performance.now()"
MLFLOW_ROWS_READY = _ROWS_READY.replace("{sel}", ".ag-row")
TRACKIO_ROWS_READY = _ROWS_READY.replace("{sel}", "tbody tr")
# Plotly draws each series as an SVG path; one per selected run, each with points.
MLFLOW_CHART_READY = """(n) => {
    const lines = [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')];
    return lines.filter((p) => (p.getAttribute('d') || '').length > 20).length >= n
        && performance.now();
}"""
# Vega draws on a canvas: ready when it holds coloured pixels (series; axes and grid are grey).
TRACKIO_CHART_READY = """(n) => {
    const canvas = document.querySelector('.vega-embed canvas');
    if (!canvas || !canvas.width) return false;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
        const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
        if (d[i + 3] > 0 && hi - lo > 40) coloured++;
    }
    return coloured > 200 * n && performance.now();
}"""
# Bytes over the wire so far, and the time of the document and the data requests.
RESOURCES_JS = """(pattern) => {
    const re = new RegExp(pattern);
    const nav = performance.getEntriesByType('navigation')[0];
    const all = [nav, ...performance.getEntriesByType('resource')];
    let bytes = 0, data = 0, first = Infinity, last = -Infinity;
    for (const e of all) bytes += e.transferSize || 0;
    for (const e of performance.getEntriesByType('resource')) {
        if (!re.test(new URL(e.name).pathname)) continue;
        data++;
        first = Math.min(first, e.requestStart);
        last = Math.max(last, e.responseEnd);
    }
    // The document's own time, plus the span from the first data request to the last answer.
    const server = nav.responseEnd - nav.requestStart + (data ? last - first : 0);
    const charts = [...document.querySelectorAll('.chart')];
    const points = charts.reduce((s, c) => s + Number(c.dataset.points || 0), 0);
    return {bytes, server, data, points};
}"""
DATA_PATHS = r"^/(ajax-)?api/"


@dataclass(frozen=True)
class Load:
    seconds: float
    bytes: int
    server_seconds: float
    data_requests: int
    points: int


@dataclass(frozen=True)
class View:
    """One view of one system: where it is, and how to tell it shows its data."""

    system: str
    view: str
    url: str
    ready: str
    arg: int = 0


def load_view(browser: Any, view: View) -> Load:
    """Open ``view`` in a fresh browser context (empty cache); measure until it is ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(view.url, wait_until="commit", timeout=LOAD_TIMEOUT_S * 1000)
        ready = page.wait_for_function(
            view.ready, arg=view.arg, polling="raf", timeout=LOAD_TIMEOUT_S * 1000
        )
        ms = float(ready.json_value())
        stats = page.evaluate(RESOURCES_JS, DATA_PATHS)
    finally:
        context.close()
    return Load(
        seconds=ms / 1000,
        bytes=int(stats["bytes"]),
        server_seconds=stats["server"] / 1000,
        data_requests=int(stats["data"]),
        points=int(stats["points"]),
    )


def artstore_views(base: str, bigger: str | None, ids: dict[str, Any], w: Workload) -> list[View]:
    runs = ids["runs"][w.project(0)]
    picked = ",".join(runs[: w.selected])
    key = w.key(0)
    views = [
        View("artstore", "a", f"{base}/projects/{w.project(0)}", ARTSTORE_READY),
        View("artstore", "b", f"{base}/compare?runs={picked}&keys={key}", ARTSTORE_READY),
        View("artstore", "c", f"{base}/runs/{ids['big']}", ARTSTORE_READY),
    ]
    if bigger:
        views.append(View("artstore", "c'", f"{bigger}/runs/{ids['big']}", ARTSTORE_READY))
    return views


def _mlflow_metric_url(base: str, runs: list[str], key: str, experiment: str) -> str:
    def q(value: Any) -> str:
        return urllib.parse.quote(json.dumps(value, separators=(",", ":")))

    return (
        f"{base}/#/metric?runs={q(runs)}&metric={q(key)}&experiments={q([experiment])}"
        f"&plot_metric_keys={q([key])}&plot_layout={{}}&x_axis=step&y_axis_scale=linear"
        "&line_smoothness=1&show_point=false&deselected_curves=[]&last_linear_y_axis_range=[]"
    )


def mlflow_views(base: str, bigger: str, ids: dict[str, Any], w: Workload) -> list[View]:
    experiment = ids["experiments"][w.project(0)]
    runs = ids["runs"][w.project(0)][: w.selected]
    big_exp = ids["experiments"][w.big_project]
    rows = min(10, w.runs)
    return [
        View("MLflow", "a", f"{base}/#/experiments/{experiment}/runs", MLFLOW_ROWS_READY, rows),
        View(
            "MLflow",
            "b",
            _mlflow_metric_url(base, runs, w.key(0), experiment),
            MLFLOW_CHART_READY,
            len(runs),
        ),
        View(
            "MLflow",
            "c",
            _mlflow_metric_url(base, [ids["big"]], w.big_key, big_exp),
            MLFLOW_CHART_READY,
            1,
        ),
        View(
            "MLflow",
            "c'",
            _mlflow_metric_url(bigger, [ids["big"]], w.big_key, big_exp),
            MLFLOW_CHART_READY,
            1,
        ),
    ]


def trackio_views(base: str, bigger: str, ids: dict[str, Any], w: Workload) -> list[View]:
    project = w.project(0)
    runs = ",".join(ids["runs"][project][: w.selected])
    key = urllib.parse.quote(w.key(0))
    big = f"/?project={w.big_project}&run_ids={ids['big']}&metric_filter={w.big_key}"
    return [
        View("Trackio", "a", f"{base}/runs?project={project}", TRACKIO_ROWS_READY, min(10, w.runs)),
        View(
            "Trackio",
            "b",
            f"{base}/?project={project}&run_ids={runs}&metric_filter={key}",
            TRACKIO_CHART_READY,
            w.selected,
        ),
        View("Trackio", "c", base + big, TRACKIO_CHART_READY, 1),
        View("Trackio", "c'", bigger + big, TRACKIO_CHART_READY, 1),
    ]


def check_page(view: View) -> str | None:
    """Why ``view`` cannot be measured (its page does not answer 200), or None."""
    try:
        with urllib.request.urlopen(view.url.split("#")[0], timeout=30) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} for {urllib.parse.urlsplit(view.url).path}"
    except OSError as exc:
        return str(exc)
    return None


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Results:
    workload: Workload
    rounds: int
    loads: dict[tuple[str, str], list[Load]] = field(default_factory=dict)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    generation: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def median_of(self, system: str, view: str, what: str) -> float | None:
        loads = self.loads.get((system, view))
        return median([getattr(x, what) for x in loads]) if loads else None

    def fastest_peer(self, view: str) -> tuple[str, float] | None:
        times = [
            (system, t)
            for system in ("MLflow", "Trackio")
            if (t := self.median_of(system, view, "seconds")) is not None
        ]
        return min(times, key=lambda st: st[1]) if times else None


def measure(browser: Any, views: list[View], results: Results) -> None:
    """Every view once per round, the systems alternating within each view."""
    by_view: dict[str, list[View]] = {}
    for v in views:
        by_view.setdefault(v.view, []).append(v)
    note("  warm-up: each view once, not counted (first requests fill the servers' caches)")
    for v in views:
        if (v.system, v.view) not in results.skipped:
            with suppress(Exception):
                load_view(browser, v)
    for round_ in range(results.rounds):
        for name, group in by_view.items():
            for v in group:
                if (v.system, v.view) in results.skipped:
                    continue
                try:
                    loaded = load_view(browser, v)
                except Exception as exc:  # a view that never shows its data is reported, not fatal
                    results.skipped[(v.system, v.view)] = f"not ready: {str(exc).splitlines()[0]}"
                    continue
                results.loads.setdefault((v.system, v.view), []).append(loaded)
                note(
                    f"  round {round_ + 1} {name} {v.system}: {loaded.seconds:.3f} s, "
                    f"{format_bytes(loaded.bytes)}"
                )


def peer_versions(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({p: m.version(p) for p in ('mlflow', 'trackio')}))"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(proc.stdout)
    return versions


def chromium_version() -> str:
    proc = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny workload, no peers")
    parser.add_argument("--out", type=Path, help="results file whose ui section is replaced")
    parser.add_argument("--workdir", type=Path, help="where the stores are written")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers-python", default=DEFAULT_PEERS_PYTHON)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args(argv)
    w = QUICK if args.quick else FULL
    with_peers = not (args.quick or args.no_peers)
    rounds = 1 if args.quick else args.rounds
    work = make_workdir(args.workdir, "ui-bench-")
    cache_bytecode(work)
    machine = describe_machine(work)
    machine["Page cache"] = "warm: every store was written just before it was served"
    results = Results(workload=w, rounds=rounds)
    try:
        from playwright.sync_api import sync_playwright

        note("writing artstore's stores")
        t0 = time.perf_counter()
        url, bigger_url = str(work / "artstore"), str(work / "artstore-bigger")
        ids = write_artstore(url, w)
        shutil.copytree(url, bigger_url)
        with _opened(bigger_url) as store:
            append_artstore_big(store, w, w.big, w.bigger)
        results.generation["artstore"] = time.perf_counter() - t0
        peers: dict[str, Any] = {}
        if with_peers:
            note("writing the peers' stores")
            t0 = time.perf_counter()
            peers = write_peers(args.peers_python, work, w)
            results.generation["peers"] = time.perf_counter() - t0
            results.versions = peer_versions(args.peers_python)
        results.versions["chromium"] = chromium_version()
        with ExitStack() as stack:
            base = stack.enter_context(artstore_server(url))
            bigger = stack.enter_context(artstore_server(bigger_url))
            views = artstore_views(base, bigger, ids, w)
            for v in views:
                if (reason := check_page(v)) is not None:
                    results.skipped[(v.system, v.view)] = reason
            if with_peers:
                m, t = peers["mlflow"], peers["trackio"]
                m_base = stack.enter_context(mlflow_server(args.peers_python, m["db"]))
                m_bigger = stack.enter_context(mlflow_server(args.peers_python, m["bigger_db"]))
                t_base = stack.enter_context(trackio_server(args.peers_python, t["dir"]))
                t_bigger = stack.enter_context(trackio_server(args.peers_python, t["bigger_dir"]))
                views += mlflow_views(m_base, m_bigger, m, w)
                views += trackio_views(t_base, t_bigger, t, w)
            machine["Load average before measuring"] = load_average()
            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            stack.callback(browser.close)
            note("measuring")
            measure(browser, views, results)
        machine["Load average at the end"] = load_average()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = render(results, machine, with_peers)
    if args.out:
        write_section(args.out, "ui", section)
    else:
        print(section)
    return 0


@contextmanager
def _opened(url: str) -> Iterator[Any]:
    from artstore.artifacts import Store

    store = Store(url)
    try:
        yield store
    finally:
        store.close()


VIEW_NAMES = {
    "a": "(a) runs list of a {runs}-run project",
    "b": "(b) one metric of {selected} selected runs overlaid",
    "c": "(c) the big run's chart ({big:,} points)",
    "c'": "(c') the big run's chart, second store ({bigger:,} points)",
}


def _seconds(s: float | None) -> str:
    return "-" if s is None else f"{s:.3f} s"


def _kb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1000:,.0f} KB"


def render(results: Results, machine: dict[str, str], with_peers: bool) -> str:
    w = results.workload
    systems = ["artstore", "MLflow", "Trackio"] if with_peers else ["artstore"]
    lines = [
        BEGIN,
        "## UI (`benchmarks/ui.py`)",
        "",
        f"Workload: {w.projects} projects x {w.runs} runs, each with {w.config} config values and "
        f"{w.keys} metric keys logged for {w.steps:,} steps "
        f"({w.projects * w.runs * w.keys * w.steps:,} points), plus one run with one key of "
        f"{w.big:,} points; a second store is the same with {w.bigger:,} points in that run. "
        "artstore's stores are written through the catalog's run API (the tracker writer's "
        "calls); MLflow's experiments, runs and params through "
        "`MlflowClient` and its metric rows straight into its SQLite schema (`metrics`, "
        "`latest_metrics`); Trackio's through `SQLiteStorage.bulk_log` (its run writer's call). "
        "Generating took "
        + ", ".join(f"{k} {v:.0f} s" for k, v in results.generation.items())
        + " (not part of any figure).",
        "",
        f"Each view is loaded in chromium ({results.versions.get('chromium', '?')}, headless, "
        "through Playwright) in a fresh browser context (empty cache), the systems alternating "
        f"within each view, {results.rounds} round(s) after one uncounted warm-up load of "
        "each view; medians. **Time to data**: from "
        "navigation start until the view shows its data, read in the page (`performance.now()` "
        "in the first frame where it holds): artstore's readiness contract (`<html "
        'data-ready="1">`, every chart drawn); MLflow: the runs grid has 10 rows (`.ag-row`) '
        "or the Plotly chart has one drawn line per run (`path.js-line`); Trackio: its runs "
        "table has 10 rows, or its Vega canvas holds the series' coloured pixels. **Page "
        "weight**: bytes transferred so far (Resource Timing `transferSize` of the document and "
        "every resource). **Server time**: the document's request start to response end, plus the "
        "span from the first data request's start to the last one's end (`/api/`, MLflow's "
        "`/ajax-api/`; concurrent requests overlap), on loopback. Servers: "
        "`art ui`, `mlflow ui --workers 1` (SQLite backend), `trackio show`"
        + (
            f" (MLflow {results.versions.get('mlflow', '?')}, Trackio "
            f"{results.versions.get('trackio', '?')}, in their own venv)."
            if with_peers
            else "; peers not measured (--quick or --no-peers)."
        ),
        "",
        "| View | System | Time to data | Rounds | vs fastest peer | Page weight | Server time "
        "| Data requests | Points drawn |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for view, title in VIEW_NAMES.items():
        label = title.format(**w.__dict__)
        fastest = results.fastest_peer(view)
        for system in systems:
            key = (system, view)
            if key in results.skipped:
                lines.append(
                    f"| {label} | {system} | not measured: {results.skipped[key]} | | | | | | |"
                )
                continue
            loads = results.loads.get(key)
            if not loads:
                continue
            t = results.median_of(system, view, "seconds")
            ratio = "-"
            if fastest is not None and t:
                ratio = (
                    f"{fastest[1] / t:.1f}x faster than {fastest[0]}"
                    if system == "artstore"
                    else f"{t / fastest[1]:.2f}x the fastest"
                    if system != fastest[0]
                    else "fastest peer"
                )
            points = results.median_of(system, view, "points") if system == "artstore" else None
            lines.append(
                f"| {label} | {system} | {_seconds(t)} | "
                + " / ".join(f"{x.seconds:.3f}" for x in loads)
                + f" | {ratio} | {_kb(results.median_of(system, view, 'bytes'))} | "
                f"{_seconds(results.median_of(system, view, 'server_seconds'))} | "
                f"{results.median_of(system, view, 'data_requests'):.0f} | "
                f"{'-' if points is None else f'{points:,.0f}'} |"
            )
    lines += ["", *_load_note(machine), "### Targets", "", *_targets(results, with_peers)]
    lines += ["", *machine_table(machine), "", END, ""]
    return "\n".join(lines)


def _load_note(machine: dict[str, str]) -> list[str]:
    """A warning when other work loaded the machine while the views were measured."""
    cores = os.cpu_count() or 1
    try:
        load = float(machine.get("Load average at the end", "").split(" / ")[0])
    except ValueError:
        return []
    if load <= cores:
        return []
    return [
        f"Other work loaded the machine while this ran (1-minute load average {load:.1f} on "
        f"{cores} cores, see Machine): every time is inflated by it, the peers' as much as "
        "artstore's, since the systems' loads of a view follow each other.",
        "",
    ]


def _targets(results: Results, with_peers: bool) -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    for view in VIEW_NAMES:
        t = results.median_of("artstore", view, "seconds")
        if t is None:
            out.append(
                f"- ({view}) not measured for artstore: "
                f"{results.skipped.get(('artstore', view), 'no result')}"
            )
            continue
        size = results.median_of("artstore", view, "bytes") or 0
        parts = [
            f"time {t:.3f} s <= {VIEW_SECONDS_MAX} s: {verdict(t <= VIEW_SECONDS_MAX)}",
            f"page weight {size / 1000:,.0f} KB <= {PAGE_BYTES_MAX // 1000} KB: "
            f"{verdict(size <= PAGE_BYTES_MAX)}",
        ]
        fastest = results.fastest_peer(view)
        if with_peers and fastest is not None:
            ratio = fastest[1] / t
            parts.append(
                f"{ratio:.1f}x faster than the fastest peer ({fastest[0]}) >= "
                f"{PEER_RATIO_MIN:.0f}x: {verdict(ratio >= PEER_RATIO_MIN)}"
            )
        if view == "c'":
            server = results.median_of("artstore", view, "server_seconds") or 0.0
            parts.append(
                f"server time {server * 1000:.0f} ms <= {SERVER_SECONDS_MAX * 1000:.0f} "
                f"ms: {verdict(server <= SERVER_SECONDS_MAX)}"
            )
        out.append(f"- ({view}) " + "; ".join(parts))
    return out


if __name__ == "__main__":
    sys.exit(main())
