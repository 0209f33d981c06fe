"""W&B's PyTorch MNIST tutorial, on synthetic digits so it needs no download and runs in
seconds on a CPU: ``watch``, ``define_metric``, media, ``save`` and ``run.summary``.

Runs as written for W&B; only the import line is changed (was ``import wandb``).
"""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import artstore as wandb

CLASSES = [str(digit) for digit in range(10)]


def synthetic_mnist(samples, seed):
    """28x28 "digits": each class is a bright bar at its own place, plus noise."""
    generator = np.random.default_rng(seed)
    labels = generator.integers(0, 10, samples)
    images = generator.normal(0.0, 1.0, (samples, 1, 28, 28)).astype(np.float32)
    for image, label in zip(images, labels, strict=True):
        image[0, 2 + 2 * label : 5 + 2 * label, 4:24] += 1.0
    return torch.from_numpy(images), torch.from_numpy(labels)


class ConvNet(nn.Module):
    def __init__(self, channels, dropout):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=5, stride=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels * 6 * 6, 10),
        )

    def forward(self, x):
        return self.layers(x)


def evaluate(model, loader):
    model.eval()
    predictions, truth = [], []
    with torch.no_grad():
        for images, labels in loader:
            predictions.append(model(images).argmax(dim=1))
            truth.append(labels)
    model.train()
    predictions, truth = torch.cat(predictions), torch.cat(truth)
    return (predictions == truth).float().mean().item(), predictions, truth


def main():
    config = {
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 0.01,
        "channels": 8,
        "architecture": "CNN",
        "dataset": "synthetic-MNIST",
    }
    torch.manual_seed(0)
    with wandb.init(project="mnist", job_type="train", config=config) as run:
        config = wandb.config
        config.dropout = 0.2

        train_x, train_y = synthetic_mnist(512, seed=0)
        val_x, val_y = synthetic_mnist(128, seed=1)
        train = DataLoader(
            TensorDataset(train_x, train_y), batch_size=config.batch_size, shuffle=True
        )
        val = DataLoader(TensorDataset(val_x, val_y), batch_size=config.batch_size)

        model = ConvNet(config.channels, config.dropout)
        optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        # Plot the validation metrics against the epoch; keep the best accuracy and the
        # lowest loss in the summary.
        wandb.define_metric("epoch")
        wandb.define_metric("val_acc", step_metric="epoch", summary="max")
        wandb.define_metric("train_loss", summary="min")
        wandb.watch(model, loss_fn, log="all", log_freq=10)

        examples = [
            wandb.Image(image[0].numpy().clip(0, 1), caption=f"label {label}")
            for image, label in zip(train_x[:4], train_y[:4].tolist(), strict=True)
        ]
        wandb.log({"examples": examples})
        for epoch in range(config.epochs):
            for images, labels in train:
                loss = loss_fn(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                wandb.log({"train_loss": loss.item()})

            accuracy, predictions, truth = evaluate(model, val)
            print(f"epoch {epoch}: val_acc {accuracy:.3f}")
            wandb.log(
                {
                    "epoch": epoch,
                    "val_acc": accuracy,
                    "logits": wandb.Histogram(model(val_x[:64]).detach().numpy()),
                }
            )

        table = wandb.Table(columns=["label", "prediction"])
        for label, prediction in zip(truth[:16].tolist(), predictions[:16].tolist(), strict=True):
            table.add_data(label, prediction)
        wandb.log(
            {
                "predictions": table,
                "confusion_matrix": wandb.plot.confusion_matrix(
                    y_true=truth.tolist(), preds=predictions.tolist(), class_names=CLASSES
                ),
            }
        )

        run.summary["test_accuracy"] = accuracy
        torch.save(model.state_dict(), "model.pt")
        wandb.save("model.pt")
        print(f"run id {run.id}")


if __name__ == "__main__":
    main()
