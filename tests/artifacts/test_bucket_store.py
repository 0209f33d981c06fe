"""A ``Store`` whose blobs live in a bucket (S3 on moto, GCS on its emulator), end to end.

The local equivalents are in ``test_log.py`` and ``test_download.py``; these repeat their
main assertions where every byte goes through s3fs or gcsfs, with the catalog in SQLite.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from artstore.artifacts import Artifact, Store
from artstore.errors import ConfigError, CorruptBlobError
from artstore.storage import Kind, hash_bytes
from tests.conftest import Bucket, make_folder


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def model(folder: Path) -> Artifact:
    artifact = Artifact("model", "model", metadata={"epochs": 3})
    artifact.add_dir(folder)
    return artifact


def blob_keys(bucket: Bucket) -> set[str]:
    """The blob objects in the bucket, listed by a client other than the store's."""
    return set(bucket.fs.find(f"{bucket.name}/blobs"))


def test_log_relog_change_download_and_corrupt_blob(bucket: Bucket, tmp_path: Path) -> None:
    rng = np.random.default_rng(20261101)
    features = npy(rng.standard_normal((64, 32)).astype(np.float32))
    v0_files = {
        "weights.npy": npy(rng.standard_normal((128, 64)).astype(np.float32)),
        "data/train.npy": features,
        "data/copy-of-train.npy": features,  # the same bytes: one blob for both
        "data/labels.npy": npy(rng.integers(0, 10, size=512)),
        "config.json": b'{"layers": 2}\n',
    }
    folder = make_folder(tmp_path / "model", v0_files)
    db = f"sqlite:///{tmp_path / 'catalog.db'}"
    # The store sits at the bucket's root; the blob tests use a prefix.
    Store.init(bucket.url, db=db, **bucket.storage_options).close()

    with Store(bucket.url, db=db, storage_options=bucket.storage_options) as store:
        first = store.log_artifact(model(folder))
        blobs_v0 = blob_keys(bucket)
        assert len(blobs_v0) == len(set(v0_files.values())) == 4
        again = store.log_artifact(model(folder))
        assert (first.version, first.created) == ("v0", True)
        assert (again.version, again.created, again.digest) == ("v0", False, first.digest)
        assert [v.version for v in store.versions("model")] == ["v0"]
        assert blob_keys(bucket) == blobs_v0

        v1_files = dict(v0_files)
        v1_files["weights.npy"] = npy(rng.standard_normal((128, 80)).astype(np.float32))
        (folder / "weights.npy").write_bytes(v1_files["weights.npy"])
        v1 = store.log_artifact(model(folder))
        assert (v1.version, v1.created) == ("v1", True)
        new_blob = hash_bytes(v1_files["weights.npy"]).hex
        new_key = f"{bucket.name}/blobs/{new_blob[:2]}/{new_blob[2:]}"
        assert blob_keys(bucket) == blobs_v0 | {new_key}
        # Listing a store at a bucket's root finds exactly those objects.
        stored = [*v0_files.values(), v1_files["weights.npy"]]
        assert set(store.blobs.iter_digests(Kind.BLOB)) == {hash_bytes(d) for d in stored}

        out0 = store.artifact("model:v0").download(tmp_path / "out0")
        out1 = store.artifact("model:v1").download(tmp_path / "out1")
        assert all_files(out0) == v0_files
        assert all_files(out1) == v1_files

        # Same length, other bytes: only hashing can tell.
        bucket.fs.pipe_file(new_key, bytes(b ^ 0xFF for b in v1_files["weights.npy"]))
        bad = tmp_path / "bad"
        with pytest.raises(CorruptBlobError) as info:
            store.artifact("model:v1").download(bad)
        error = info.value
        assert (error.artifact, error.path) == ("model:v1", "weights.npy")
        assert error.expected == new_blob
        assert error.exit_code == 1
        left = all_files(bad)
        assert "weights.npy" not in left
        assert all(v1_files[p] == data for p, data in left.items())
        assert not [p for p in bad.rglob("*") if "partial" in p.name]
        # The corrupt blob belongs to v1 only: v0 still downloads whole.
        assert all_files(store.artifact("model:v0").download(tmp_path / "again0")) == v0_files


def test_bucket_store_takes_its_catalog_from_artstore_yaml(bucket: Bucket, tmp_path: Path) -> None:
    url = f"{bucket.url}/team"
    Store.init(url, db=f"sqlite:///{tmp_path / 'unused.db'}", **bucket.storage_options).close()
    with pytest.raises(ConfigError) as info:
        Store(url, storage_options=bucket.storage_options).catalog  # noqa: B018
    assert "--db postgresql://" in str(info.value) and "sqlite:///" in str(info.value)

    catalog = tmp_path / "from-yaml.db"
    bucket.fs.pipe_file(
        f"{bucket.name}/team/artstore.yaml", f"catalog: sqlite:///{catalog}\n".encode()
    )
    with pytest.raises(ConfigError, match=r"from-yaml\.db does not exist"):
        Store(url, storage_options=bucket.storage_options).catalog  # noqa: B018
    # Only init creates a SQLite catalog elsewhere than inside a local store.
    Store.init(url, db=f"sqlite:///{catalog}", **bucket.storage_options).close()
    folder = make_folder(tmp_path / "d", {"x.txt": b"x"})
    with Store(url, storage_options=bucket.storage_options) as store:
        assert store.log_artifact(model(folder)).version == "v0"
    assert catalog.is_file()


def test_store_in_a_missing_bucket_is_refused_and_nothing_is_created(
    bucket: Bucket, tmp_path: Path
) -> None:
    missing = f"{bucket.name}-missing"
    url = bucket.url.replace(bucket.name, missing)
    with pytest.raises(ConfigError, match="create the bucket first") as raised:
        Store.init(url, db=f"sqlite:///{tmp_path / 'catalog.db'}", **bucket.storage_options)
    assert url in str(raised.value) and "\n" not in str(raised.value)
    assert not bucket.fs.exists(missing)
