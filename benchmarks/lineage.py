"""Lineage benchmark: ancestors of the newest node in SQL (recursive CTE) against networkx.

Three graphs of about 1,000,000 edges each are built in fresh SQLite catalogs (created by
``Catalog.open``, then filled with SQLAlchemy core ``executemany`` inserts in big transactions,
``PRAGMA synchronous=OFF`` for the builder only), from a seeded RNG:

* ``pipelines``: independent chains of alternating version and run nodes, 51 versions and 50
  runs each (every run uses the previous version and produces the next): 100 edges a pipeline,
  so 10,000 pipelines make 1,000,000 edges (5,000 pipelines would make only 500,000);
* ``chain``: one chain of 10,000 versions (9,999 runs, 19,998 edges), padded with 9,800
  unrelated pipelines (980,000 edges) to 999,998 edges; the chain is written last;
* ``random``: 10 root versions, then 333,333 versions each produced by its own run that uses 2
  distinct versions drawn uniformly among all older ones: 3 edges per new version, 999,999
  edges in all.

For the newest version of each graph, ``catalog.lineage.walk(node, direction="up")`` (the whole
API call: walk, edges, bulk node details) is timed 5 times after one warm-up call and the
median reported, beside the SQL walk alone (``ancestry.walk``). networkx is the baseline: the
edge table is loaded into a ``DiGraph`` (timed), then ``nx.ancestors`` is timed the same way;
both ancestor counts must agree.

Usage: ``python benchmarks/lineage.py [--quick] [--out FILE] [--workdir DIR] [--seed N]``.
Without ``--out``, a full run writes the ``## Lineage`` section of ``benchmarks/RESULTS.md``
(only that section is replaced) and a ``--quick`` run writes nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import sqlalchemy as sa
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import describe_machine, load_average, write_section

from artstore.lineage import Catalog

BEGIN = "<!-- lineage:begin -->"
END = "<!-- lineage:end -->"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SEED = 20261123
ROUNDS = 5
TARGET_S = 0.050
BATCH = 50_000
NOW = datetime(2026, 11, 23, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Scale:
    pipelines: int  # graph a
    chain: int  # versions in graph b's chain
    padding: int  # pipelines padding graph b
    random_nodes: int  # new versions in graph c


FULL = Scale(pipelines=10_000, chain=10_000, padding=9_800, random_nodes=333_333)
QUICK = Scale(pipelines=100, chain=200, padding=98, random_nodes=3_333)
PIPELINE_RUNS = 50
RANDOM_ROOTS = 10


class Builder:
    """Buffers rows and writes them with core ``executemany``, parents before children."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        tables = SQLModel.metadata.tables
        self.tables = [tables[n] for n in ("artifacts", "runs", "versions", "lineage_edges")]
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in self.tables}
        self.next_artifact = self.next_version = self.next_run = 1
        self.edges = 0

    def artifact(self, name: str) -> int:
        artifact_id = self.next_artifact
        self.next_artifact += 1
        row = {"id": artifact_id, "name": name, "type": "dataset", "created_at": NOW}
        self._add("artifacts", row)
        return artifact_id

    def run(self) -> str:
        run_id = f"run{self.next_run:07d}"
        self.next_run += 1
        row = {
            "id": run_id,
            "project": "bench",
            "name": "step",
            "status": "finished",
            "config": {},
            "summary": {},
            "tags": [],
            "user": "bench@host",
            "created_at": NOW,
            "heartbeat_at": NOW,
            "heartbeat_timeout": 60.0,
        }
        self._add("runs", row)
        return run_id

    def version(self, artifact_id: int, number: int, run_id: str | None) -> int:
        version_id = self.next_version
        self.next_version += 1
        row = {
            "id": version_id,
            "artifact_id": artifact_id,
            "number": number,
            "digest": f"{version_id:032x}",
            "size": 1,
            "file_count": 1,
            "metadata": {},
            "created_by_run": run_id,
            "created_by_user": "bench@host",
            "created_at": NOW,
        }
        self._add("versions", row)
        return version_id

    def edge(self, run_id: str, version_id: int, kind: str) -> None:
        run_node, version_node = f"r:{run_id}", f"v:{version_id}"
        src, dst = (version_node, run_node) if kind == "used" else (run_node, version_node)
        row = {
            "run_id": run_id,
            "version_id": version_id,
            "kind": kind,
            "src": src,
            "dst": dst,
            "created_at": NOW,
        }
        self.edges += 1
        self._add("lineage_edges", row)

    def _add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)
        if len(self.rows[table]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table in self.tables:
            rows = self.rows[table.name]
            if rows:
                self.conn.execute(sa.insert(table), rows)
                rows.clear()


def pipelines(b: Builder, count: int, prefix: str) -> int:
    """``count`` chains v -> r -> v ... (51 versions, 50 runs); returns the last version id."""
    last = 0
    for p in range(count):
        artifact = b.artifact(f"{prefix}{p:05d}")
        last = b.version(artifact, 0, None)
        for step in range(PIPELINE_RUNS):
            run = b.run()
            b.edge(run, last, "used")
            last = b.version(artifact, step + 1, run)
            b.edge(run, last, "produced")
    return last


def build_pipelines(b: Builder, scale: Scale, rng: random.Random) -> int:
    return pipelines(b, scale.pipelines, "pipe")


def build_chain(b: Builder, scale: Scale, rng: random.Random) -> int:
    pipelines(b, scale.padding, "pad")
    artifact = b.artifact("chain")
    last = b.version(artifact, 0, None)
    for number in range(1, scale.chain):
        run = b.run()
        b.edge(run, last, "used")
        last = b.version(artifact, number, run)
        b.edge(run, last, "produced")
    return last


def build_random(b: Builder, scale: Scale, rng: random.Random) -> int:
    artifact = b.artifact("node")
    ids = [b.version(artifact, n, None) for n in range(RANDOM_ROOTS)]
    for n in range(RANDOM_ROOTS, RANDOM_ROOTS + scale.random_nodes):
        run = b.run()
        for parent in rng.sample(range(len(ids)), 2):
            b.edge(run, ids[parent], "used")
        ids.append(b.version(artifact, n, run))
        b.edge(run, ids[-1], "produced")
    return ids[-1]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    description: str
    runs: int
    versions: int
    edges: int
    build_s: float
    db_bytes: int
    ancestors: int
    api_s: list[float]
    walk_s: list[float]
    nx_load_s: float
    nx_ancestors: int
    nx_s: list[float]


def timed(fn: Callable[[], Any], rounds: int = ROUNDS) -> tuple[Any, list[float]]:
    """One warm-up call, then ``rounds`` timed calls; returns the last result and the times."""
    result = fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def measure(
    workdir: Path, name: str, description: str, build: Callable[..., int], scale: Scale, seed: int
) -> Result:
    path = workdir / f"{name}.db"
    url = f"sqlite:///{path}"
    Catalog.open(url).close()  # the real schema, made by the catalog
    engine = sa.create_engine(url)
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous = OFF")
        builder = Builder(conn)
        newest = build(builder, scale, random.Random(seed))
        builder.flush()
    build_s = time.perf_counter() - start
    engine.dispose()
    # Write the freshly built database back now, so the kernel's writeback of a few hundred
    # MiB of dirty pages does not run during the timed calls.
    os.sync()
    node = f"v:{newest}"
    print(f"  {name}: built {builder.edges:,} edges in {build_s:.1f} s", file=sys.stderr)

    with Catalog.open(url) as catalog:
        graph, api_s = timed(lambda: catalog.lineage.walk(node, direction="up"))
        assert graph.root == node

        found, walk_s = timed(lambda: catalog.lineage.ancestors(node))
        if set(found) != {n.id for n in graph.nodes} - {node}:
            raise SystemExit(f"{name}: catalog.lineage.ancestors and catalog.lineage.walk disagree")

    start = time.perf_counter()
    con = sqlite3.connect(path)
    g = nx.DiGraph()
    g.add_edges_from(con.execute("SELECT src, dst FROM lineage_edges"))
    con.close()
    nx_load_s = time.perf_counter() - start
    nx_found, nx_s = timed(lambda: nx.ancestors(g, node))
    ancestors = len(graph.nodes) - 1
    if ancestors != len(nx_found) or {n.id for n in graph.nodes} != nx_found | {node}:
        raise SystemExit(f"{name}: SQL found {ancestors} ancestors, networkx {len(nx_found)}")
    size = path.stat().st_size
    return Result(
        name=name,
        description=description,
        runs=builder.next_run - 1,
        versions=builder.next_version - 1,
        edges=builder.edges,
        build_s=build_s,
        db_bytes=size,
        ancestors=ancestors,
        api_s=api_s,
        walk_s=walk_s,
        nx_load_s=nx_load_s,
        nx_ancestors=len(nx_found),
        nx_s=nx_s,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.0f} s"


def spread(times: list[float]) -> str:
    return f"{ms(statistics.median(times))} ({ms(min(times))} – {ms(max(times))})"


def section(results: list[Result], args: argparse.Namespace, elapsed: float) -> str:
    machine = describe_machine(args.workdir)
    started = datetime.now(UTC)
    mode = "quick" if args.quick else "full"
    lines = [
        BEGIN,
        "## Lineage (`benchmarks/lineage.py`)",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, mode **{mode}**, seed {args.seed}, whole run "
        f"{elapsed:.0f} s. Machine: {machine['CPU']}, {machine['Cores']} cores, "
        f"{machine['RAM']} RAM; {machine['Kernel']}; Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}, networkx {nx.__version__}; {machine['artstore']}. "
        f"Load average at the start {args.load_start}, at the end {load_average()} (1/5/15 "
        "min): other work on this 2-core machine inflates the figures.",
        "",
        "Ancestors of the newest version of each graph (each graph ~1M edges in a fresh SQLite "
        "catalog). The target applies to `catalog.lineage.ancestors(node)`: the ids of every "
        "ancestor from one recursive CTE over the (dst, src) covering index. "
        '`catalog.lineage.walk(node, direction="up")` is the graph for display: the same walk '
        "plus the edges among the nodes found and one bulk query each for the runs and the "
        "versions, turned into records. Times are medians of "
        f"{ROUNDS} calls after one warm-up (min – max in brackets). networkx loads the "
        "whole edge table into a `DiGraph` first (`SELECT src, dst` with sqlite3), then runs "
        "`nx.ancestors`; both ancestor counts agree (checked). `os.sync()` runs after each build, "
        "before the timed calls.",
        "",
        "Graphs: **pipelines**: 10,000 independent chains of 51 versions and 50 runs (100 "
        "edges each; the brief's 5,000 pipelines of 100 nodes would make only 0.5M edges). "
        "**chain**: a chain of 10,000 versions through 9,999 runs (each uses the previous "
        "version and produces the next), written after 9,800 unrelated pipelines (980,000 "
        "edges) of padding. **random**: 10 root versions, then 333,333 versions each produced "
        "by its own run that uses 2 distinct versions drawn uniformly among all older ones (3 "
        "edges per new version, hence 333,333 rather than 500,000 nodes for ~1M edges).",
        "",
        "| Graph | Runs | Versions | Edges | Build | DB size | Ancestors | "
        "`catalog.lineage.ancestors` "
        f"| Target ≤ {TARGET_S * 1000:.0f} ms | `catalog.lineage.walk` | networkx load | "
        "`nx.ancestors` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        query = statistics.median(r.walk_s)
        verdict = "**PASS**" if query <= TARGET_S else "**FAIL**"
        lines.append(
            f"| {r.name} | {r.runs:,} | {r.versions:,} | {r.edges:,} | {r.build_s:.1f} s | "
            f"{r.db_bytes / 2**20:.0f} MiB | {r.ancestors:,} | {spread(r.walk_s)} | {verdict} | "
            f"{spread(r.api_s)} | {r.nx_load_s:.2f} s | {spread(r.nx_s)} |"
        )
    per = ", ".join(
        f"{r.name} {statistics.median(r.walk_s) / max(r.ancestors, 1) * 1e6:.2f} us"
        for r in results
    )
    lines += [
        "",
        f"`catalog.lineage.ancestors` per ancestor found: {per}. `catalog.lineage.walk` adds "
        "the edges and the bulk lookups of every node's run or version row and builds one "
        "record per node, so its cost grows with the number of nodes returned, not with the "
        "size of the catalog.",
        END,
    ]
    return "\n".join(lines) + "\n"


def workdirs(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    made = Path(tempfile.mkdtemp(prefix="artstore-lineage-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny graphs, for a smoke test")
    parser.add_argument("--out", type=Path, help="markdown file whose lineage section to write")
    parser.add_argument("--workdir", type=Path, help="where to build the catalogs (default: temp)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    out = args.out or (None if args.quick else RESULTS)
    started = time.perf_counter()
    args.load_start = load_average()
    graphs: list[tuple[str, str, Callable[..., int]]] = [
        ("pipelines", "independent pipelines", build_pipelines),
        ("chain", "one long chain + padding", build_chain),
        ("random", "uniform random DAG", build_random),
    ]
    results = []
    for workdir in workdirs(args.workdir):
        args.workdir = workdir
        for i, (name, description, build) in enumerate(graphs):
            result = measure(workdir, name, description, build, scale, args.seed + i)
            results.append(result)
            print(
                f"{name}: {result.ancestors:,} ancestors; lineage {spread(result.api_s)}, "
                f"walk {spread(result.walk_s)}; networkx load {result.nx_load_s:.2f} s, "
                f"ancestors {spread(result.nx_s)}",
                file=sys.stderr,
            )
            (workdir / f"{name}.db").unlink()
            for suffix in ("-wal", "-shm"):
                (workdir / f"{name}.db{suffix}").unlink(missing_ok=True)
        text = section(results, args, time.perf_counter() - started)
    print(text)
    if out is not None:
        write_section(out, "lineage", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
