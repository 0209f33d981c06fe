"""Many ``art put`` processes at once on one artifact: dense version numbers, latest on top."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.storage import hash_file

ART = Path(sys.executable).with_name("art")
WRITERS = 6

pytestmark = pytest.mark.slow


def test_concurrent_puts_make_dense_versions(store_url, tmp_path):
    folders = []
    for i in range(WRITERS):
        folder = tmp_path / f"w{i}"
        folder.mkdir()
        (folder / "payload.txt").write_bytes(f"writer {i}\n".encode() * (i + 1))
        folders.append(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    procs = [
        subprocess.Popen(
            [str(ART), "--store", store_url, "put", str(folder), "--name", "shared", "-t", "data"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()

    with Store(store_url) as store:
        versions = store.versions("shared")
        assert [v.version for v in versions] == [f"v{i}" for i in range(WRITERS)]
        assert store.artifact("shared:latest").version == f"v{WRITERS - 1}"
        assert [v.aliases for v in versions] == [()] * (WRITERS - 1) + [("latest",)]
        # each writer's content is exactly one version
        digests = [v.manifest().entries["payload.txt"].digest for v in versions]
        assert sorted(map(str, digests)) == sorted(
            str(hash_file(f / "payload.txt")[0]) for f in folders
        )
        downloaded = sorted(
            (v.download(tmp_path / "out" / v.version) / "payload.txt").read_bytes()
            for v in versions
        )
        assert downloaded == sorted((f / "payload.txt").read_bytes() for f in folders)
        latest_moves = [(m.from_number, m.to_number) for m in store.alias_history("shared")]
        assert latest_moves == [(None, 0)] + [(i, i + 1) for i in range(WRITERS - 1)]
