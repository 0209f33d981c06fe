"""Train a tiny model with the run tracker: a dataset in, a model out, and the lineage between.

Run it from the repository root after the quickstart: ``python examples/train.py``. It

1. logs a small synthetic dataset as artifact ``train-data`` (type ``dataset``), unless the
   store already has it;
2. starts a run (``art.init``), downloads ``train-data:latest`` through the run (which records
   that the run used it), and trains a one-hidden-layer MLP written by hand in numpy, logging
   ``train/loss`` and ``val/acc`` at every step;
3. saves the weights with safetensors and logs them as artifact ``train-model`` (type
   ``model``) with the alias ``candidate``, produced by the run.

Then ``art lineage train-model:latest`` shows train-data -> run -> train-model, and
``art runs show RUN_ID`` the run. Everything is deterministic given ``--seed``. With
``--offline`` the run is spooled to ``./artstore-runs`` instead; ``art sync`` writes it (and the
model) into the store later, with the same lineage.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

import artstore as art

FEATURES = 20


def make_dataset(folder: Path, seed: int = 0) -> None:
    """Two noisy, not linearly separable classes as .npy files: train/ and val/."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=(FEATURES, 4)) / np.sqrt(FEATURES)
    v_true = np.array([1.0, -1.0, 0.5, 1.5])
    for split, rows in (("train", 2000), ("val", 500)):
        x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
        score = np.tanh(2 * x @ w_true) @ v_true + 0.5 * (x[:, 0] * x[:, 1])
        y = (score + 0.2 * rng.normal(size=rows) > 0).astype(np.int64)
        (folder / split).mkdir(parents=True, exist_ok=True)
        np.save(folder / split / "features.npy", x)
        np.save(folder / split / "labels.npy", y)
    (folder / "README.txt").write_text(
        f"Synthetic binary classification, {FEATURES} float32 features, seed {seed}.\n"
    )


def ensure_dataset(store: art.Store) -> None:
    """Log ``train-data`` unless the store already has it."""
    if any(info.name == "train-data" for info in store.artifacts(type="dataset")):
        print("dataset  train-data already in the store: reusing it")
        return
    with tempfile.TemporaryDirectory(prefix="artstore-train-data-") as tmp:
        make_dataset(Path(tmp))
        data = art.Artifact("train-data", type="dataset", description="synthetic features")
        data.add_dir(tmp)
        version = store.log_artifact(data)
    print(f"dataset  {version.qualified_name}  created={version.created}")


def load_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.load(folder / split / "features.npy")
    y = np.load(folder / split / "labels.npy").astype(np.float32)
    return x, y


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def train(
    run: art.Run, data: Path, *, lr: float, epochs: int, hidden: int, seed: int, batch: int
) -> tuple[dict[str, np.ndarray], float]:
    """Full-batch-per-minibatch SGD on a 1-hidden-layer MLP (tanh, sigmoid output)."""
    x_train, y_train = load_split(data, "train")
    x_val, y_val = load_split(data, "val")
    rng = np.random.default_rng(seed)
    w1 = (rng.normal(size=(FEATURES, hidden)) / np.sqrt(FEATURES)).astype(np.float32)
    b1 = np.zeros(hidden, dtype=np.float32)
    w2 = (rng.normal(size=(hidden, 1)) / np.sqrt(hidden)).astype(np.float32)
    b2 = np.zeros(1, dtype=np.float32)
    best = 0.0
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            x, y = x_train[idx], y_train[idx]
            # forward
            h = np.tanh(x @ w1 + b1)
            p = sigmoid(h @ w2 + b2)[:, 0]
            eps = 1e-7
            loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
            # backward (binary cross-entropy through a sigmoid: dL/dz = p - y)
            dz = ((p - y) / len(y))[:, None].astype(np.float32)
            dw2, db2 = h.T @ dz, dz.sum(axis=0)
            dh = (dz @ w2.T) * (1 - h * h)
            dw1, db1 = x.T @ dh, dh.sum(axis=0)
            w1 -= lr * dw1
            b1 -= lr * db1
            w2 -= lr * dw2
            b2 -= lr * db2
            # validation every step: the val set is tiny
            val_p = sigmoid(np.tanh(x_val @ w1 + b1) @ w2 + b2)[:, 0]
            acc = float(np.mean((val_p > 0.5) == (y_val > 0.5)))
            best = max(best, acc)
            run.log({"train/loss": float(loss), "val/acc": acc, "epoch": epoch})
    return {"w1": w1, "b1": b1, "w2": w2, "b2": b2}, best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the data (default 10)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--name", default=None, help="the run's name (default: lr-LR)")
    parser.add_argument(
        "--offline", action="store_true", help="spool the run to ./artstore-runs; `art sync` later"
    )
    args = parser.parse_args(argv)
    batch = 64  # 2,000 rows -> 32 steps per epoch: 320 steps by default
    config = {"lr": args.lr, "epochs": args.epochs, "hidden": args.hidden, "seed": args.seed}

    store = art.Store()  # the nearest .artstore/ above this folder, else ./.artstore
    store.writable()  # create ./.artstore on the first run
    ensure_dataset(store)
    store.close()

    with art.init(
        project="examples",
        name=args.name or f"lr-{args.lr:g}",
        config=config,
        mode="offline" if args.offline else "online",
    ) as run:
        run.summarize("val/acc", "max")
        data_version = run.use_artifact("train-data:latest")
        data = data_version.download()  # ./artifacts/train-data-vN, every file verified
        print(f"run      {run.id} ({run.mode}) uses {data_version.qualified_name} from {data}")

        weights, best = train(run, data, batch=batch, **config)

        with tempfile.TemporaryDirectory(prefix="artstore-train-model-") as tmp:
            path = Path(tmp) / "model.safetensors"
            save_file(weights, str(path))
            assert load_file(str(path)).keys() == weights.keys()
            model = art.Artifact("train-model", type="model", metadata={"val_acc": best})
            model.add_file(path)
            with model.new_file("config.json") as f:
                f.write(json.dumps(config, sort_keys=True) + "\n")
            version = run.log_artifact(model, aliases=["candidate"])
        print(f"trained  {run.step} steps, best val/acc {best:.3f}, last train/loss "
              f"{run.summary['train/loss']:.4f}")  # fmt: skip
        if version is not None:
            print(f"model    {version.qualified_name}  aliases={version.aliases}")
        spool = run.dir

    print(f"run id   {run.id}")
    if spool is not None:
        print(f"offline: the run is in {spool}; write it into the store with: art sync")
        print("then see where the model came from: art lineage train-model:latest")
    else:
        print("see where the model came from: art lineage train-model:latest")
        print(f"and the run: art runs show {run.id}")


if __name__ == "__main__":
    main()
