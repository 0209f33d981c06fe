"""Sweep search quality and cost: bayes against random on Branin, and hyperband on a workload
where half the configs are bad.

1. Branin (two continuous parameters, x1 in [-5, 10], x2 in [0, 15], minimum 0.397887 at
   three points): for each seed, trials proposed one at a time through
   ``artstore.sweeps.propose`` (bayes and random, each trial finished before the next is
   proposed) until a value within 5% of the minimum is found, or the budget runs out.
2. The cost of one proposal (the study rebuilt from every past trial) as the sweep grows.
3. Hyperband (min_iter 3, eta 3, strict) over 40 simulated trials, 4 running at a time, each
   logging one value per tick for 27 ticks: half the configs converge to a low loss, half to a
   high one; how many trials it stops, and whether it stops the best config.
4. The controller's overhead per trial on a SQLite catalog: leasing it (one transaction:
   requeue expired leases, propose, create the run), one heartbeat and recording its end.

Usage: ``python benchmarks/sweeps.py [--quick] [--out FILE] [--seeds N] [--budget N]``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import describe_machine, load_average, median, note, write_section

from artstore.sweeps import (
    Hyperband,
    RunMetric,
    SweepConfig,
    Trial,
    parse_sweep_config,
    propose,
    runs_to_stop,
)

BEGIN = "<!-- sweeps:begin -->"
END = "<!-- sweeps:end -->"
BRANIN_MIN = 0.397887
WITHIN = 0.05
BAYES_WINS_NEEDED = 8
HYPERBAND_STOPPED_NEEDED = 0.40
OVERHEAD_TARGET = 0.050  # seconds per trial: lease + heartbeat + record on SQLite


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function (a = 1, b = 5.1 / (4 pi^2), c = 5 / pi, r = 6, s = 10,
    t = 1 / (8 pi))."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def branin_config(method: str) -> SweepConfig:
    return parse_sweep_config(
        {
            "method": method,
            "metric": {"name": "branin", "goal": "minimize"},
            "parameters": {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}},
        }
    )


def trials_to_reach(method: str, seed: int, budget: int) -> tuple[int | None, list[float]]:
    """Trials until one is within 5% of Branin's minimum (None: not within the budget), and
    the seconds each proposal took."""
    config = branin_config(method)
    trials: list[Trial] = []
    seconds = []
    for number in range(budget):
        t0 = time.perf_counter()
        params = propose(config, trials, sweep_id=f"branin-{seed}")
        seconds.append(time.perf_counter() - t0)
        assert params is not None
        value = branin(float(params["x1"]), float(params["x2"]))  # type: ignore[arg-type]
        trials.append(Trial(number, params, "finished", value))
        if value <= BRANIN_MIN * (1 + WITHIN):
            return number + 1, seconds
    return None, seconds


def proposal_cost(method: str, sizes: list[int], repeats: int) -> dict[int, float]:
    """Median seconds of one proposal given ``n`` finished trials, for each n."""
    config = branin_config(method)
    rng = random.Random(7)
    out = {}
    for n in sizes:
        trials = []
        for number in range(n):
            x1, x2 = rng.uniform(-5, 10), rng.uniform(0, 15)
            trials.append(Trial(number, {"x1": x1, "x2": x2}, "finished", branin(x1, x2)))
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            propose(config, trials, sweep_id=f"cost-{i}")
            times.append(time.perf_counter() - t0)
        out[n] = median(times)
    return out


def hyperband_workload(
    seed: int, trials: int = 40, slots: int = 4, ticks: int = 27
) -> tuple[int, int, bool, float]:
    """Simulate the workload of part 3: (trials stopped, trials finished, whether the best
    config was stopped, the best final loss among finished trials over the best overall)."""
    rng = random.Random(seed)
    finals = [rng.uniform(0.1, 0.3) for _ in range(trials // 2)]
    finals += [rng.uniform(0.6, 1.0) for _ in range(trials - trials // 2)]
    rng.shuffle(finals)
    curves = [
        [f + (1.0 - f) * math.exp(-t / 5) + rng.gauss(0, 0.01) for t in range(1, ticks + 1)]
        for f in finals
    ]
    band = Hyperband(min_iter=3, eta=3.0, strict=True)
    waiting = list(range(trials))
    running: dict[int, int] = {}  # trial -> values logged
    done: dict[int, tuple[int, bool]] = {}  # trial -> (values logged, stopped)
    while waiting or running:
        while waiting and len(running) < slots:
            running[waiting.pop(0)] = 0
        for trial in running:
            running[trial] += 1
        for trial in [t for t, n in running.items() if n == ticks]:
            done[trial] = (running.pop(trial), False)
        runs = {str(t): RunMetric(dict(enumerate(curves[t][:n])), True) for t, n in running.items()}
        runs |= {
            str(t): RunMetric(dict(enumerate(curves[t][:n])), False) for t, (n, _) in done.items()
        }
        for stop in runs_to_stop(band, "minimize", runs):
            trial = int(stop.run)
            done[trial] = (running.pop(trial), True)
    stopped = [t for t, (_, s) in done.items() if s]
    best = min(range(trials), key=lambda t: finals[t])
    finished_best = min(finals[t] for t, (_, s) in done.items() if not s)
    return len(stopped), trials - len(stopped), best in stopped, finished_best / finals[best]


def controller_overhead(method: str, trials: int) -> list[float]:
    """Seconds per trial of the controller's catalog work on a new SQLite store: lease
    (with the proposal), one heartbeat, and the record of the trial's end."""
    from artstore.artifacts import Store
    from artstore.sweeps import create_sweep
    from artstore.sweeps.controller import lease_next

    config: dict[str, object] = {
        "method": method,
        "metric": {"name": "branin", "goal": "minimize"},
        "parameters": {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}},
    }
    if method == "grid":
        config["parameters"] = {"x": {"values": list(range(trials))}}
    ids = itertools.count()
    seconds = []
    with tempfile.TemporaryDirectory() as folder, Store.init(f"{folder}/store") as store:
        sweep = create_sweep(store, config, project="bench")
        catalog = store.repository.catalog
        for _ in range(trials):
            t0 = time.perf_counter()
            lease = lease_next(
                catalog,
                sweep,
                "bench-agent",
                seconds=60,
                run_fields=lambda n, p: {"id": f"r{next(ids)}", "project": "bench", "user": "b"},
            )
            trial = lease.trial
            assert trial is not None
            catalog.sweeps.heartbeat(sweep.id, trial.number, "bench-agent", seconds=60)
            catalog.sweeps.record(
                sweep.id,
                trial.number,
                "bench-agent",
                state="finished",
                metric=1.0,
                run={"status": "finished", "exit_code": 0},
            )
            seconds.append(time.perf_counter() - t0)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--out", type=Path, help="markdown file whose sweeps section to write")
    parser.add_argument("--seeds", type=int, help="Branin seeds (default 10; 2 with --quick)")
    parser.add_argument("--budget", type=int, help="trials per seed (default 300; 30 quick)")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (2 if args.quick else 10)
    args.budget = args.budget or (30 if args.quick else 300)
    started = datetime.now(UTC)
    load_before = load_average()
    t0 = time.perf_counter()
    rows = []
    for seed in range(args.seeds):
        bayes, bayes_s = trials_to_reach("bayes", seed, args.budget)
        rand, rand_s = trials_to_reach("random", seed, args.budget)
        rows.append((seed, bayes, rand, sum(bayes_s), sum(rand_s)))
        note(f"branin seed {seed}: bayes {bayes}, random {rand}")
    sizes = [10, 50] if args.quick else [10, 100, 300, 1000]
    costs = {m: proposal_cost(m, sizes, 1 if args.quick else 5) for m in ("bayes", "random")}
    bands = [hyperband_workload(seed) for seed in range(2 if args.quick else 10)]
    overhead = {m: controller_overhead(m, 10 if args.quick else 200) for m in ("grid", "bayes")}
    elapsed = time.perf_counter() - t0
    section = render(args, rows, costs, bands, started, elapsed, load_before, overhead)
    if args.out is not None:
        write_section(args.out, "sweeps", section)
    else:
        print(section)
    return 0


def render(
    args: argparse.Namespace,
    rows: list[tuple[int, int | None, int | None, float, float]],
    costs: dict[str, dict[int, float]],
    bands: list[tuple[int, int, bool, float]],
    started: datetime,
    elapsed: float,
    load_before: str,
    overhead: dict[str, list[float]],
) -> str:
    def shown(n: int | None) -> str:
        return str(n) if n is not None else f"> {args.budget}"

    def rank(n: int | None) -> float:
        return math.inf if n is None else n

    wins = sum(rank(b) < rank(r) for _, b, r, _, _ in rows)
    needed = math.ceil(BAYES_WINS_NEEDED * len(rows) / 10)
    machine = describe_machine(Path.cwd())
    mode = "quick (tiny sizes, smoke test only)" if args.quick else "full"
    lines = [
        BEGIN,
        "## Sweeps (`benchmarks/sweeps.py`)",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, mode **{mode}**, whole run {elapsed:.0f} s. "
        f"Machine: {machine['CPU']}, {machine['Cores']} cores; Python {sys.version.split()[0]}. "
        f"Load average at the start {load_before}, at the end {load_average()} (1/5/15 min). "
        f"Command: `python benchmarks/sweeps.py{' --quick' if args.quick else ''} "
        f"--seeds {args.seeds} --budget {args.budget} --out ...`.",
        "",
        f"### Branin: trials until one is within {WITHIN:.0%} of the minimum ({BRANIN_MIN})",
        "",
        "Each trial is proposed by `artstore.sweeps.propose` from all the trials before it "
        "(finished, one at a time), the study rebuilt each call. Bayes is optuna's "
        "`TPESampler(multivariate=True, constant_liar=True)` (its first 10 trials are random); "
        f"random is `RandomSampler`. A seed that reaches no such value in {args.budget} trials "
        f"shows `> {args.budget}`.",
        "",
        "| Seed | Bayes | Random | Bayes fewer | Time proposing, bayes | Time proposing, random |",
        "|---:|---:|---:|---|---:|---:|",
    ]
    for seed, b, r, bs, rs in rows:
        fewer = "yes" if rank(b) < rank(r) else "no"
        lines.append(f"| {seed} | {shown(b)} | {shown(r)} | {fewer} | {bs:.1f} s | {rs:.1f} s |")
    verdict = "PASS" if wins >= needed else "FAIL"
    lines += [
        "",
        f"Bayes needed fewer trials than random in **{wins} of {len(rows)}** seeds "
        f"(target: {needed} of {len(rows)}): **{verdict}**.",
        "",
        "### The cost of one proposal as the sweep grows",
        "",
        "Median seconds of one `propose` call given n finished Branin trials (the in-memory "
        "study is rebuilt from all n each call, so the cost grows with n).",
        "",
        "| Finished trials | Bayes | Random |",
        "|---:|---:|---:|",
    ]
    for n in costs["bayes"]:
        lines.append(
            f"| {n:,} | {costs['bayes'][n] * 1000:.1f} ms | {costs['random'][n] * 1000:.1f} ms |"
        )
    stopped_share = sum(s for s, _, _, _ in bands) / sum(s + f for s, f, _, _ in bands)
    best_stopped = sum(b for _, _, b, _ in bands)
    verdict = "PASS" if stopped_share >= HYPERBAND_STOPPED_NEEDED and best_stopped == 0 else "FAIL"
    lines += [
        "",
        "### Hyperband on a workload where half the configs are bad",
        "",
        "40 simulated trials per seed, 4 running at once, one value per tick for 27 ticks: "
        "loss(t) = f + (1 - f) exp(-t / 5) + N(0, 0.01), with f drawn from U(0.1, 0.3) for half "
        "the configs and U(0.6, 1.0) for the other half. `runs_to_stop` (min_iter 3, eta 3, "
        "strict) is asked after every tick with every run so far.",
        "",
        "| Seed | Stopped early | Finished | Best config stopped |",
        "|---:|---:|---:|---|",
    ]
    for seed, (stopped, finished, best, _) in enumerate(bands):
        lines.append(f"| {seed} | {stopped} | {finished} | {'yes' if best else 'no'} |")
    lines += [
        "",
        f"Stopped early: **{stopped_share:.0%}** of the trials (target at least "
        f"{HYPERBAND_STOPPED_NEEDED:.0%}); the best config stopped in {best_stopped} of "
        f"{len(bands)} seeds (target: none): **{verdict}**.",
        "",
        "### The controller's overhead per trial on SQLite",
        "",
        "One agent, trials one after another on a new store's SQLite catalog: the lease (one "
        "`BEGIN IMMEDIATE` transaction: expired leases re-queued, the proposal, the trial and "
        "its run inserted), one heartbeat, and the record of the trial's end (trial and run "
        "rows). Bayes includes optuna's proposal from every trial so far, and each lease "
        "parses the sweep's config again. Left out: what `run_agent` adds around them (the "
        "metric read from the run at the end, the histories query of each heartbeat under "
        "hyperband) and starting the trial's process.",
        "",
        "| Method | Trials | Median per trial | p95 | Slowest |",
        "|---|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for method, times in overhead.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        worst = max(worst, median(times))
        lines.append(
            f"| {method} | {len(times)} | {median(times) * 1000:.1f} ms | {p95 * 1000:.1f} ms "
            f"| {ordered[-1] * 1000:.1f} ms |"
        )
    verdict = "PASS" if worst < OVERHEAD_TARGET else "FAIL"
    lines += [
        "",
        f"Median controller overhead per trial: **{worst * 1000:.1f} ms** at most (target under "
        f"{OVERHEAD_TARGET * 1000:.0f} ms): **{verdict}**.",
        END,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
