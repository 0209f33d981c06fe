"""Tracker benchmark: ``run.log()`` of 100,000 steps x 10 scalars against raw ``sqlite3``;
media (images and histograms) against a floor and W&B.

Two child processes alternate, ``--rounds`` times (default 3), each on fresh files:

* **baseline**: plain ``sqlite3`` into a new WAL-mode database (``synchronous=NORMAL``,
  ``foreign_keys=ON``) holding a ``runs`` table and a ``metrics`` table with the same DDL and
  indexes (``run_id, key, step, value`` and the partial media one) as artstore's catalog.
  The 1,000,000 row tuples are built first (not timed); then one ``executemany`` in one
  transaction, timed until ``commit()`` returns;
* **artstore**: a new local store (``Store.init``), ``art.init(capture_console=False)`` with
  default batching, then 100,000 ``run.log({10 float scalars})`` calls. The loop is timed
  (mean microseconds per call, including building the 10-key dict); then ``run.finish()``:
  the time from the start of the loop until ``finish()`` returns is when every row is durable
  in the catalog. The rows are counted in ``catalog.db`` afterwards. The same loop without the
  ``run.log`` call is timed too (the dict-building overhead, reported beside).

A media workload follows (``--media-steps``, default 1,000): each step logs an ``Image`` of a
different 64x64x3 array and a ``Histogram`` of 1,000 floats, against a floor measured in the
same run (Pillow PNG files plus a JSON line per step, then one ``syncfs``) and, when a Python
that imports wandb is at hand (``--wandb-python``; a separate venv keeps wandb's dependencies
out of artstore's), W&B offline. Per-step time until durable, bytes stored and the ratio to the
floor are reported.

Each child runs under ``/usr/bin/time -f %M`` (``_harness.run``) so its own peak RSS is known.
Medians of the rounds are reported. Targets: ``run.log`` <= 10 us per call; durable time
<= 3x the baseline's.

Usage: ``python benchmarks/tracker.py [--quick] [--out FILE] [--workdir DIR] [--rounds N]
[--media-steps N] [--wandb-python PYTHON]``.
Without ``--out`` the section is printed; ``--out benchmarks/RESULTS.md`` replaces only the
``tracker`` section of that file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    describe_machine,
    format_bytes,
    format_seconds,
    load_average,
    machine_table,
    make_workdir,
    median,
    note,
    run,
    write_section,
)

BEGIN = "<!-- tracker:begin -->"
END = "<!-- tracker:end -->"

KEYS = 10  # scalars per step (fixed: the workers log a 10-key dict literal)
FULL_STEPS = 100_000
QUICK_STEPS = 2_000
US_PER_CALL_MAX = 10.0
DURABLE_RATIO_MAX = 3.0

# The catalog's DDL (artstore/lineage/tables.py MetricRow, as SQLAlchemy emits it for SQLite).
BASELINE_DDL = """
CREATE TABLE runs (id VARCHAR NOT NULL, PRIMARY KEY (id));
CREATE TABLE metrics (
    id INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    step BIGINT NOT NULL,
    "key" VARCHAR NOT NULL,
    value FLOAT,
    text VARCHAR,
    time FLOAT NOT NULL,
    media TEXT,
    PRIMARY KEY (id),
    FOREIGN KEY(run_id) REFERENCES runs (id)
);
CREATE INDEX ix_metrics_run_key_step_value ON metrics (run_id, "key", step, value);
CREATE INDEX ix_metrics_run_key_media ON metrics (run_id, "key") WHERE media IS NOT NULL;
"""

BASELINE_WORKER = r"""
import json, sqlite3, sys, time
path, steps, ddl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA foreign_keys=ON")
db.executescript(ddl)
db.execute("INSERT INTO runs (id) VALUES ('baseline')")
keys = ["train/loss", "train/acc", "val/loss", "val/acc", "lr", "grad_norm", "epoch",
        "throughput", "gpu/mem", "gpu/util"]
now = time.time()
g0 = time.perf_counter()
rows = [("baseline", s, k, s * 0.001 + i, None, now) for s in range(steps)
        for i, k in enumerate(keys)]
build = time.perf_counter() - g0
sql = "INSERT INTO metrics (run_id, step, key, value, text, time) VALUES (?, ?, ?, ?, ?, ?)"
t0 = time.perf_counter()
db.execute("BEGIN")
db.executemany(sql, rows)
db.execute("COMMIT")
seconds = time.perf_counter() - t0
count = db.execute("SELECT count(*) FROM metrics").fetchone()[0]
db.close()
print(json.dumps({"seconds": seconds, "build": build, "rows": count}))
"""

ARTSTORE_WORKER = r"""
import json, sqlite3, sys, time
t_import = time.perf_counter()
import artstore as art
url, steps = sys.argv[1], int(sys.argv[2])
store = art.Store.init(url)
t_init = time.perf_counter()
run = art.init(project="bench", name="tracker", store=store, capture_console=False)
init_s = time.perf_counter() - t_init
log = run.log

# The dict-building overhead alone: the same loop without the call.
t0 = time.perf_counter()
for step in range(steps):
    x = step * 0.001
    d = {"train/loss": x, "train/acc": x + 1.0, "val/loss": x + 2.0, "val/acc": x + 3.0,
         "lr": x + 4.0, "grad_norm": x + 5.0, "epoch": x + 6.0, "throughput": x + 7.0,
         "gpu/mem": x + 8.0, "gpu/util": x + 9.0}
overhead = time.perf_counter() - t0

t0 = time.perf_counter()
c0 = time.thread_time()
for step in range(steps):
    x = step * 0.001
    log({"train/loss": x, "train/acc": x + 1.0, "val/loss": x + 2.0, "val/acc": x + 3.0,
         "lr": x + 4.0, "grad_norm": x + 5.0, "epoch": x + 6.0, "throughput": x + 7.0,
         "gpu/mem": x + 8.0, "gpu/util": x + 9.0})
t1 = time.perf_counter()
cpu = time.thread_time() - c0
# How far the background writer got while the loop ran (this read is not billed to finish()).
db = sqlite3.connect(url + "/catalog.db")
at_loop_end = db.execute("SELECT count(*) FROM metrics").fetchone()[0]
peek = time.perf_counter() - t1
run.finish()
t2 = time.perf_counter()

count = db.execute("SELECT count(*) FROM metrics WHERE run_id = ?", (run.id,)).fetchone()[0]
status, summary = db.execute("SELECT status, summary FROM runs WHERE id = ?", (run.id,)).fetchone()
db.close()
print(json.dumps({"loop": t1 - t0, "loop_cpu": cpu, "finish": t2 - t1 - peek,
                  "durable": t2 - t0 - peek, "overhead": overhead, "at_loop_end": at_loop_end,
                  "init": init_s, "rows": count, "status": status,
                  "last_loss": json.loads(summary).get("train/loss")}))
"""


@dataclass
class Results:
    steps: int
    baseline: list[float] = field(default_factory=list)
    baseline_build: list[float] = field(default_factory=list)
    baseline_rss_kib: list[int] = field(default_factory=list)
    loop: list[float] = field(default_factory=list)
    loop_cpu: list[float] = field(default_factory=list)
    finish: list[float] = field(default_factory=list)
    durable: list[float] = field(default_factory=list)
    overhead: list[float] = field(default_factory=list)
    init: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    at_loop_end: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    baseline_rows: list[int] = field(default_factory=list)

    @property
    def expected_rows(self) -> int:
        return self.steps * KEYS

    def us_per_call(self) -> float:
        return median(self.loop) / self.steps * 1e6

    def ratios(self) -> list[float]:
        """Durable time / baseline time, round by round (each pair ran back to back)."""
        return [d / b for d, b in zip(self.durable, self.baseline, strict=True)]

    def ratio(self) -> float:
        return median(self.ratios())

    def rows_ok(self) -> bool:
        return all(r == self.expected_rows for r in self.rows + self.baseline_rows) and all(
            s == "finished" for s in self.statuses
        )

    def all_pass(self) -> bool:
        return (
            self.us_per_call() <= US_PER_CALL_MAX
            and self.ratio() <= DURABLE_RATIO_MAX
            and self.rows_ok()
        )


def measure_round(work: Path, index: int, res: Results, log: Any) -> None:
    folder = work / f"round-{index}"
    folder.mkdir()
    b = run([sys.executable, "-c", BASELINE_WORKER, str(folder / "baseline.db"),
             str(res.steps), BASELINE_DDL])  # fmt: skip
    out = json.loads(b.stdout)
    res.baseline.append(out["seconds"])
    res.baseline_build.append(out["build"])
    res.baseline_rows.append(out["rows"])
    res.baseline_rss_kib.append(b.max_rss_kib)
    shutil.rmtree(folder / "baseline.db", ignore_errors=True)
    for name in ("baseline.db", "baseline.db-wal", "baseline.db-shm"):
        (folder / name).unlink(missing_ok=True)

    env = {"XDG_CACHE_HOME": str(folder / "cache"), "ARTSTORE_MODE": "online"}
    a = run([sys.executable, "-c", ARTSTORE_WORKER, str(folder / "store"), str(res.steps)],
            env=env, cwd=folder)  # fmt: skip
    out = json.loads(a.stdout)
    for key in ("loop", "loop_cpu", "finish", "durable", "overhead", "init"):
        getattr(res, key).append(out[key])
    res.rows.append(out["rows"])
    res.at_loop_end.append(out["at_loop_end"])
    res.statuses.append(out["status"])
    res.rss_kib.append(a.max_rss_kib)
    shutil.rmtree(folder, ignore_errors=True)
    log(
        f"  round {index}: baseline {res.baseline[-1]:.3f}s; artstore loop "
        f"{out['loop'] / res.steps * 1e6:.2f} us/call, durable {out['durable']:.3f}s "
        f"(finish {out['finish']:.3f}s, {out['at_loop_end']:,} rows committed at loop end), "
        f"{out['rows']:,} rows, RSS {a.max_rss_mib:.0f} MiB"
    )


# -- media workload ----------------------------------------------------------------------------

MEDIA_STEPS = 1_000
QUICK_MEDIA_STEPS = 100

# The same pictures and values in every worker: a smooth gradient moved by the step, with
# noise, so each PNG differs and compresses as a photo-like image does (not as pure noise).
MEDIA_DATA = r"""
import numpy as np
def media_inputs(steps):
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:64, 0:64]
    images, values = [], []
    for step in range(steps):
        base = np.stack([(xs * 4 + step) % 256, (ys * 4 + 2 * step) % 256,
                         ((xs + ys) * 2 + 3 * step) % 256], axis=-1)
        noise = rng.integers(-8, 9, size=(64, 64, 3))
        images.append(np.clip(base + noise, 0, 255).astype(np.uint8))
        values.append(rng.normal(loc=step * 0.001, scale=1.0, size=1_000))
    return images, values
def tree_bytes(path):
    import os
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(folder, n)).st_size for n in files)
    return total
"""

MEDIA_FLOOR_WORKER = (
    MEDIA_DATA
    + r"""
import ctypes, json, os, sys, time
from PIL import Image
folder, steps = sys.argv[1], int(sys.argv[2])
images, values = media_inputs(steps)
os.makedirs(folder)
t0 = time.perf_counter()
with open(os.path.join(folder, "history.jsonl"), "w") as lines:
    for step in range(steps):
        name = f"img-{step}.png"
        Image.fromarray(images[step]).save(os.path.join(folder, name), format="PNG")
        counts, edges = np.histogram(values[step], bins=64)
        lines.write(json.dumps({"_step": step, "img": name, "h": {"bins": edges.tolist(),
                                "values": counts.tolist()}}) + "\n")
loop = time.perf_counter() - t0
fd = os.open(folder, os.O_RDONLY)
ctypes.CDLL(None, use_errno=True).syncfs(fd)
os.close(fd)
durable = time.perf_counter() - t0
print(json.dumps({"loop": loop, "durable": durable, "bytes": tree_bytes(folder),
                  "images": sum(1 for n in os.listdir(folder) if n.endswith(".png"))}))
"""
)

MEDIA_ARTSTORE_WORKER = (
    MEDIA_DATA
    + r"""
import json, sqlite3, sys, time
import artstore as art
url, steps = sys.argv[1], int(sys.argv[2])
images, values = media_inputs(steps)
store = art.Store.init(url)
run = art.init(project="bench", name="media", store=store, capture_console=False)
before = tree_bytes(url)
t0 = time.perf_counter()
for step in range(steps):
    run.log({"img": art.Image(images[step]), "h": art.Histogram(values[step])})
loop = time.perf_counter() - t0
run.finish()
durable = time.perf_counter() - t0
db = sqlite3.connect(url + "/catalog.db")
rows = db.execute("SELECT count(*) FROM metrics WHERE run_id = ? AND key = 'img'",
                  (run.id,)).fetchone()[0]
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
print(json.dumps({"loop": loop, "durable": durable, "bytes": tree_bytes(url) - before,
                  "images": rows}))
"""
)

MEDIA_WANDB_WORKER = (
    MEDIA_DATA
    + r"""
import json, os, sys, time
import wandb
folder, steps = sys.argv[1], int(sys.argv[2])
images, values = media_inputs(steps)
run = wandb.init(project="bench", mode="offline", dir=folder)
before = tree_bytes(folder)
t0 = time.perf_counter()
for step in range(steps):
    run.log({"img": wandb.Image(images[step]), "h": wandb.Histogram(values[step])})
loop = time.perf_counter() - t0
run.finish()
durable = time.perf_counter() - t0
pngs = sum(1 for _, _, files in os.walk(folder) for n in files if n.endswith(".png"))
print(json.dumps({"loop": loop, "durable": durable, "bytes": tree_bytes(folder) - before,
                  "images": pngs}))
"""
)

MEDIA_LOGGERS = ("floor", "artstore", "wandb")


@dataclass
class MediaResults:
    steps: int
    wandb: str  # the wandb version measured, or why it was not
    loop: dict[str, list[float]] = field(default_factory=dict)
    durable: dict[str, list[float]] = field(default_factory=dict)
    stored: dict[str, list[int]] = field(default_factory=dict)
    images: dict[str, list[int]] = field(default_factory=dict)
    rss_kib: dict[str, list[int]] = field(default_factory=dict)

    def loggers(self) -> list[str]:
        return [name for name in MEDIA_LOGGERS if self.durable.get(name)]

    def ms_per_step(self, name: str) -> float:
        return median(self.durable[name]) / self.steps * 1e3

    def ratio(self, name: str) -> float:
        """Durable time / the floor's, the median of the per-round ratios."""
        return median([d / f for d, f in zip(self.durable[name], self.durable["floor"],
                                              strict=True)])  # fmt: skip

    def images_ok(self) -> bool:
        return all(n == self.steps for counts in self.images.values() for n in counts)


def wandb_version(python: str) -> str | None:
    """The wandb version ``python`` imports, or None."""
    probe = run([python, "-c", "import wandb; print(wandb.__version__)"], check=False)
    return probe.stdout.strip() if probe.returncode == 0 else None


def measure_media_round(
    work: Path, index: int, res: MediaResults, wandb_python: str | None, log: Any
) -> None:
    folder = work / f"media-{index}"
    folder.mkdir()
    workers = {
        "floor": ([sys.executable, "-c", MEDIA_FLOOR_WORKER, str(folder / "floor")], {}),
        "artstore": (
            [sys.executable, "-c", MEDIA_ARTSTORE_WORKER, str(folder / "store")],
            {"XDG_CACHE_HOME": str(folder / "cache"), "ARTSTORE_MODE": "online"},
        ),
    }
    if wandb_python is not None:
        workers["wandb"] = (
            [wandb_python, "-c", MEDIA_WANDB_WORKER, str(folder / "wandb")],
            {"WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true",
             "WANDB_CONSOLE": "off", "WANDB_CACHE_DIR": str(folder / "wandb-cache"),
             "WANDB_CONFIG_DIR": str(folder / "wandb-config"), "WANDB_DATA_DIR":
             str(folder / "wandb-data")},
        )  # fmt: skip
    parts = []
    for name, (argv, env) in workers.items():
        done = run([*argv, str(res.steps)], env=env, cwd=folder)
        out = json.loads(done.stdout.strip().splitlines()[-1])
        res.loop.setdefault(name, []).append(out["loop"])
        res.durable.setdefault(name, []).append(out["durable"])
        res.stored.setdefault(name, []).append(out["bytes"])
        res.images.setdefault(name, []).append(out["images"])
        res.rss_kib.setdefault(name, []).append(done.max_rss_kib)
        parts.append(f"{name} {out['durable'] / res.steps * 1e3:.2f} ms/step "
                     f"{format_bytes(out['bytes'])}")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    log(f"  media round {index}: " + "; ".join(parts))


MEDIA_LABELS = {
    "floor": "Floor: Pillow PNG files + a JSON line per step, one `syncfs`",
    "artstore": "artstore: `run.log({Image, Histogram})`, until `finish()` returned",
    "wandb": "W&B offline: `wandb.log({Image, Histogram})`, until `finish()` returned",
}


MEDIA_NAMES = {"floor": "Floor", "artstore": "artstore", "wandb": "W&B"}


def render_media(res: MediaResults) -> list[str]:
    steps = res.steps
    lines = [
        "### Media workload",
        "",
        f'{steps:,} steps, each `log({{"img": Image(64x64x3 uint8 array), "h": '
        "Histogram(1,000 floats)})`; every image differs (a gradient moved by the step, with "
        "noise). Each round runs the floor, artstore and W&B in that order, each in its own "
        "child process on fresh folders; the arrays are made before the clock starts. Times "
        "run from the first `log()` until everything is written (`finish()` returned; for "
        "the floor, `syncfs` returned). *Stored* is what the store or folder grew by. "
        f"W&B: {res.wandb}.",
        "",
        "| Logger | Per step (median) | Min – max | Loop only | Stored | Ratio to floor | "
        "Images kept | Peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in res.loggers():
        durable = res.durable[name]
        lines.append(
            f"| {MEDIA_LABELS[name]} | {res.ms_per_step(name):.2f} ms | "
            f"{_spread(durable, 1e3 / steps, 'ms', '.2f')} | "
            f"{median(res.loop[name]) / steps * 1e3:.2f} ms | "
            f"{format_bytes(median(res.stored[name]))} | {res.ratio(name):.2f}× | "
            f"{', '.join(f'{n:,}' for n in res.images[name])} | "
            f"{max(res.rss_kib[name]) / 1024:.0f} MiB |"
        )
    lines += [
        "",
        f"Every round kept {steps:,} images per logger: {_verdict(res.images_ok())}. W&B's "
        "figure counts the PNG files under its run folder; artstore's the `img` rows in "
        "the catalog (each a reference to a content-addressed blob). artstore writes unfiltered "
        "PNG rows compressed by zlib at level 6 and keeps each histogram's 65 edges and 64 "
        "counts inline in the catalog; Pillow picks a PNG filter per image, which is why "
        "the floor's files are smaller.",
        "",
        "*Ratio to floor* is the median of the per-round ratios (a round runs the floor and "
        "the loggers back to back, so what loads the machine in a round touches them all), "
        "not the ratio of the medians shown; the rounds are below.",
        "",
        "#### Media per round (ms per step, until everything was written)",
        "",
        "| Round | "
        + " | ".join(
            MEDIA_NAMES[name] + ("" if name == "floor" else f" | {MEDIA_NAMES[name]} / floor")
            for name in res.loggers()
        )
        + " |",
        "|---:|" + "---:|" * (2 * len(res.loggers()) - 1),
    ]
    floor = res.durable["floor"]
    for i in range(len(floor)):
        cells = []
        for name in res.loggers():
            durable = res.durable[name][i]
            cells.append(f"{durable / steps * 1e3:.2f}")
            if name != "floor":
                cells.append(f"{durable / floor[i]:.2f}×")
        lines.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


# -- report ------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _spread(values: list[float], scale: float = 1.0, unit: str = "s", fmt: str = ".3f") -> str:
    return f"{min(values) * scale:{fmt}} – {max(values) * scale:{fmt}} {unit}"


PEERS = """### Peers, for context (not measured in this run)

From `NOTES.md`: measured earlier on the same machine class (2 cores, ext4) with other work
running, on the same workload (100,000 steps of 10 scalars); read them as ranges. They are
**not from this run**: only the raw `sqlite3` baseline above is a same-run comparison.

| Logger | Steps/s | 100,000 steps take |
|---|---:|---:|
| W&B offline (`wandb.log`) | 7.1k–7.5k | 13–14 s |
| MLflow `log_metrics` (one call per step) | 170–244 | 6.8–9.8 min |
| MLflow `log_batch` | 1.1k | 91 s |
| raw `sqlite3` `executemany` (NOTES.md's own figure) | 104k | 0.96 s |
"""


def _load_note(machine: dict[str, str]) -> list[str]:
    """A paragraph when other processes kept the cores busy at the start, else nothing."""
    load = float(machine.get("Load average at start", "0").split("/")[0])
    cores = os.cpu_count() or 1
    if load <= cores:
        return []
    return [
        f"The load average at the start ({load:.2f}) was above the {cores} cores: other "
        "processes took CPU time while this ran, so the wall-clock figures include waiting "
        "for them. The CPU time of the training thread per call is the figure to compare "
        "across runs.",
        "",
    ]


def render(
    args: argparse.Namespace,
    machine: dict[str, str],
    res: Results,
    started: datetime,
    elapsed: float,
    media: MediaResults | None = None,
) -> str:
    steps, rows = res.steps, res.expected_rows
    mode = "quick (tiny sizes, smoke test only)" if args.quick else "full"
    us = res.us_per_call()
    overhead_us = median(res.overhead) / steps * 1e6
    base, durable, ratio = median(res.baseline), median(res.durable), res.ratio()
    rss_max = max(res.rss_kib) / 1024
    lines = [
        BEGIN,
        "## Tracker (`benchmarks/tracker.py`)",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, mode **{mode}**, {args.rounds} alternating "
        f"round{'s' if args.rounds != 1 else ''}, "
        f"the whole run {elapsed:.0f} s. Command: `python benchmarks/tracker.py"
        f"{' --quick' if args.quick else ''} --rounds {args.rounds} --out ...`.",
        "",
        f"Workload: {steps:,} steps x {KEYS} float scalars = {rows:,} metric rows. Each round "
        "runs the baseline, then artstore, each in its own child process on fresh files "
        "(peak RSS from `/usr/bin/time -f %M`). Times are medians of the rounds.",
        "",
        "* **Baseline**: raw `sqlite3` into a new WAL database (`synchronous=NORMAL`, "
        "`foreign_keys=ON`, as the catalog's engine sets them) with the catalog's `metrics` DDL "
        "and indexes (`(run_id, key, step, value)`, and `(run_id, key)` where media is set); "
        "the row tuples are built first (not timed), then one "
        "`executemany` in one transaction, timed until `COMMIT` returns.",
        "* **artstore**: `Store.init` of a new local store, `art.init(capture_console=False)` "
        "with the default batching (`flush_rows=10_000`, `flush_interval=1.0`), then "
        f"{steps:,} `run.log({{10 floats}})` calls (the timed loop includes building each "
        "dict), then `run.finish()`. *Durable* is from the start of the loop until `finish()` "
        "returns: every row committed. Rows are counted in `catalog.db` afterwards. The ratio "
        "to the baseline is the median of the per-round ratios (each pair ran back to back).",
        "",
        "| Measurement | Median | Min – max | Target | Result |",
        "|---|---:|---:|---|---|",
        f"| Baseline: `executemany` of {rows:,} rows + commit | {format_seconds(base)} | "
        f"{_spread(res.baseline)} | | {rows / base / 1e6:.2f}M rows/s |",
        f"| artstore: `run.log()` per call (loop / {steps:,}) | {us:.2f} us | "
        f"{_spread(res.loop, 1e6 / steps, 'us', '.2f')} | ≤ {US_PER_CALL_MAX:g} us | "
        f"{_verdict(us <= US_PER_CALL_MAX)} ({1e6 / us / 1000:.0f}k steps/s) |",
        f"| artstore: `run.log()` CPU time of the training thread per call | "
        f"{median(res.loop_cpu) / steps * 1e6:.2f} us | "
        f"{_spread(res.loop_cpu, 1e6 / steps, 'us', '.2f')} | | info (excludes time lost to "
        "other processes and to the writer thread) |",
        f"| artstore: loop start → `finish()` returned (all rows durable) | "
        f"{format_seconds(durable)} | {_spread(res.durable)} | ≤ {DURABLE_RATIO_MAX:g}× "
        f"baseline | {_verdict(ratio <= DURABLE_RATIO_MAX)} {ratio:.2f}× "
        f"({steps / durable / 1000:.0f}k steps/s; ratio of medians "
        f"{durable / base:.2f}×) |",
        f"| artstore: rows already committed when the loop ended | "
        f"{median(res.at_loop_end):,.0f} | {min(res.at_loop_end):,} – "
        f"{max(res.at_loop_end):,} | | info ({median(res.at_loop_end) / rows:.0%}) |",
        f"| artstore: `finish()` alone (draining the backlog) | "
        f"{format_seconds(median(res.finish))} | {_spread(res.finish)} | | info |",
        f"| Rows in the catalog after `finish()` (every round) | "
        f"{', '.join(f'{r:,}' for r in res.rows)} | | = {rows:,}, run `finished` | "
        f"{_verdict(res.rows_ok())} |",
        f"| Peak RSS of the artstore process (max over rounds) | {rss_max:.0f} MiB | "
        f"{min(res.rss_kib) / 1024:.0f} – {rss_max:.0f} MiB | | info |",
        "",
        f"Beside: the same loop building the dict without calling `run.log` costs "
        f"{overhead_us:.2f} us per step (included in the per-call figure above); "
        f"`art.init()` took {median(res.init) * 1000:.0f} ms. The baseline process built its "
        f"{rows:,} tuples in {median(res.baseline_build):.2f} s (not timed) and peaked at "
        f"{max(res.baseline_rss_kib) / 1024:.0f} MiB RSS.",
        "",
        *_load_note(machine),
        f"Only {median(res.at_loop_end) / rows:.0%} of the rows were committed when the loop "
        "ended: in a tight pure-Python loop the writer thread gets little of the GIL "
        "(`executemany` binds every row with the GIL held), so nearly every row waits in memory "
        "(the peak RSS above) and `finish()` writes the backlog in one large transaction. A "
        "real training step spends most of its time in numpy/torch code that releases the "
        "GIL, which leaves the writer room to keep up; this benchmark is the worst case for "
        "the backlog.",
        "",
        *(render_media(media) if media is not None else []),
        "### Per round",
        "",
        "| Round | Baseline | `run.log` us/call | Durable | `finish()` | Ratio | "
        "Committed at loop end | Rows | RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i in range(len(res.loop)):
        lines.append(
            f"| {i + 1} | {res.baseline[i]:.3f} s | {res.loop[i] / steps * 1e6:.2f} | "
            f"{res.durable[i]:.3f} s | {res.finish[i]:.3f} s | "
            f"{res.ratios()[i]:.2f}× | {res.at_loop_end[i]:,} | {res.rows[i]:,} | "
            f"{res.rss_kib[i] / 1024:.0f} MiB |"
        )
    lines += [
        "",
        *machine_table(machine),
        "",
        PEERS,
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS:,} steps, 1 round")
    parser.add_argument("--out", type=Path, help="markdown file whose tracker section to write")
    parser.add_argument("--workdir", type=Path, help="where to put the databases "
                        "(default: a new temp dir under $TMPDIR or /tmp)")  # fmt: skip
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--steps", type=int, help=f"steps (default {FULL_STEPS:,})")
    parser.add_argument(
        "--media-steps",
        type=int,
        help=f"media workload steps (default {MEDIA_STEPS:,}; 0 skips it)",
    )
    parser.add_argument("--wandb-python", help="a Python that imports wandb, for the W&B "
                        "offline peer (default: this one, if it does)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    steps = args.steps or (QUICK_STEPS if args.quick else FULL_STEPS)

    log = note
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    work = make_workdir(args.workdir, "artstore-tracker-")
    res = Results(steps=steps)
    try:
        machine = describe_machine(work)
        machine.pop("Page cache", None)
        import sqlite3

        machine["SQLite"] = sqlite3.sqlite_version
        log(f"tracker: {steps:,} steps x {KEYS} scalars, {args.rounds} rounds, work dir {work}")
        for i in range(args.rounds):
            measure_round(work, i + 1, res, log)
        media = _measure_media(args, work, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine["Work dir"] += " (removed after the run)"
    machine["Load average at end"] = load_average()
    section = render(args, machine, res, started, time.perf_counter() - t0, media)
    if args.out is not None:
        write_section(args.out, "tracker", section)
        log(f"tracker: wrote {args.out}")
    else:
        print(section)
    log(
        f"tracker: run.log {res.us_per_call():.2f} us/call, durable {median(res.durable):.3f} s "
        f"= {res.ratio():.2f}x baseline {median(res.baseline):.3f} s, "
        f"peak RSS {max(res.rss_kib) / 1024:.0f} MiB, rows ok {res.rows_ok()}"
    )
    if media is not None:
        log("tracker: media " + ", ".join(
            f"{name} {media.ms_per_step(name):.2f} ms/step ({media.ratio(name):.2f}x floor)"
            for name in media.loggers()))  # fmt: skip
    ok = res.all_pass() and (media is None or media.images_ok())
    return 1 if args.strict and not ok else 0


def _measure_media(args: argparse.Namespace, work: Path, log: Any) -> MediaResults | None:
    steps = args.media_steps
    if steps is None:
        steps = QUICK_MEDIA_STEPS if args.quick else MEDIA_STEPS
    if steps == 0:
        return None
    python = args.wandb_python or sys.executable
    version = wandb_version(python)
    if version is None:
        told = "--wandb-python" if args.wandb_python else "this Python"
        res = MediaResults(steps, f"not measured (wandb does not import in {told})")
    else:
        res = MediaResults(steps, f"wandb {version} offline, in `{python}`")
    log(f"tracker: media, {steps:,} steps, {args.rounds} rounds; W&B: {res.wandb}")
    for i in range(args.rounds):
        measure_media_round(work, i + 1, res, python if version else None, log)
    return res


if __name__ == "__main__":
    sys.exit(main())
