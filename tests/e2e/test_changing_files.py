"""Scenario 4 of issue 7, with real processes: a large file truncated while ``art put`` reads
it. The put must be refused naming the file and keep nothing; no version may ever hold bytes
that were not a state of the file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.storage import Digest, Kind, hash_file, init_store, open_store

ART = Path(sys.executable).with_name("art")
SIZE = 150 * 1024 * 1024
TRUNCATED = 7 * 1024 * 1024
ATTEMPTS = 12

pytestmark = pytest.mark.slow


def _write_source(path: Path, seed: int) -> None:
    # Sparse, with a few MiB of real data spread through it, so every attempt has new content.
    rng = __import__("random").Random(seed)
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for offset in range(0, SIZE, SIZE // 8):
            f.seek(offset)
            f.write(rng.randbytes(512 * 1024))


def _staging(store: Path) -> bool:
    tmp = store / "tmp"
    return any(p.is_file() for p in tmp.rglob("*.partial")) if tmp.is_dir() else False


def _attempt(store: Path, source: Path) -> tuple[int, str, bool]:
    """Run one put and truncate the source as soon as its staging file appears; return the
    exit code, stderr, and whether the truncation happened while the process still ran."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    proc = subprocess.Popen(
        [str(ART), "--store", str(store), "put", str(source), "-t", "model", "-n", "big"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    truncated_live = False
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if _staging(store):
                os.truncate(source, TRUNCATED)
                truncated_live = proc.poll() is None
                break
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, stderr, truncated_live


def test_a_file_truncated_while_art_put_reads_it_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    init_store(str(store))
    source = tmp_path / "big.bin"
    states: set[Digest] = set()  # every state the file ever had
    refusals = 0
    for attempt in range(ATTEMPTS):
        _write_source(source, attempt)
        states.add(hash_file(source)[0])
        code, stderr, live = _attempt(store, source)
        states.add(hash_file(source)[0])
        if code == 2:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1, stderr
            assert f"{source} changed while it was read" in lines[0]
            refusals += 1
        else:
            assert code == 0, stderr
        # Whatever happened, nothing outside the file's states is stored, and nothing staged.
        blobs = open_store(str(store))
        assert set(blobs.iter_digests(Kind.BLOB)) <= states
        assert not _staging(store)
        if refusals >= 2:
            break
        assert live or code == 0, "the put ended before the truncation, so it cannot be refused"
    with Store(str(store)) as s:
        versions = s.versions("big") if s.artifacts() else []
        for version in versions:
            (entry,) = version.files()
            assert entry.digest in states, f"{version.qualified_name} holds bytes never in the file"
            assert s.blobs.verify(Kind.BLOB, entry.digest) == entry.digest
    assert refusals >= 1, f"no put was refused in {ATTEMPTS} attempts: the race was never won"
