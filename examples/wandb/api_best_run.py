"""W&B's public API: find the best run of a project by a summary metric and fetch its model.

Run after ``mnist_torch.py`` and ``artifacts.py``. Runs as written for W&B; only the import
line is changed (was ``import wandb``).
"""

import artstore as wandb

api = wandb.Api()

# define_metric("val_acc", summary="max") keeps {"max": ...} in the summary.
runs = api.runs(
    "mnist",
    filters={"state": "finished", "summary_metrics.val_acc.max": {"$exists": True}},
    order="-summary_metrics.val_acc.max",
)
for run in runs:
    print(
        f"{run.id}  {run.config.get('architecture', 'MLP'):<4}  "
        f"val_acc {run.summary['val_acc']['max']:.3f}"
    )

best = runs[0]
print(f"best run {best.id}: val_acc {best.summary['val_acc']['max']:.3f}")

# The model: an artifact the run logged, else the file it saved with wandb.save().
models = [artifact for artifact in best.logged_artifacts() if artifact.type == "model"]
if models:
    folder = models[0].download(root="best-model")
    print(f"model {models[0].name} downloaded to {folder}")
else:
    file = best.file("model.pt").download(root="best-model", replace=True)
    print(f"model file downloaded to {file}")
