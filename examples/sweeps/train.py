"""The training script a sweep runs: a small numpy regression, its hyperparameters from the
command line (the agent passes ``--learning_rate=... --batch_size=...``, W&B's ``${args}``),
``val_loss`` logged once an epoch so that hyperband can stop a poor trial early.

Written as the W&B tutorials write it, with ``import artstore as wandb`` as the only change;
it also runs on its own: ``python examples/sweeps/train.py --learning_rate=0.01``.
"""

from __future__ import annotations

import argparse

import numpy as np

import artstore as wandb

FEATURES = 16


def make_data(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Noisy targets of a fixed linear map with one nonlinear term: train and validation."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=FEATURES)
    x = rng.normal(size=(1500, FEATURES))
    y = x @ weights + 0.5 * np.sin(3 * x[:, 0]) + 0.3 * rng.normal(size=len(x))
    return x[:1200], y[:1200], x[1200:], y[1200:]


def train(config: dict[str, object]) -> None:
    with wandb.init(config=config) as run:
        config = run.config
        x, y, x_val, y_val = make_data()
        rng = np.random.default_rng(1)
        w = np.zeros(FEATURES)
        m, v = np.zeros(FEATURES), np.zeros(FEATURES)  # adam's moments
        step = 0
        for epoch in range(config["epochs"]):
            order = rng.permutation(len(x))
            for start in range(0, len(x), config["batch_size"]):
                rows = order[start : start + config["batch_size"]]
                grad = 2 * x[rows].T @ (x[rows] @ w - y[rows]) / len(rows)
                step += 1
                if config["optimizer"] == "adam":
                    m = 0.9 * m + 0.1 * grad
                    v = 0.999 * v + 0.001 * grad**2
                    m_hat, v_hat = m / (1 - 0.9**step), v / (1 - 0.999**step)
                    w -= config["learning_rate"] * m_hat / (np.sqrt(v_hat) + 1e-8)
                else:
                    w -= config["learning_rate"] * grad
            with np.errstate(over="ignore", invalid="ignore"):
                val_loss = float(np.mean((x_val @ w - y_val) ** 2))
            # A diverged run logs a large loss, not inf or nan, so it still ranks last.
            run.log(
                {"epoch": epoch, "val_loss": min(val_loss, 1e9) if np.isfinite(val_loss) else 1e9}
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    parser.add_argument("--epochs", type=int, default=27)
    train(vars(parser.parse_args()))


if __name__ == "__main__":
    main()
