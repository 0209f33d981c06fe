"""W&B's offline mode: a run with no connection is written to a local folder, and synced later.

Runs as written for W&B; only the import line is changed (was ``import wandb``).
"""

import math
import os

os.environ["WANDB_MODE"] = "offline"

import artstore as wandb

run = wandb.init(project="offline-demo", config={"learning_rate": 0.1, "steps": 20})
for step in range(wandb.config.steps):
    loss = math.exp(-wandb.config.learning_rate * step)
    wandb.log({"loss": loss, "step": step})
run.summary["final_loss"] = loss
run_id = run.id
wandb.finish()

print(f"offline run {run_id} kept on this machine; to send it to the store, run:")
print("art sync wandb/")
