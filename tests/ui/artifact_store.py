"""A small store for the artifacts and lineage route tests, and a client over its app.

``dataset`` v0 -> v1 (a file changed, one removed, one added; ``golden`` moved from v0 to v1),
a run ``train`` (named with markup) that used ``dataset:v1`` and produced ``model:v0``, and
``model`` v0 -> v1 (one tensor changed) whose ``big.bin`` (9 MiB) is stored in pieces.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Artifact, Store

CSP = "default-src 'none'"
ODD_NAME = "odd name #1?&%.txt"  # every character a URL gives a meaning to
HOSTILE_RUN_NAME = '<script>alert("x")</script> & "quotes"'


@dataclass(frozen=True)
class Built:
    url: str
    run_id: str
    big: bytes
    folder: Path


def build(root: Path) -> Built:
    np = pytest.importorskip("numpy")
    st = pytest.importorskip("safetensors.numpy")
    url = str(root / "store")
    Store.init(url).close()
    data = root / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_text("x,y\n1,2\n")
    (data / "train" / "b.csv").write_text("x,y\n3,4\n")
    (data / "README.md").write_text("a dataset\n")
    (data / ODD_NAME).write_text("odd\n")
    with Store(url) as store:
        dataset = Artifact("dataset", type="dataset", metadata={"source": HOSTILE_RUN_NAME})
        dataset.add_dir(data)
        store.log_artifact(dataset, aliases=["golden"])
        (data / "train" / "a.csv").write_text("x,y\n1,2\n5,6\n")
        (data / "train" / "b.csv").unlink()
        (data / "test").mkdir()
        (data / "test" / "c.csv").write_text("x,y\n7,8\n")
        dataset = Artifact("dataset", type="dataset")
        dataset.add_dir(data)
        store.log_artifact(dataset)
        store.set_alias("dataset:v1", "golden", reason="new split")

    model = root / "model"
    model.mkdir()
    rng = np.random.default_rng(5)
    tensors = {"w": rng.standard_normal((8, 4)).astype(np.float32), "b": np.zeros(4, np.float32)}
    st.save_file(tensors, str(model / "weights.safetensors"))
    big = os.urandom(9 * 1024 * 1024)
    (model / "big.bin").write_bytes(big)
    run = artstore.init(project="proj", name=HOSTILE_RUN_NAME, store=url, capture_console=False)
    run.use_artifact("dataset:v1")
    produced = Artifact("model", type="model")
    produced.add_dir(model)
    run.log_artifact(produced)
    run_id = run.id
    run.finish()
    tensors["w"] = tensors["w"] + 1
    st.save_file(tensors, str(model / "weights.safetensors"))
    with Store(url) as store:
        again = Artifact("model", type="model")
        again.add_dir(model)
        store.log_artifact(again)
    return Built(url, run_id, big, root)


def check_error(client: Any, url: str, status: int, words: str) -> None:
    """``url`` answers ``status`` with the CSP and one line holding ``words`` (JSON under
    ``/api/``, a page elsewhere), never a traceback."""
    response = client.get(url)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-security-policy"].startswith(CSP)
    text = response.json()["error"] if url.startswith("/api/") else response.text
    assert words in text and "Traceback" not in text
    if url.startswith("/api/"):
        assert "\n" not in text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("ui-artifacts"))


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[object]:
    from starlette.testclient import TestClient

    from artstore.ui import create_app

    store = Store(built.url, read_only=True)  # as `art ui` opens it
    with TestClient(create_app(store, host=None), raise_server_exceptions=False) as test:
        yield test
    store.close()
