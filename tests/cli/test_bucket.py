"""``art`` on an S3 store, as a user runs it: separate processes, credentials and endpoint
from the standard AWS environment variables, a SQLite catalog named by ``$ARTSTORE_DB``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import Bucket, make_folder

ART = Path(sys.executable).with_name("art")


def environment(bucket: Bucket, tmp_path: Path) -> dict[str, str]:
    endpoint = bucket.storage_options["client_kwargs"]["endpoint_url"]
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": bucket.storage_options["key"],
        "AWS_SECRET_ACCESS_KEY": bucket.storage_options["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "ARTSTORE_DB": f"sqlite:///{tmp_path / 'catalog.db'}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def test_init_put_get_on_s3_with_credentials_from_the_environment(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    env = environment(s3_bucket, tmp_path)
    store = f"{s3_bucket.url}/store"

    def art(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ART), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    def put(folder: Path) -> Any:
        done = art("--store", store, "put", str(folder), "--type", "model", "--name", "m", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    rng = np.random.default_rng(7)
    files = {"weights.bin": rng.bytes(3 * 1024 * 1024), "config.json": b'{"layers": 2}\n'}
    folder = make_folder(tmp_path / "model", files)

    assert art("init", store).returncode == 0
    first, again = put(folder), put(folder)
    assert (first["version"], first["created"]) == ("v0", True)
    assert (again["version"], again["created"]) == ("v0", False)
    assert len(s3_bucket.fs.find(f"{s3_bucket.name}/store/blobs")) == 2

    got = art("--store", store, "get", "m:latest", str(tmp_path / "out"))
    assert got.returncode == 0, got.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == files


def test_init_in_a_missing_bucket_is_one_line_and_exit_2(s3_bucket: Bucket, tmp_path: Path) -> None:
    missing = f"s3://{s3_bucket.name}-missing/store"
    done = subprocess.run(
        [str(ART), "init", missing],
        env=environment(s3_bucket, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "create the bucket first" in done.stderr
    assert not s3_bucket.fs.exists(f"{s3_bucket.name}-missing")
