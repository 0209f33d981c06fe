"""W&B's artifacts tutorial: one run logs a dataset, a second uses it, trains a model and logs
the model as an artifact produced by the run (``art lineage trained-model:latest`` shows
both runs).

Runs as written for W&B; only the import line is changed (was ``import wandb``).
"""

import os

import numpy as np
import torch
from torch import nn

import artstore as wandb

PROJECT = "mnist"


def load(seed=0):
    """Synthetic MNIST-shaped splits: 28x28 images of noise with a class-specific bar."""
    generator = np.random.default_rng(seed)
    splits = []
    for samples in (400, 100, 100):
        labels = generator.integers(0, 10, samples)
        images = generator.normal(0.0, 1.0, (samples, 28, 28)).astype(np.float32)
        for image, label in zip(images, labels, strict=True):
            image[2 + 2 * label : 5 + 2 * label, 4:24] += 1.0
        splits.append((torch.from_numpy(images), torch.from_numpy(labels)))
    return splits


def load_and_log():
    with wandb.init(project=PROJECT, job_type="load-data") as run:
        raw_data = wandb.Artifact(
            "mnist-raw",
            type="dataset",
            description="Synthetic MNIST-shaped data, split into train/val/test",
            metadata={"source": "numpy random", "sizes": [400, 100, 100]},
        )
        for name, data in zip(["training", "validation", "test"], load(), strict=True):
            with raw_data.new_file(name + ".pt", mode="wb") as file:
                torch.save(data, file)
        run.log_artifact(raw_data)


def train_and_log(config):
    with wandb.init(project=PROJECT, job_type="train", config=config) as run:
        config = wandb.config
        data = run.use_artifact("mnist-raw:latest")
        data_dir = data.download()
        train_x, train_y = torch.load(os.path.join(data_dir, "training.pt"))
        val_x, val_y = torch.load(os.path.join(data_dir, "validation.pt"))

        torch.manual_seed(config.seed)
        model = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 10)
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        wandb.define_metric("val_acc", summary="max")
        for epoch in range(config.epochs):
            for start in range(0, len(train_x), config.batch_size):
                images = train_x[start : start + config.batch_size]
                labels = train_y[start : start + config.batch_size]
                loss = nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                wandb.log({"train_loss": loss.item()})
            with torch.no_grad():
                accuracy = (model(val_x).argmax(dim=1) == val_y).float().mean().item()
            wandb.log({"epoch": epoch, "val_acc": accuracy})
            print(f"epoch {epoch}: val_acc {accuracy:.3f}")

        torch.save(model.state_dict(), "trained_model.pth")
        model_artifact = wandb.Artifact(
            "trained-model", type="model", description="A small MLP", metadata=dict(config)
        )
        model_artifact.add_file("trained_model.pth")
        run.log_artifact(model_artifact, aliases=["candidate"])


if __name__ == "__main__":
    load_and_log()
    train_and_log({"epochs": 3, "batch_size": 50, "learning_rate": 0.001, "hidden": 64, "seed": 0})
