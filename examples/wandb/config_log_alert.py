"""W&B's quickstart: a config, a training loop that logs and prints, and an alert.

Runs as written for W&B; only the import line is changed (was ``import wandb``).
"""

import random

import artstore as wandb

wandb.login()

random.seed(0)
epochs = 10
lr = 0.01
threshold = 0.8

run = wandb.init(
    # Set the project where this run will be logged
    project="quickstart",
    # Track hyperparameters and run metadata
    config={
        "learning_rate": lr,
        "epochs": epochs,
    },
)
wandb.config.threshold = threshold

offset = random.random() / 5
print(f"lr: {wandb.config.learning_rate}")

# Simulate a training run
for epoch in range(2, epochs):
    acc = 1 - 2**-epoch - random.random() / epoch - offset
    loss = 2**-epoch + random.random() / epoch + offset
    print(f"epoch={epoch}, accuracy={acc}, loss={loss}")
    wandb.log({"accuracy": acc, "loss": loss})
    if acc < wandb.config.threshold:
        # At most one alert of this title every 5 minutes.
        wandb.alert(
            title="Low accuracy",
            text=f"Accuracy {acc:.3f} is below the acceptable threshold {threshold}",
            level=wandb.AlertLevel.WARN,
            wait_duration=300,
        )

run.summary["final_accuracy"] = acc
print(f"run id {run.id}")
run.finish()
