"""A store holding a chunked version, opened by the release before chunked files (commit
2e89842): every command refuses it by name, none misreads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.storage import Digest, Kind
from tests.artifacts.chunked import log_chunked

PREVIOUS_RELEASE = "2e89842"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``artstore`` package of the previous release, unpacked from git."""
    root = tmp_path_factory.mktemp("previous-release")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "artstore"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(f"no git history to take release {PREVIOUS_RELEASE} from")
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root


def old_python(old_code: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with the previous release's ``artstore`` first on its path."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(old_code)},
        cwd=old_code,
        check=False,
        timeout=120,
    )


def old_art(old_code: Path, store: str, *args: str) -> subprocess.CompletedProcess[str]:
    return old_python(old_code, "-m", "artstore.cli", "--store", store, *args)


@pytest.mark.slow
def test_the_previous_release_refuses_a_chunked_version_by_its_format(
    old_code, store_url, tmp_path
):
    with Store(store_url) as store:
        log_chunked(store, "plain", {"a.txt": [b"alpha\n"]})
        chunked = log_chunked(store, "model", {"w.bin": [b"x" * 100, b"y" * 100]})
        manifest = Path(store.blobs.path(Kind.MANIFEST, Digest.parse(chunked.digest)))
    refusals = [
        old_art(old_code, store_url, "ls", "model:v0"),
        old_art(old_code, store_url, "get", "model:v0", str(tmp_path / "out")),
        old_art(old_code, store_url, "verify", "model"),
    ]
    for result in refusals:
        assert result.returncode in (1, 2), result.stderr
        assert "Traceback" not in result.stderr
        assert "upgrade artstore" in result.stderr, result.stderr
    assert not (tmp_path / "out" / "w.bin").exists()
    # Whatever the catalog says, the old manifest reader names the format it cannot read.
    read = old_python(
        old_code,
        "-c",
        "import sys; from artstore.artifacts.manifest import Manifest; "
        "Manifest.decode(open(sys.argv[1], 'rb').read(), 'manifest')",
        str(manifest),
    )
    assert read.returncode == 1
    assert (
        "UnsupportedFormatError: manifest has format 2; this artstore reads formats 1-1"
        in read.stderr
    )
