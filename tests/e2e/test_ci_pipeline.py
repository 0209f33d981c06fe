"""The CI example, ``examples/ci/promote.yml``, run step by step as GitHub Actions would.

The workflow's ``run:`` steps execute in bash (``-eo pipefail``, as on GitHub) with the job's
``env:``, ``${{ github.run_id }}`` substituted, and ``$GITHUB_ENV`` carried between steps, on a
temporary local store instead of the bucket. Three pipelines: the first model is promoted (no
holder yet), a worse one is refused with exit 1, a better one is promoted; ``art alias log``
shows the two moves with their CI job and reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from artstore.artifacts import Store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "ci" / "promote.yml"
SKIPPED = {"Install artstore"}  # the test runs in the venv that already has artstore


def run_pipeline(
    work: Path, store: str, run_id: int, epochs: int
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run the workflow's steps like one GitHub Actions job; return each step's result."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    github_env = work / f"github-env-{run_id}"
    github_env.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env |= {k: str(v) for k, v in workflow["env"].items()}
    env |= {
        "ARTSTORE_URL": store,
        "EPOCHS": str(epochs),
        "GITHUB_ENV": str(github_env),
        "GITHUB_RUN_ID": str(run_id),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    del env["ARTSTORE_DB"]  # the secret; a local store keeps its catalog inside
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    failed = False
    for step in job["steps"]:
        if "run" not in step or step["name"] in SKIPPED:
            continue
        if failed and step.get("if") != "always()":
            continue
        script = step["run"].replace("${{ github.run_id }}", str(run_id))
        for line in github_env.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        results[step["name"]] = result
        failed = failed or result.returncode != 0
    return results


def test_ci_workflow_promotes_only_better_models(tmp_path):
    work = tmp_path / "checkout"
    (work / "examples" / "ci").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "ci" / "train.py", work / "examples" / "ci" / "train.py")
    store = str(tmp_path / "store")
    Store.init(store).close()
    promote = "Promote if at least as good as production"

    first = run_pipeline(work, store, 101, epochs=5)
    assert all(r.returncode == 0 for r in first.values()), {k: r.stderr for k, r in first.items()}
    assert "no current holder" in first[promote].stdout
    assert "promoted ci-model:v0 to production (was nowhere)" in first[promote].stdout

    worse = run_pipeline(work, store, 102, epochs=1)
    assert worse[promote].returncode == 1, worse[promote].stderr
    assert "FAIL  summary.val_acc>=current" in worse[promote].stdout
    assert "art: ci-model:v1 was not promoted to production" in worse[promote].stderr
    assert worse["Audit trail"].returncode == 0  # runs after the failure: if: always()
    with Store(store) as s:
        assert s.artifact("ci-model:production").version == "v0"

    better = run_pipeline(work, store, 103, epochs=50)
    assert better[promote].returncode == 0, better[promote].stderr
    assert "promoted ci-model:v2 to production (was v0)" in better[promote].stdout

    log = better["Audit trail"].stdout.splitlines()
    assert len(log) == 3  # header and two moves
    assert "github:101" in log[1] and log[1].endswith("CI 101")
    assert "github:103" in log[2] and log[2].endswith("CI 103") and " v0 " in log[2]
    with Store(store) as s:
        moves = s.alias_history("ci-model", "production")
        assert [(m.from_number, m.to_number) for m in moves] == [(None, 0), (0, 2)]
        # the training run that produced each version is the run recorded with its move
        assert [m.run_id for m in moves] == [
            s.artifact(f"ci-model:v{n}").created_by for n in (0, 2)
        ]
        assert s.run(moves[1].run_id).summary["val_acc"] > s.run(moves[0].run_id).summary["val_acc"]
