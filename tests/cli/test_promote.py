"""``art promote`` and ``art alias log``: every gate outcome, its exit code and its message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder


@pytest.fixture
def three_versions(art, tmp_path):
    """m:v0 val_acc 0.9, m:v1 val_acc 0.8 (worse), m:v2 val_acc 0.95 (better)."""
    folder = make_folder(tmp_path / "m", {"w": b"0"})
    for i, acc in enumerate((0.9, 0.8, 0.95)):
        (folder / "w").write_bytes(str(i).encode())
        assert art("put", str(folder), "-t", "model", "-m", f"val_acc={acc}").exit_code == 0


def stderr_line(result, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("art: "), result.stderr
    return lines[0]


def test_promote_pass_prints_checks_and_verdict(art, three_versions):
    result = art(
        "promote", "m:v0", "--to", "production",
        "--require", "metadata.val_acc>=0.85", "--require", "metadata.val_acc>=current",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "pass  metadata.val_acc>=0.85: 0.9 >= 0.85",
        "pass  metadata.val_acc>=current: 0.9, no current holder",
        "promoted m:v0 to production (was nowhere)",
    ]
    assert result.stderr == ""


def test_promote_gate_fails_exit_1(art, store_url, three_versions):
    art("promote", "m:v0", "--to", "production")
    result = art("promote", "m:v1", "--to", "production", "--require", "metadata.val_acc>current")
    line = stderr_line(result, 1)
    assert "m:v1 was not promoted to production" in line
    assert "metadata.val_acc>current: 0.8 > 0.9 (v0) is false" in line
    assert result.stdout.splitlines() == [
        "FAIL  metadata.val_acc>current: 0.8 > 0.9 (v0) is false",
        "refused: m:v1 not promoted to production (1 of 1 requirements failed); "
        "production stays on v0",
    ]
    with Store(store_url) as store:
        assert store.artifact("m:production").version == "v0"


def test_promote_better_passes_against_current(art, three_versions):
    art("promote", "m:v0", "--to", "production")
    data = json_out(
        art("promote", "m:v2", "--to", "production", "--require", "metadata.val_acc>=current",
            "--reason", "better", "--json")
    )  # fmt: skip
    assert (data["version"], data["number"], data["from"], data["moved"]) == ("v2", 2, "v0", True)
    assert data["checks"] == [
        {
            "requirement": "metadata.val_acc>=current",
            "field": "metadata.val_acc",
            "op": ">=",
            "left": 0.95,
            "right": 0.9,
            "right_version": "v0",
            "passed": True,
            "note": None,
        }
    ]
    assert data["reason"] == "better" and ISO_Z.fullmatch(data["at"])


def test_promote_gate_failure_json(art, three_versions):
    art("promote", "m:v0", "--to", "production")
    result = art(
        "promote", "m:v1", "--to", "production", "--require", "metadata.val_acc>=current", "--json"
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["passed"], data["moved"], data["at"]) == (False, False, None)
    assert json.loads(result.stderr.splitlines()[1]) == {
        "error": result.stderr.splitlines()[0].removeprefix("art: "),
        "code": 1,
    }


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("metadata.val_acc>>0.9", "invalid requirement 'metadata.val_acc>>0.9'"),
        ("val_acc>=0.9", "must start with metadata., summary. or config."),
        ("metadata.val_acc>=best", "compare with a number or with 'current'"),
        ("metadata.loss<1", "m:v2 has no metadata.loss (its metadata has: val_acc)"),
        ("summary.loss<1", "m:v2 has no summary.loss (it was not logged by a tracked run"),
    ],
)
def test_promote_bad_input_exit_2(art, store_url, three_versions, requirement, message):
    result = art("promote", "m:v2", "--to", "production", "--require", requirement)
    assert message in one_error_line(result)
    with Store(store_url) as store:
        assert store.alias_history("m", "production") == []


def test_missing_metric_on_current_holder(art, store_url, tmp_path, three_versions):
    folder = make_folder(tmp_path / "m", {"w": b"other"})
    art("put", str(folder), "-t", "model", "-m", "loss=0.1")
    art("promote", "m:v3", "--to", "production")
    result = art("promote", "m:v2", "--to", "production", "--require", "metadata.val_acc>=current")
    assert "m:v3 has no metadata.val_acc (its metadata has: loss)" in one_error_line(result)


def test_expect_mismatch_exit_1(art, store_url, three_versions):
    line = stderr_line(art("promote", "m:v2", "--to", "production", "--expect", "v0"), 1)
    assert "m:production points at nowhere, not v0" in line
    assert art("promote", "m:v0", "--to", "production", "--expect", "none").exit_code == 0
    line = stderr_line(art("promote", "m:v2", "--to", "production", "--expect", "none"), 1)
    assert "m:production points at v0, not nowhere" in line
    assert art("promote", "m:v2", "--to", "production", "--expect", "v0").exit_code == 0
    assert "invalid expectation" in one_error_line(
        art("promote", "m:v2", "--to", "production", "--expect", "0")
    )
    with Store(store_url) as store:
        assert [m.to_number for m in store.alias_history("m", "production")] == [0, 2]


def test_promote_refuses_bad_target(art, three_versions):
    assert "latest" in one_error_line(art("promote", "m:v0", "--to", "latest"))
    assert "v9" in one_error_line(art("promote", "m:v9", "--to", "production"))


def test_protected_alias_refuses_set_and_rm(art, store_url, three_versions):
    (Path(store_url) / "artstore.yaml").write_text("protected_aliases: [production]\n")
    line = one_error_line(art("alias", "set", "m:v0", "production"))
    assert "alias 'production' is protected" in line and "art promote m:REF --to production" in line
    assert art("promote", "m:v0", "--to", "production").exit_code == 0
    line = one_error_line(art("alias", "rm", "m", "production"))
    assert "protected" in line
    assert art("alias", "set", "m:v0", "staging").exit_code == 0


def test_protected_alias_default_requirements_apply(art, store_url, three_versions):
    (Path(store_url) / "artstore.yaml").write_text(
        "protected_aliases:\n  production:\n    - metadata.val_acc>=0.9\n"
    )
    result = art("promote", "m:v1", "--to", "production")
    assert "metadata.val_acc>=0.9: 0.8 >= 0.9 is false" in stderr_line(result, 1)
    result = art("promote", "m:v2", "--to", "production", "--require", "metadata.val_acc<1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "pass  metadata.val_acc>=0.9: 0.95 >= 0.9",
        "pass  metadata.val_acc<1: 0.95 < 1",
    ]


def test_alias_log_table_and_json(art, three_versions, monkeypatch):
    art("promote", "m:v0", "--to", "production", "--reason", "first")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("ARTSTORE_RUN_ID", "run-xyz")
    art("promote", "m:v2", "--to", "production", "--reason", "CI 4242")
    result = art("alias", "log", "m", "production")
    assert result.exit_code == 0, result.stderr
    header, first, second = result.stdout.splitlines()
    assert header.split() == ["TIME", "ALIAS", "FROM", "TO", "WHO", "RUN", "CI", "JOB", "REASON"]
    assert first.split()[2:5] == ["production", "-", "v0"]
    assert first.split()[-3:] == ["-", "-", "first"]
    assert second.split()[2:5] == ["production", "v0", "v2"]
    assert second.split()[-4:] == ["run-xyz", "github:4242", "CI", "4242"]
    data = json_out(art("alias", "log", "m", "production", "--json"))
    assert [(m["from"], m["to"], m["ci_job"], m["run_id"], m["reason"]) for m in data] == [
        (None, "v0", None, None, "first"),
        ("v0", "v2", "github:4242", "run-xyz", "CI 4242"),
    ]
    assert all(ISO_Z.fullmatch(m["at"]) and "@" in m["who"] for m in data)
    # without ALIAS: every alias, latest included, oldest first
    everything = json_out(art("alias", "log", "m", "--json"))
    assert [m["alias"] for m in everything] == ["latest"] * 3 + ["production"] * 2


def test_alias_log_unknown_artifact(art, three_versions):
    assert "nope" in one_error_line(art("alias", "log", "nope"))


def test_promote_on_summary_of_a_tracked_run(art, store_url, tmp_path):
    versions = []
    for i, acc in enumerate((0.8, 0.7, 0.9)):
        with artstore.init(store=store_url, project="p") as run:
            run.summary["val_acc"] = acc
            (tmp_path / "w").write_text(str(i))
            model = Artifact("net", "model")
            model.add_file(tmp_path / "w")
            version = run.log_artifact(model)
            assert version is not None
            versions.append(version.version)
    gate = ("--require", "summary.val_acc>=current")
    assert art("promote", f"net:{versions[0]}", "--to", "production", *gate).exit_code == 0
    result = art("promote", f"net:{versions[1]}", "--to", "production", *gate)
    assert "summary.val_acc>=current: 0.7 >= 0.8 (v0) is false" in stderr_line(result, 1)
    result = art("promote", f"net:{versions[2]}", "--to", "production", *gate)
    assert result.exit_code == 0 and "0.9 >= 0.8 (v0)" in result.stdout
