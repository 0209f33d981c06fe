"""Data-loss scenario 5, with real ``art`` processes: a blob corrupted on disk is found by
``verify --deep`` (naming versions, path and digests), reported by ``diff`` as corrupt rather
than as changed tensors, set aside by ``verify --repair``, and healed by putting the good file
again: downloads are byte-identical and ``verify --deep`` passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from artstore.storage import hash_bytes
from tests.conftest import backdate

ART = Path(sys.executable).with_name("art")

pytestmark = pytest.mark.slow


@pytest.fixture
def art(catalog_url: str | None) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``art(store, *args)``: a real ``art`` process on ``store`` and the catalog."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    if catalog_url is not None:
        env["ARTSTORE_DB"] = catalog_url

    def run(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ART), "--store", str(store), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_corrupt_blob_is_found_set_aside_and_healed_by_putting_the_good_file(
    tmp_path: Path, art: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    store = tmp_path / "store"
    assert art(store, "init", str(store)).returncode == 0
    rng = np.random.default_rng(11)
    base = {f"layer{i}": rng.standard_normal((64, 64)).astype(np.float32) for i in range(4)}
    tuned = dict(base, layer0=base["layer0"] * 1.01)
    good, other = tmp_path / "good", tmp_path / "tuned"
    for folder, tensors in ((good, base), (other, tuned)):
        folder.mkdir()
        save_file(tensors, str(folder / "model.safetensors"))
        (folder / "config.json").write_text('{"layers": 4}')
        for path in folder.iterdir():
            backdate(path)  # out of the stat cache's racy window: the re-put reads nothing
    for folder in (good, other, good):  # v0 and v2 share every blob; v1 changes one tensor
        result = art(store, "put", str(folder), "-n", "net", "-t", "model")
        assert result.returncode == 0, result.stderr

    model = (good / "model.safetensors").read_bytes()
    digest = hash_bytes(model).hex
    blob = store / "blobs" / digest[:2] / digest[2:]
    blob.chmod(0o644)
    damaged = bytearray(model)
    damaged[-1] ^= 0x40  # the last element of a tensor v0 and v1 hold unchanged
    blob.write_bytes(bytes(damaged))
    actual = hash_bytes(bytes(damaged)).hex

    assert art(store, "verify").returncode == 0, "the size is right: only hashing can tell"
    deep = art(store, "verify", "--deep")
    assert deep.returncode == 1
    problems = [line for line in deep.stderr.splitlines() if line.startswith("art: ")]
    assert problems == [
        f"art: net:v0 'model.safetensors': corrupt (blob {digest} hashes to {actual})",
        f"art: net:v2 'model.safetensors': corrupt (blob {digest} hashes to {actual})",
    ]

    diff = art(store, "diff", "net:v0", "net:v1")
    assert diff.returncode == 1 and diff.stdout == ""
    (line,) = diff.stderr.splitlines()
    assert f"'model.safetensors' of net:v0 (blob {digest}) is corrupt" in line

    repair = art(store, "verify", "--deep", "--repair", "--json")
    assert repair.returncode == 1, "the file is set aside, not yet healed"
    report = json.loads(repair.stdout)
    (moved,) = report["quarantined"]
    assert moved.startswith(f"quarantine/blobs/{digest}.")
    assert (store / moved).read_bytes() == bytes(damaged), "set aside, never deleted"
    assert {p["quarantined"] for p in report["problems"]} == {moved}

    # The stat cache still names the blob for this unchanged file: the put must notice that
    # the blob is gone and store it again.
    heal = art(store, "put", str(good), "-n", "net", "-t", "model", "--json")
    assert heal.returncode == 0, heal.stderr
    assert json.loads(heal.stdout)["version"] == "v2", "same content as the newest: no version"
    assert blob.read_bytes() == model

    for version in ("v0", "v2"):
        out = tmp_path / f"out-{version}"
        got = art(store, "get", f"net:{version}", str(out))
        assert got.returncode == 0, got.stderr
        assert tree(out) == tree(good)
    healed = art(store, "verify", "--deep")
    assert healed.returncode == 0, healed.stderr
    diff = art(store, "diff", "net:v0", "net:v1", "--json")
    assert diff.returncode == 0, diff.stderr
    (tensors,) = json.loads(diff.stdout)["tensors"]
    assert [(c["name"], c["kind"]) for c in tensors["changes"]] == [("layer0", "values")]
    shutil.rmtree(tmp_path / "out-v0")
