"""A stand-in for a team's training script, for the CI promotion example (``promote.yml``).

It trains a small logistic regression in plain Python, writes the weights to ``--out`` and
records the run with the tracker: ``config`` (the hyper-parameters) and ``summary["val_acc"]``,
which ``art promote --require 'summary.val_acc>=current'`` compares with production. The run's
id is written to ``--run-id-file`` so that the next CI step's ``art put`` can record that this
run produced the model (``ARTSTORE_RUN_ID``). Replace the training, keep those three things.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

import artstore as art


def make_data(rng: random.Random, rows: int) -> list[tuple[float, float, int]]:
    """Two overlapping classes in the plane: the label is 1 when 2x - y + noise > 0."""
    data = []
    for _ in range(rows):
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        data.append((x, y, int(2 * x - y + rng.gauss(0, 0.3) > 0)))
    return data


def accuracy(w: list[float], data: list[tuple[float, float, int]]) -> float:
    hits = sum((w[0] * x + w[1] * y + w[2] > 0) == bool(label) for x, y, label in data)
    return hits / len(data)


def train(epochs: int, lr: float, seed: int) -> tuple[list[float], float]:
    rng = random.Random(seed)
    train_set, val_set = make_data(rng, 400), make_data(rng, 400)
    w = [0.0, 1.0, 0.5]  # a poor start, so that more epochs visibly help
    for _ in range(epochs):
        for x, y, label in train_set:
            p = 1 / (1 + math.exp(-(w[0] * x + w[1] * y + w[2])))
            for i, feature in enumerate((x, y, 1.0)):
                w[i] -= lr * (p - label) * feature
    return w, accuracy(w, val_set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("model"), help="folder for the model")
    parser.add_argument("--run-id-file", type=Path, default=Path("run-id.txt"))
    args = parser.parse_args()
    config = {"epochs": args.epochs, "lr": args.lr, "seed": args.seed}
    with art.init(project="ci-example", config=config) as run:
        weights, val_acc = train(args.epochs, args.lr, args.seed)
        run.summary["val_acc"] = val_acc
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "weights.json").write_text(json.dumps(weights) + "\n")
        args.run_id_file.write_text(run.id + "\n")
    print(f"run {run.id}: val_acc {val_acc:.4f}, model in {args.out}/")


if __name__ == "__main__":
    main()
