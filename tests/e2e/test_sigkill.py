"""SIGKILL at random moments during `art put`, a run logging an artifact, and `art sync`.

After every kill: `verify --deep` passes, every visible version downloads byte-identical to a
state its source really had, and the next put leaves no staging debris older than the grace.
The moments are drawn from a seeded generator (the seed is in the test's output, and
``ARTSTORE_CRASH_SEED`` replays it), uniformly over how long the uninterrupted operation took.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store
from artstore.storage import DEBRIS_GRACE, hash_bytes

pytestmark = pytest.mark.slow

ART = Path(sys.executable).with_name("art")
SEED = int(os.environ.get("ARTSTORE_CRASH_SEED", str(time.time_ns() % 2**32)))
KILLS = {"put": 20, "run": 15, "sync": 15}  # 50 moments in all
BIG = 16 * 1024 * 1024

# A training-like process: logs metrics, then its model as an artifact.
TRAIN = textwrap.dedent(
    """
    import sys
    import artstore
    store, model, mode, spool = sys.argv[1:5]
    run = artstore.init(project="crash", store=store, mode=mode, dir=spool, flush_interval=0.05)
    for step in range(200):
        run.log({"loss": 1.0 / (step + 1)})
    model_artifact = artstore.Artifact("model", type="model")
    model_artifact.add_dir(model)
    print("logging the artifact", flush=True)
    run.log_artifact(model_artifact, aliases=["candidate"])
    run.finish()
    """
)


def write_state(folder: Path, rng: random.Random) -> dict[str, str]:
    """Give ``folder`` new content (one large file, some small ones); return path -> digest."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"weights.bin": rng.randbytes(BIG)}
    files.update({f"part/{i}.txt": rng.randbytes(rng.randrange(1, 4096)) for i in range(20)})
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: hash_bytes(data).hex for rel, data in files.items()}


def start(args: list[str], env: dict[str, str], marker: str | None) -> subprocess.Popen[str]:
    """Start ``args``; with ``marker``, return once it printed that line (the moment the
    interesting part begins), so kills land there rather than during start-up."""
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if marker is not None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == marker:
                break
    return proc


def kill_at(
    args: list[str], moment: float, env: dict[str, str], marker: str | None
) -> float | None:
    """Start ``args`` and SIGKILL it ``moment`` seconds later (after ``marker``) unless it
    ended first; return None when it was killed, else how long it took."""
    proc = start(args, env, marker)
    began = time.monotonic()
    try:
        proc.wait(timeout=moment)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        return None
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    return time.monotonic() - began


def timed(args: list[str], env: dict[str, str], marker: str | None) -> float:
    """How long ``args`` takes (after ``marker``) when left alone; it must succeed."""
    proc = start(args, env, marker)
    began = time.monotonic()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return time.monotonic() - began


def check_store(
    url: str, states: list[dict[str, str]], scratch: Path, seen: set[tuple[str, str]]
) -> None:
    """`verify --deep` passes and each visible version downloads as one of ``states``
    (versions in ``seen`` were downloaded after an earlier kill: versions are immutable)."""
    with Store(url) as store:
        report = store.verify(deep=True)
        assert report.ok, [str(p) for p in report.problems]
        for info in store.artifacts():
            for version in store.versions(info.name):
                if (version.qualified_name, version.digest) in seen:
                    continue
                seen.add((version.qualified_name, version.digest))
                target = scratch / f"{info.name}-{version.version}-{time.monotonic_ns()}"
                version.download(target)
                got = {
                    p.relative_to(target).as_posix(): hash_bytes(p.read_bytes()).hex
                    for p in target.rglob("*")
                    if p.is_file()
                }
                assert got in states, f"{version.qualified_name} holds a state never put"


def put_clears_debris(url: str, folder: Path) -> int:
    """Age every staging file past the grace; the next put must remove them all. Returns how
    many there were."""
    tmp = Path(url) / "tmp"
    old = time.time() - DEBRIS_GRACE - 60
    staged = [p for p in tmp.rglob("*") if p.is_file()]
    for partial in staged:
        os.utime(partial, (old, old))
    with Store(url) as store:
        artifact = Artifact("debris-check", type="check")
        artifact.add_dir(folder)
        store.log_artifact(artifact)
    cutoff = time.time() - DEBRIS_GRACE
    left = [p for p in tmp.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff]
    assert not left, left
    return len(staged)


def run_kills(
    name: str,
    tmp_path: Path,
    prepare: Callable[[random.Random], tuple[list[str], list[dict[str, str]]]],
    marker: str | None = None,
) -> None:
    """Time one uninterrupted run of the operation ``prepare`` makes, then kill fresh ones
    at random moments within that time and check the store after each."""
    rng = random.Random(f"{SEED}-{name}")
    print(f"ARTSTORE_CRASH_SEED={SEED}")
    url = str(tmp_path / "store")
    Store.init(url).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    args, states = prepare(rng)
    duration = timed(args, env, marker)
    killed = debris = 0
    seen: set[tuple[str, str]] = set()
    for _ in range(KILLS[name]):
        args, more = prepare(rng)
        states.extend(more)
        took = kill_at(args, rng.uniform(0, duration), env, marker)
        if took is None:
            killed += 1
        else:  # the machine got faster (less load): draw the next moments from the new time
            duration = min(duration, took)
        check_store(url, states, tmp_path / "downloads", seen)
        debris += put_clears_debris(url, tmp_path / "probe")
    assert killed >= KILLS[name] // 2, f"only {killed} of {KILLS[name]} runs were interrupted"
    print(f"{name}: {killed} of {KILLS[name]} killed, {debris} staging files left and removed")


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "probe.txt").write_text("the next put after a crash")
    return folder


def probe_state(probe: Path) -> list[dict[str, str]]:
    return [{"probe.txt": hash_bytes(probe.joinpath("probe.txt").read_bytes()).hex}]


def test_sigkill_during_put(tmp_path: Path, probe: Path) -> None:
    url = str(tmp_path / "store")
    data = tmp_path / "data"
    states = probe_state(probe)

    def prepare(rng: random.Random) -> tuple[list[str], list[dict[str, str]]]:
        state = write_state(data, rng)
        return [str(ART), "--store", url, "put", str(data), "-t", "dataset", "-n", "data"], [
            state,
            *states,
        ]

    run_kills("put", tmp_path, prepare)


def test_sigkill_during_run_logging_an_artifact(tmp_path: Path, probe: Path) -> None:
    url = str(tmp_path / "store")
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    model = tmp_path / "model"
    base = probe_state(probe)

    def prepare(rng: random.Random) -> tuple[list[str], list[dict[str, str]]]:
        state = write_state(model, rng)
        args = [sys.executable, str(script), url, str(model), "online", str(tmp_path)]
        return args, [state, *base]

    run_kills("run", tmp_path, prepare, marker="logging the artifact")


def test_sigkill_during_sync(tmp_path: Path, probe: Path) -> None:
    url = str(tmp_path / "store")
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    model = tmp_path / "model"
    base = probe_state(probe)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}

    def prepare(rng: random.Random) -> tuple[list[str], list[dict[str, str]]]:
        # Each round syncs a new offline run, made here without interruption.
        state = write_state(model, rng)
        spools = tmp_path / f"spool-{rng.getrandbits(32):08x}"
        made = subprocess.run(
            [sys.executable, str(script), url, str(model), "offline", str(spools)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        return [str(ART), "--store", url, "sync", str(spools / "artstore-runs")], [state, *base]

    run_kills("sync", tmp_path, prepare)
