"""A put killed with SIGKILL halfway leaves no visible version; the next put works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.errors import NotFoundError
from artstore.storage import hash_file

ART = Path(sys.executable).with_name("art")
BIG = 192 * 1024 * 1024

pytestmark = pytest.mark.slow


def staging_files(store: Path) -> list[Path]:
    # A put stages in a folder of its own under tmp/.
    return [p for p in (store / "tmp").rglob("*") if p.is_file()]


def _sigkill_put(store_url: str, big: Path, env: dict[str, str]) -> None:
    """Start `art put BIG`, SIGKILL it once it stages, and check nothing became visible."""
    store = Path(store_url)
    proc = subprocess.Popen(
        [str(ART), "--store", store_url, "put", str(big), "-t", "model"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while not staging_files(store):
            assert proc.poll() is None, "the put finished before it could be interrupted"
            assert time.monotonic() < deadline, "no staging file appeared in <store>/tmp/"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(store_url) as s:
        assert s.artifacts() == []
        with pytest.raises(NotFoundError):
            s.artifact(big.name)


def _put_again(store_url: str, big: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(ART), "--store", store_url, "put", str(big), "-t", "model", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_sigkill_during_put_leaves_no_version(store_url, tmp_path):
    store = Path(store_url)
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # sparse, then a few real bytes so the content is not all zeros
        f.truncate(BIG)
        f.seek(BIG // 2)
        f.write(b"middle")
    assert staging_files(store) == []

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["ARTSTORE_CHUNKING"] = "off"  # the file stored whole, as one blob
    _sigkill_put(store_url, big, env)
    digest, _ = hash_file(big)
    blob = store / "blobs" / digest.hex[:2] / digest.hex[2:]
    assert not blob.exists() or blob.stat().st_size == BIG

    _put_again(store_url, big, env)
    with Store(store_url) as s:
        version = s.artifact("big.bin")
        assert (version.version, version.size) == ("v0", BIG)
        (entry,) = version.files()
        assert entry.digest == digest
    assert blob.stat().st_size == BIG


def test_sigkill_during_a_put_in_pieces_leaves_no_version(store_url, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(5).randbytes(BIG // 2))  # real bytes: many distinct pieces
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    _sigkill_put(store_url, big, env)
    _put_again(store_url, big, env)
    with Store(store_url) as s:
        version = s.artifact("big.bin")
        (entry,) = version.files()
        assert entry.digest == hash_file(big)[0] and len(entry.chunks) > 10
        for chunk in entry.chunks:
            blob = Path(store_url) / "blobs" / chunk.digest.hex[:2] / chunk.digest.hex[2:]
            assert blob.stat().st_size == chunk.size
        out = version.download(tmp_path / "out")
    assert (out / "big.bin").read_bytes() == big.read_bytes()
