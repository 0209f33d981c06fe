"""``Store.promote``: requirements, ``current``, ``--expect``, the compare-and-swap, protection."""

from __future__ import annotations

from pathlib import Path

import pytest

import artstore
from artstore.artifacts import Artifact, Requirement, Store
from artstore.errors import (
    AliasConflictError,
    GateFailed,
    InvalidRequirementError,
    MissingMetricError,
    ProtectedAliasError,
)
from artstore.lineage import Actor


def log(store: Store, tmp_path: Path, content: str, **metadata: object) -> str:
    path = tmp_path / "model.bin"
    path.write_text(content)
    artifact = Artifact("m", "model", metadata=metadata)
    artifact.add_file(path)
    return store.log_artifact(artifact).version


def protect(store_url: str, text: str) -> None:
    (Path(store_url) / "artstore.yaml").write_text(text)


@pytest.mark.parametrize(
    ("text", "source", "path", "op", "target"),
    [
        ("metadata.val_acc>=0.9", "metadata", "val_acc", ">=", 0.9),
        (" summary.val_loss < current ", "summary", "val_loss", "<", "current"),
        ("config.optim.lr==1e-3", "config", "optim.lr", "==", 0.001),
        ("summary.val/acc!=-2", "summary", "val/acc", "!=", -2.0),
        ("metadata.x>1", "metadata", "x", ">", 1.0),
        ("metadata.x<=1", "metadata", "x", "<=", 1.0),
    ],
)
def test_requirement_parse(text, source, path, op, target):
    req = Requirement.parse(text)
    assert (req.source, req.path, req.op, req.target) == (source, path, op, target)


@pytest.mark.parametrize(
    "text",
    ["val_acc>=0.9", "metrics.acc>=1", "metadata.>=1", "metadata.a..b>=1", "metadata.x=>1",
     "metadata.x>=best", "metadata.x>=nan", "metadata.x>=inf", "metadata.x", ""],
)  # fmt: skip
def test_requirement_parse_refuses(text):
    with pytest.raises(InvalidRequirementError):
        Requirement.parse(text)


def test_promote_passes_and_records(store, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_RUN_ID", "777")
    log(store, tmp_path, "a", val_acc=0.95)
    result = store.promote("m:v0", "production", require=["metadata.val_acc>=0.9"], reason="ok")
    assert result.passed and result.moved and result.previous is None
    assert [c.describe() for c in result.checks] == ["metadata.val_acc>=0.9: 0.95 >= 0.9"]
    assert result.verdict() == "promoted m:v0 to production (was nowhere)"
    assert store.artifact("m:production").version == "v0"
    (move,) = store.alias_history("m", "production")
    assert (move.from_number, move.to_number, move.reason) == (None, 0, "ok")
    assert move.ci_job == "github:777" and "@" in move.who


def test_promote_gate_fails_and_leaves_alias(store, tmp_path):
    log(store, tmp_path, "a", val_acc=0.95)
    store.promote("m:v0", "production")
    log(store, tmp_path, "b", val_acc=0.5)
    with pytest.raises(GateFailed) as caught:
        store.promote("m:v1", "production", require=["metadata.val_acc>=current"])
    assert type(caught.value) is GateFailed and caught.value.exit_code == 1
    assert "0.5 >= 0.95 (v0) is false" in str(caught.value)
    result = caught.value.result
    assert result is not None and not result.passed and result.move is None
    assert store.artifact("m:production").version == "v0"
    assert len(store.alias_history("m", "production")) == 1


def test_current_without_holder_passes(store, tmp_path):
    log(store, tmp_path, "a", val_acc=0.1)
    result = store.promote("m", "production", require=["metadata.val_acc>current"])
    (check,) = result.checks
    assert check.passed and check.note == "no current holder" and check.right is None
    assert "no current holder" in check.describe()


def test_missing_metric_on_candidate_and_on_holder(store, tmp_path):
    log(store, tmp_path, "a", loss=0.3)
    with pytest.raises(MissingMetricError) as caught:
        store.promote("m:v0", "production", require=["metadata.val_acc>=0.9"])
    assert caught.value.exit_code == 2
    assert "m:v0 has no metadata.val_acc" in str(caught.value) and "loss" in str(caught.value)
    store.promote("m:v0", "production")
    log(store, tmp_path, "b", loss=0.2, val_acc=0.9)
    with pytest.raises(MissingMetricError, match=r"m:v0 has no metadata\.val_acc"):
        store.promote("m:v1", "production", require=["metadata.val_acc>=current"])
    with pytest.raises(MissingMetricError, match="not logged by a tracked run"):
        store.promote("m:v1", "production", require=["summary.val_acc>=0"])
    assert store.artifact("m:production").version == "v0"


def test_non_numeric_field_is_bad_input(store, tmp_path):
    log(store, tmp_path, "a", framework="torch")
    with pytest.raises(InvalidRequirementError, match="not a number"):
        store.promote("m", "production", require=["metadata.framework==1"])


def test_dotted_paths(store, tmp_path):
    log(store, tmp_path, "a", eval={"val": {"acc": 0.9}}, **{"top.k": 3})
    result = store.promote(
        "m", "production", require=["metadata.eval.val.acc>=0.9", "metadata.top.k==3"]
    )
    assert result.passed


def test_expect(store, tmp_path):
    log(store, tmp_path, "a")
    log(store, tmp_path, "b")
    with pytest.raises(AliasConflictError, match="points at nowhere, not v0"):
        store.promote("m:v1", "production", expect="v0")
    assert store.promote("m:v0", "production", expect="none").moved
    with pytest.raises(AliasConflictError) as caught:
        store.promote("m:v1", "production", expect="none")
    assert caught.value.exit_code == 1 and (caught.value.expected, caught.value.actual) == (None, 0)
    assert store.promote("m:v1", "production", expect="v0").moved
    assert store.promote("m:v1", "production", expect=1).moved is False  # already there
    with pytest.raises(InvalidRequirementError):
        store.promote("m:v1", "production", expect="latest")


def test_holder_moving_during_evaluation_refuses(store, tmp_path):
    """The gates compared with v0; another promotion moved the alias before ours: no move."""
    log(store, tmp_path, "a", acc=0.5)
    log(store, tmp_path, "b", acc=0.9)
    log(store, tmp_path, "c", acc=0.7)
    store.promote("m:v0", "production")
    catalog = store.catalog
    real_move = catalog.versions.move_alias

    def racing_move(name, alias, number, **kwargs):
        real_move(name, alias, 1, Actor("other@host"))  # a concurrent pipeline wins the race
        return real_move(name, alias, number, **kwargs)

    catalog.versions.move_alias = racing_move  # type: ignore[method-assign]
    with pytest.raises(AliasConflictError, match="points at v1, not v0; another promotion"):
        store.promote("m:v2", "production", require=["metadata.acc>=current"])
    catalog.versions.move_alias = real_move  # type: ignore[method-assign]
    assert store.artifact("m:production").version == "v1"  # v2 (0.7) was never compared with v1


def test_protected_alias(store_url, tmp_path):
    protect(store_url, "protected_aliases: [production]\n")
    with Store(store_url) as store:
        log(store, tmp_path, "a")
        with pytest.raises(ProtectedAliasError, match="art promote m:REF --to production") as e:
            store.set_alias("m:v0", "production")
        assert e.value.exit_code == 2
        store.set_alias("m:v0", "staging")  # others are not protected
        artifact = Artifact("m", "model")
        artifact.add_file(tmp_path / "model.bin")
        with pytest.raises(ProtectedAliasError):
            store.log_artifact(artifact, aliases=["production"])
        store.promote("m:v0", "production")
        with pytest.raises(ProtectedAliasError):
            store.remove_alias("m", "production")
        assert store.artifact("m:production").version == "v0"


def test_protected_alias_default_requirements(store_url, tmp_path):
    protect(store_url, "protected_aliases:\n  production: ['metadata.val_acc>=0.9']\n")
    with Store(store_url) as store:
        log(store, tmp_path, "a", val_acc=0.8)
        with pytest.raises(GateFailed, match=r"metadata.val_acc>=0.9: 0.8 >= 0.9 is false"):
            store.promote("m", "production")
        log(store, tmp_path, "b", val_acc=0.95)
        result = store.promote("m:v1", "production", require=["metadata.val_acc>=current"])
        assert [str(c.requirement) for c in result.checks] == [
            "metadata.val_acc>=0.9",
            "metadata.val_acc>=current",
        ]
        # other aliases get no defaults
        assert store.promote("m:v0", "staging").checks == ()


def test_summary_and_config_gates_with_a_tracked_run(store_url, tmp_path):
    def train(acc: float, lr: float, content: str) -> str:
        with artstore.init(store=store_url, project="p", config={"optim": {"lr": lr}}) as run:
            run.summary["val_acc"] = acc
            (tmp_path / "w").write_text(content)
            model = Artifact("net", "model")
            model.add_file(tmp_path / "w")
            version = run.log_artifact(model)
            assert version is not None
            return version.version

    first = train(0.8, 0.1, "a")
    second = train(0.7, 0.01, "b")
    third = train(0.9, 0.01, "c")
    with Store(store_url) as store:
        gate = ["summary.val_acc>=current", "config.optim.lr<=0.1"]
        assert store.promote(f"net:{first}", "production", require=gate).moved
        with pytest.raises(GateFailed, match=r"summary\.val_acc>=current: 0\.7 >= 0\.8"):
            store.promote(f"net:{second}", "production", require=gate)
        result = store.promote(f"net:{third}", "production", require=gate)
        assert result.moved and result.checks[0].right == 0.8
        with pytest.raises(MissingMetricError, match="its summary has: val_acc"):
            store.promote(f"net:{first}", "production", require=["summary.val_loss<1"])
