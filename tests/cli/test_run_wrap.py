"""``art run -- CMD``: a command as a run, in real processes: exit codes, console, the run id
in the child's environment, and lineage from ``art get``/``art put`` inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artstore.artifacts import Store
from artstore.lineage import RunRecord, to_text

BIN = Path(sys.executable).parent
ART = BIN / "art"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses bash")


def art(store: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(ART), "--store", store, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def only_run(store_url: str) -> tuple[RunRecord, str, list[str], list[str]]:
    with Store(store_url) as store:
        [run] = store.runs()
        return (
            run.record,
            run.console(),
            [v.qualified_name for v in run.used()],
            [v.qualified_name for v in run.produced()],
        )


def test_success_keeps_output_and_exit_code(store_url, tmp_path):
    done = art(
        store_url,
        "run",
        "--project",
        "p",
        "--tag",
        "t",
        "--",
        "bash",
        "-c",
        "echo out; echo err >&2",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "out\n"
    assert done.stderr == "err\n"
    record, console, _, _ = only_run(store_url)
    assert (record.status, record.exit_code, record.project, record.tags) == (
        "finished",
        0,
        "p",
        ("t",),
    )
    assert record.name == "bash"
    assert record.config == {"command": ["bash", "-c", "echo out; echo err >&2"]}
    assert sorted(console.splitlines()) == ["err", "out"]


@pytest.mark.parametrize("code", [1, 42])
def test_failing_command_passes_its_exit_code_and_fails_the_run(store_url, tmp_path, code):
    done = art(
        store_url,
        "run",
        "--name",
        "bad",
        "--",
        "bash",
        "-c",
        f"echo before; exit {code}",
        cwd=tmp_path,
    )
    assert done.returncode == code
    record, console, _, _ = only_run(store_url)
    assert (record.status, record.exit_code, record.name) == ("failed", code, "bad")
    assert console == "before\n"


def test_the_child_sees_the_run_id(store_url, tmp_path):
    done = art(store_url, "run", "--", "bash", "-c", 'echo "id=$ARTSTORE_RUN_ID"', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record, _, _, _ = only_run(store_url)
    assert done.stdout == f"id={record.id}\n"


def test_json_output_is_only_json(store_url, tmp_path):
    done = art(store_url, "run", "--json", "--", "bash", "-c", "echo chatter; exit 5", cwd=tmp_path)
    assert done.returncode == 5
    data = json.loads(done.stdout)
    record, _, _, _ = only_run(store_url)
    assert data == {"id": record.id, "project": "uncategorized", "name": "bash", "exit_code": 5}
    assert "chatter" in done.stderr


def test_a_missing_command_is_one_line_exit_2(store_url, tmp_path):
    done = art(store_url, "run", "--", "no-such-command-here", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("art: cannot run 'no-such-command-here'")
    record, _, _, _ = only_run(store_url)
    assert (record.status, record.exit_code) == ("failed", 127)


def test_python_inside_art_run_logs_into_that_run(store_url, tmp_path):
    code = (
        "import artstore\n"
        "run = artstore.init(flush_interval=0.05)\n"
        "run.log({'loss': 0.5})\n"
        "print('from python')\n"
        "run.finish()\n"
    )
    done = art(store_url, "run", "--", sys.executable, "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record, console, _, _ = only_run(store_url)
    assert record.status == "finished"
    assert console == "from python\n", "the output is kept once, by art run"
    with Store(store_url) as store:
        assert store.run(record.id).history() == [{"_step": 0, "loss": 0.5}]


def test_shell_steps_make_the_dataset_run_model_chain(store_url, tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "train.csv").write_text("1,2\n")
    put = art(store_url, "put", "raw", "--name", "data", "--type", "dataset", cwd=tmp_path)
    assert put.returncode == 0, put.stderr
    script = (
        "art get data:latest d && mkdir -p m && cat d/train.csv > m/weights.txt "
        "&& art put m --type model --name model"
    )
    done = art(
        store_url,
        "run",
        "--project",
        "shell",
        "--name",
        "train",
        "--",
        "bash",
        "-c",
        script,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    record, _, used, produced = only_run(store_url)
    assert (used, produced) == (["data:v0"], ["model:v0"])
    with Store(store_url) as store:
        assert store.artifact("model:latest").created_by == record.id
        graph = store.lineage("model:latest", direction="up")
    assert to_text(graph) == (
        f"model:v0\n└── produced by shell/train ({record.id})\n    └── used data:v0\n"
    )
    lineage = art(store_url, "lineage", "model:latest", cwd=tmp_path)
    assert lineage.returncode == 0, lineage.stderr
    assert lineage.stdout == (
        f"model:v0\n└── produced by shell/train ({record.id})\n    └── used data:v0\n"
    )


def test_secrets_in_the_command_are_not_kept(store_url, tmp_path):
    done = art(
        store_url,
        "run",
        "--",
        "bash",
        "-c",
        'echo "$# args"',
        "x",
        "--password",
        "pw-planted",
        "token=tok-planted",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3 args\n"  # the command got its arguments unchanged
    record, _, _, _ = only_run(store_url)
    assert record.config == {
        "command": ["bash", "-c", 'echo "$# args"', "x", "--password", "***", "token=***"]
    }
    assert record.command is not None
    assert record.command.endswith("x --password '***' 'token=***'")
