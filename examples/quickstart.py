"""A first session with artstore on the embedded default: a local store and a SQLite catalog.

Run it from the repository root: ``python examples/quickstart.py``. It makes a small dataset
and a small safetensors model with numpy, logs both into ``./.artstore``, logs a changed
model, moves an alias, downloads a version (every file verified) and lists what is stored.
Run it twice: the dataset is found unchanged (same version, its files not even re-read); each
model is logged again as a new version, since it differs from the newest one, but its bytes are
already stored and are not stored twice.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

import artstore as art


def make_dataset(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for split, rows in (("train", 800), ("val", 200)):
        (folder / split).mkdir(parents=True, exist_ok=True)
        features = rng.normal(size=(rows, 16)).astype(np.float32)
        np.save(folder / split / "features.npy", features)
        np.save(folder / split / "labels.npy", (features.sum(axis=1) > 0).astype(np.int64))


def make_model(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    save_file(
        {
            "encoder.weight": rng.normal(size=(64, 16)).astype(np.float32),
            "encoder.bias": np.zeros(64, dtype=np.float32),
            "head.weight": rng.normal(size=(2, 64)).astype(np.float32),
        },
        str(path),
    )


def main() -> None:
    store = art.Store()  # the nearest .artstore/ above this folder, else ./.artstore (created)
    work = Path(tempfile.mkdtemp(prefix="artstore-quickstart-"))

    make_dataset(work / "data")
    dataset = art.Artifact("quickstart-data", type="dataset", description="toy features")
    dataset.add_dir(work / "data")
    data_version = store.log_artifact(dataset)
    print(f"dataset  {data_version.qualified_name}  created={data_version.created}")

    for seed, acc in ((1, 0.81), (2, 0.86)):
        make_model(work / "model.safetensors", seed)
        model = art.Artifact("quickstart-model", type="model", metadata={"val_acc": acc})
        model.add_file(work / "model.safetensors")
        with model.new_file("config.json") as f:
            f.write('{"hidden": 64}\n')
        version = store.log_artifact(model, aliases=["candidate"])
        print(f"model    {version.qualified_name}  created={version.created}  {version.aliases}")

    store.set_alias("quickstart-model:latest", "production", reason="best val_acc so far")
    production = store.artifact("quickstart-model:production")
    folder = production.download(work / "production")
    print(f"downloaded {production.qualified_name} to {folder}:")
    for entry in production.files():
        print(f"  {entry.path:20} {entry.size:>8} bytes  {entry.digest.short}")

    for info in store.artifacts():
        count = info.version_count
        print(f"store holds {info.name} ({info.type}): {count} version{'' if count == 1 else 's'}")
    print(f"store: {store.url}  (try: art ls, art ls quickstart-model)")
    store.close()


if __name__ == "__main__":
    main()
