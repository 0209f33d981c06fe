"""W&B's module surface on ``import artstore as wandb``: each name works as documented in
docs/wandb.md, or raises a typed error naming what to use instead; nothing is dropped."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import artstore
import artstore as wandb
from artstore.artifacts import Artifact, Store
from artstore.cli import cli
from artstore.errors import (
    InvalidArgumentError,
    InvalidValueError,
    NotFoundError,
    RunStateError,
)
from artstore.tracker import habits
from tests.cli.conftest import json_out
from tests.conftest import make_folder
from tests.tracker.conftest import FAST


@pytest.fixture(autouse=True)
def fresh_habits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its own once-only warnings and login line."""
    monkeypatch.setattr(habits, "_warned", set())
    monkeypatch.setattr(habits, "_logged_in", False)


def sync(store_url: str, *paths: str) -> Result:
    """``art --store <store_url> sync --json PATH...`` in this process."""
    command = ["--store", store_url, "sync", "--json", *paths]
    return CliRunner().invoke(cli, command, catch_exceptions=False)


def start(store_url: str, **kwargs: Any) -> artstore.Run:
    return wandb.init(store=store_url, **{**FAST, **kwargs})


def stored(store_url: str, run_id: str) -> Any:
    """The run as a fresh store object reads it from the catalog."""
    with Store(store_url) as store:
        return store.run(run_id)


# -- login and Settings --------------------------------------------------------------------------


def test_login_says_once_where_runs_go_and_ignores_w_and_b_arguments(capsys, monkeypatch):
    monkeypatch.setenv("ARTSTORE_URL", "s3://user:secret@bucket/store")
    assert wandb.login(key="k" * 40, relogin=True, host="https://api.wandb.ai", anonymous="never")
    assert wandb.login(timeout=3, verify=True) is True
    err = capsys.readouterr().err
    assert err.count("artstore: no login needed") == 1
    assert "s3://" in err and "secret" not in err and "k" * 40 not in err


def test_settings_keep_what_has_a_meaning_and_warn_once_about_the_rest(store_url, caplog):
    settings = wandb.Settings(project="from-settings", run_tags=("a",), _disable_stats=True)
    wandb.Settings(_disable_stats=True)
    assert settings.project == "from-settings" and settings.console is None
    with pytest.raises(AttributeError, match="artstore keeps"):
        _ = settings.start_method
    assert [r.getMessage() for r in caplog.records].count(
        "Settings: _disable_stats means nothing in artstore and is ignored"
    ) == 1
    run = start(store_url, settings=settings, mode=None)
    run.finish()
    info = stored(store_url, run.id)
    assert info.project == "from-settings" and info.tags == ["a"]


def test_settings_mode_offline_and_console_off(store_url, tmp_path):
    run = start(store_url, settings=wandb.Settings(mode="offline", console="off"), dir=tmp_path)
    print("not kept")
    run.finish()
    assert run.mode == "offline" and run.dir is not None


# -- init keywords -------------------------------------------------------------------------------


def test_init_keeps_entity_and_makes_group_and_job_type_tags(store_url):
    run = start(store_url, entity="team", group="sweep-1", job_type="train", tags=["x"])
    assert run.entity == "team"
    run.finish()
    info = stored(store_url, run.id)
    assert info.record.entity == "team"
    assert info.tags == ["x", "group:sweep-1", "job_type:train"]
    with Store(store_url) as store:
        assert [r.id for r in store.runs(filters={"tags": "group:sweep-1"})] == [run.id]


def test_resuming_fills_in_a_missing_entity_and_refuses_another(store_url):
    first = start(store_url)
    first.finish()
    start(store_url, id=first.id, resume="allow", entity="team").finish()
    with pytest.raises(RunStateError, match="has entity 'team', not 'other'"):
        start(store_url, id=first.id, resume="allow", entity="other")
    resumed = start(store_url, id=first.id, resume="allow")
    assert resumed.entity == "team"
    resumed.finish()
    assert stored(store_url, first.id).record.entity == "team"


def test_init_ignores_w_and_b_only_keywords_with_one_warning(store_url, caplog):
    for _ in range(2):
        start(
            store_url,
            save_code=True,
            anonymous="allow",
            force=True,
            sync_tensorboard=True,
            monitor_gym=True,
            tensorboard=False,
        ).finish()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "artstore.init: anonymous, force, monitor_gym, save_code, sync_tensorboard mean nothing "
        "in artstore and are ignored"
    ]


@pytest.mark.parametrize("keyword", ["resume_from", "fork_from"])
def test_init_refuses_rewinding_or_forking(store_url, keyword):
    with pytest.raises(InvalidArgumentError, match="resume='allow'"):
        start(store_url, **{keyword: "abc?_step=10"})
    assert wandb.run is None


def test_init_reinit(store_url):
    first = start(store_url)
    assert start(store_url, reinit=False) is first
    assert start(store_url, reinit="return_previous") is first
    second = start(store_url, reinit=True)
    assert second is not first and stored(store_url, first.id).state == "finished"
    third = start(store_url, reinit="finish_previous")
    assert wandb.run is third
    with pytest.raises(InvalidArgumentError, match="one current run per process"):
        start(store_url, reinit="create_new")
    third.finish()


def test_init_config_include_and_exclude_keys(store_url):
    config = {"lr": 0.1, "seed": 1, "path": "/data"}
    run = start(store_url, config=config, config_exclude_keys=["path"])
    run.finish()
    assert stored(store_url, run.id).config == {"lr": 0.1, "seed": 1}
    run = start(store_url, config=config, config_include_keys=["lr"])
    run.finish()
    assert stored(store_url, run.id).config == {"lr": 0.1}
    with pytest.raises(InvalidArgumentError, match="not both"):
        start(store_url, config=config, config_include_keys=["lr"], config_exclude_keys=["x"])


def test_wandb_environment_variables_are_honoured_after_artstore_ones(
    store_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wd"))
    run = start(store_url)
    run.finish()
    assert (run.mode, run.project, run.entity) == ("offline", "from-wandb", "team")
    assert run.dir is not None and run.dir.parent == tmp_path / "wd" / "artstore-runs"
    monkeypatch.setenv("ARTSTORE_PROJECT", "from-artstore")
    monkeypatch.setenv("ARTSTORE_MODE", "disabled")
    run = start(store_url)
    run.finish()
    assert (run.mode, run.project) == ("disabled", "from-artstore")


# -- run, config, summary ------------------------------------------------------------------------


def test_module_run_is_the_current_run_or_none(store_url):
    assert wandb.run is None
    run = start(store_url)
    assert wandb.run is run
    wandb.finish()
    assert wandb.run is None


def test_config_attribute_and_item_sets_are_stored(store_url):
    run = start(store_url, config={"lr": 0.1})
    wandb.config.dropout = 0.2
    wandb.config["batch"] = 32
    wandb.config.update({"layers": [64, 64]})
    run.config.epochs = 3
    assert wandb.config.dropout == 0.2 and run.config["epochs"] == 3
    del wandb.config.batch
    with pytest.raises(AttributeError, match="no key 'batch'"):
        del wandb.config.batch
    run.finish()
    assert stored(store_url, run.id).config == {
        "lr": 0.1,
        "dropout": 0.2,
        "layers": [64, 64],
        "epochs": 3,
    }


def test_config_before_init_or_after_finish_refuses_sets_and_leaks_into_no_run(store_url):
    cfg = wandb.config
    with pytest.raises(RunStateError, match=r"call artstore\.init\(\) before setting"):
        cfg.lr = 0.5
    for change in (
        lambda: wandb.config.__setitem__("lr", 0.5),
        lambda: wandb.config.update({"lr": 0.5}),
        lambda: wandb.config.setdefaults({"lr": 0.5}),
        lambda: wandb.config.__delitem__("lr"),
    ):
        with pytest.raises(RunStateError, match="no run is active"):
            change()
    assert dict(cfg) == {}, "a refused set is not kept either"
    with pytest.raises(AttributeError, match=r"no key 'lr'; no run is active"):
        _ = cfg.lr
    run = start(store_url, config={"epochs": 4})
    with pytest.raises(RunStateError):
        cfg.lr = 0.5  # the object handed out before init() never becomes a run's
    assert wandb.config is run.config
    run.finish()
    with pytest.raises(RunStateError, match="no run is active"):
        wandb.config.lr = 0.5
    assert stored(store_url, run.id).config == {"epochs": 4}
    following = start(store_url)
    following.finish()
    assert stored(store_url, following.id).config == {}


def test_config_and_summary_of_a_finished_run_refuse_changes(store_url):
    run = start(store_url, config={"lr": 0.1})
    run.log({"acc": 0.5})
    run.finish()
    changes = (
        lambda: setattr(run.config, "epochs", 3),
        lambda: run.config.__setitem__("epochs", 3),
        lambda: run.config.update({"epochs": 3}),
        lambda: run.config.setdefaults({"epochs": 3}),
        lambda: delattr(run.config, "lr"),
        lambda: setattr(run.summary, "best", 1.0),
        lambda: run.summary.update({"best": 1.0}),
        lambda: run.summary.__delitem__("acc"),
    )
    for change in changes:
        with pytest.raises(RunStateError, match=f"run {run.id} is finished"):
            change()
    assert (run.config.lr, run.summary["acc"]) == (0.1, 0.5), "reads still work"
    info = stored(store_url, run.id)
    assert (info.config, info.summary) == ({"lr": 0.1}, {"acc": 0.5})


def test_config_refuses_a_changed_value_unless_allowed(store_url):
    run = start(store_url, config={"lr": 0.1})
    run.config.lr = 0.1  # the same value is no change
    with pytest.raises(InvalidValueError, match="allow_val_change=True"):
        run.config.lr = 0.2
    with pytest.raises(InvalidValueError, match="allow_val_change=True"):
        run.config.update({"seed": 1, "lr": 0.3})
    assert dict(run.config) == {"lr": 0.1}, "a refused update changes nothing"
    run.config.update({"lr": 0.3}, allow_val_change=True)
    run.config.setdefaults({"lr": 9.0, "seed": 2})
    run.finish()
    assert stored(store_url, run.id).config == {"lr": 0.3, "seed": 2}
    run = start(store_url, config={"lr": 0.1}, allow_val_change=True)
    run.config.lr = 0.2
    run.finish()
    assert stored(store_url, run.id).config == {"lr": 0.2}


def test_summary_attribute_set_is_stored_and_needs_a_run(store_url):
    with pytest.raises(RunStateError, match=r"artstore\.init\(\)"):
        wandb.summary["best"] = 1.0
    with pytest.raises(RunStateError):
        wandb.summary.best = 1.0
    run = start(store_url)
    wandb.log({"acc": 0.5})
    wandb.summary.best = 0.9
    run.finish()
    assert stored(store_url, run.id).summary == {"acc": 0.5, "best": 0.9}


def test_log_and_finish_with_exit_code_and_quiet(store_url):
    run = start(store_url)
    wandb.log({"loss": 1.0})
    wandb.finish(exit_code=1, quiet=True)
    info = stored(store_url, run.id)
    assert info.state == "failed" and info.record.exit_code == 1
    wandb.finish(quiet=True)  # no run: nothing to do


def test_mark_preempting_tags_the_run(store_url):
    with pytest.raises(RunStateError):
        wandb.mark_preempting()
    run = start(store_url, tags=["a"])
    wandb.mark_preempting()
    run.mark_preempting()
    run.finish()
    assert stored(store_url, run.id).tags == ["a", "preempting"]


def test_mark_preempting_and_config_sets_travel_through_the_spool(store_url, tmp_path):
    run = start(store_url, mode="offline", dir=tmp_path, tags=["a"])
    wandb.mark_preempting()
    wandb.config.x = 1
    run.finish()
    assert json_out(sync(store_url, str(run.dir)))[0]["run"] == run.id
    info = stored(store_url, run.id)
    assert (info.tags, info.config) == (["a", "preempting"], {"x": 1})


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_name_tags_and_notes_set_on_the_run_are_stored(store_url, tmp_path, mode):
    run = start(store_url, mode=mode, dir=tmp_path, name="first", tags=["a"], notes="n1")
    assert (run.name, run.tags, run.notes) == ("first", ("a",), "n1")
    run.name = "second"
    run.notes = "n2"
    run.tags = [*run.tags, "b", "a"]
    assert run.tags == ("a", "b"), "a tuple, as W&B's; a repeated tag is kept once"
    with pytest.raises(AttributeError):
        run.tags.append("c")  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="NUL"):
        run.name = "bad\x00name"
    with pytest.raises(InvalidValueError, match="list or tuple of strings"):
        run.tags = "c"
    with pytest.raises(InvalidValueError, match="takes a string"):
        run.notes = 3  # type: ignore[assignment]
    run.finish()
    with pytest.raises(RunStateError, match="is finished"):
        run.name = "third"
    with pytest.raises(RunStateError, match="is finished"):
        run.tags = ["z"]
    if mode == "offline":
        sync(store_url, str(run.dir))
    info = stored(store_url, run.id)
    assert (info.name, info.tags, info.record.notes) == ("second", ["a", "b"], "n2")


def test_resuming_merges_tags_sets_notes_and_checks_project_and_config(store_url):
    first = start(store_url, project="p", tags=["a"], notes="first", config={"lr": 1})
    first.finish()
    with pytest.raises(RunStateError, match="is in project 'p', not 'q'"):
        start(store_url, id=first.id, resume="allow", project="q")
    with pytest.raises(InvalidValueError, match="allow_val_change=True"):
        start(store_url, id=first.id, resume="allow", config={"lr": 2})
    resumed = start(
        store_url,
        id=first.id,
        resume="allow",
        project="p",
        tags=["b", "a"],
        group="g2",
        job_type="eval",
        notes="second",
        config={"lr": 1, "seed": 3},
    )
    assert resumed.tags == ("a", "b", "group:g2", "job_type:eval")
    assert resumed.notes == "second" and resumed.project == "p"
    resumed.finish()
    info = stored(store_url, first.id)
    assert info.tags == ["a", "b", "group:g2", "job_type:eval"]
    assert (info.record.notes, info.config) == ("second", {"lr": 1, "seed": 3})
    again = start(store_url, id=first.id, resume="allow", config={"lr": 2}, allow_val_change=True)
    assert again.notes == "second", "notes not given are kept"
    again.finish()
    assert stored(store_url, first.id).config == {"lr": 2, "seed": 3}


def test_joining_an_art_run_run_keeps_its_project_with_a_warning(store_url, monkeypatch, caplog):
    outer = start(store_url, project="p", tags=["a"])
    outer.finish()
    monkeypatch.setenv("ARTSTORE_RUN_ID", outer.id)
    joined = start(store_url, project="q", tags=["b"])
    assert (joined.id, joined.project, joined.tags) == (outer.id, "p", ("a", "b"))
    assert "joining run" in caplog.text and "art run --project" in caplog.text
    joined.finish()
    assert stored(store_url, outer.id).tags == ["a", "b"]


def test_run_dir_path_and_url_as_w_and_b_scripts_use_them(store_url, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp[x]"))
    (tmp_path / "tmp[x]").mkdir()
    run = start(store_url, entity="team", project="p")
    assert (run.path, run.url) == (f"team/p/{run.id}", None)
    assert run.dir is not None and run.dir.is_dir() and run.dir == run.dir
    Path(os.path.join(run.dir, "model.h5")).write_bytes(b"weights")
    (run.dir / "ckpt[1]").mkdir()
    (run.dir / "ckpt[1]" / "step.pt").write_bytes(b"step")
    run.finish()
    files = {f.name: f.record.policy for f in stored(store_url, run.id).files()}
    assert files == {"model.h5": "end", "ckpt[1]/step.pt": "end"}
    plain = start(store_url, project="p")
    assert plain.path == f"p/{plain.id}"
    plain.finish()
    assert stored(store_url, plain.id).files() == [], "an unused run.dir is never made"
    disabled = start(store_url, mode="disabled")
    assert disabled.dir is not None and disabled.dir.is_dir()
    disabled.finish()
    with pytest.raises(RunStateError, match="is finished"):
        _ = plain.dir  # made after finish(), its files would never be kept


# -- artifacts -----------------------------------------------------------------------------------


def test_run_log_artifact_takes_a_path_with_wandbs_arguments(store_url, tmp_path):
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"w")
    run = start(store_url)
    by_keywords = run.log_artifact(weights, name="m", type="model", aliases=["best"])
    by_position = run.log_artifact(str(weights), "m2", "model", ["rc"])
    by_default = run.log_artifact(weights)
    made = Artifact("made", type="model")
    made.add_file(weights)
    # With an Artifact, a list given second is its aliases (artstore's earlier form).
    assert set(run.log_artifact(made, ["candidate"]).aliases) == {"candidate", "latest"}
    with pytest.raises(InvalidArgumentError, match="aliases="):
        run.log_artifact(made, "best")  # W&B's name slot: an Artifact has its own name
    with pytest.raises(InvalidArgumentError, match=r"^aliases given twice"):
        run.log_artifact(made, ["a"], aliases=["b"])
    with pytest.raises(InvalidArgumentError, match=r"^aliases given twice"):
        run.log_artifact(made, ("a",), aliases="b")
    with pytest.raises(InvalidArgumentError, match="second argument is the artifact's name"):
        run.log_artifact(weights, ["best"])
    with pytest.raises(InvalidArgumentError, match=r"an artstore\.Artifact or a file or folder"):
        run.log_artifact(3)
    with pytest.raises(NotFoundError):
        run.log_artifact(tmp_path / "missing.pt", name="gone")
    run.finish()
    assert (by_keywords.qualified_name, by_keywords.type) == ("m:v0", "model")
    assert by_keywords.aliases == ("best", "latest")
    assert (by_position.name, by_position.type) == ("m2", "model")
    assert set(by_position.aliases) == {"rc", "latest"}
    assert (by_default.name, by_default.type) == (f"run-{run.id}-model.pt", "unspecified")
    with Store(store_url) as store:
        names = {v.name for v in store.run(run.id).produced()}
        assert names == {"m", "m2", "made", by_default.name}


def test_module_log_artifact_takes_an_artifact_or_a_path(store_url, tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"w")
    folder = make_folder(tmp_path / "data", {"a.csv": b"1"})
    run = start(store_url)
    made = Artifact("model", type="model")
    made.add_file(weights)
    assert wandb.log_artifact(made, aliases=["best"]).qualified_name == "model:v0"
    by_path = wandb.log_artifact(weights, name="weights", type="model")
    by_folder = wandb.log_artifact(folder)
    with pytest.raises(InvalidArgumentError, match="aliases="):
        wandb.log_artifact(made, tags=["t"])
    with pytest.raises(InvalidArgumentError, match="name= and type= with a path"):
        wandb.log_artifact(made, name="other")
    assert run.log_artifact(made, aliases="best").aliases == ("best", "latest")  # as in W&B
    run.finish()
    assert (by_path.name, by_path.type) == ("weights", "model")
    assert (by_folder.name, by_folder.type) == (f"run-{run.id}-data", "unspecified")
    with Store(store_url) as store:
        assert store.artifact("model:best").version == "v0"
        produced = {v.name for v in store.run(run.id).produced()}
    assert produced == {"model", "weights", f"run-{run.id}-data"}


def test_module_use_artifact_checks_the_type_before_recording(store_url, tmp_path):
    with Store(store_url) as store:
        data = Artifact("data", type="dataset")
        data.add_dir(make_folder(tmp_path / "d", {"a.csv": b"1"}))
        store.log_artifact(data)
    run = start(store_url)
    with pytest.raises(InvalidArgumentError, match="of type 'dataset', not 'model'"):
        wandb.use_artifact("data:latest", type="model")
    assert wandb.use_artifact("data:latest", type="dataset").version == "v0"
    run.finish()
    with Store(store_url) as store:
        assert [v.qualified_name for v in store.run(run.id).used()] == ["data:v0"]


# -- define_metric -------------------------------------------------------------------------------


def test_define_metric_keeps_w_and_b_summary_shapes(store_url):
    run = start(store_url)
    wandb.define_metric("lo", summary="min")
    wandb.define_metric("hi", summary="max")
    run.define_metric("avg", summary="mean")
    run.define_metric("end", summary="last")
    run.define_metric("start", summary="first")
    run.define_metric("acc", summary="best", goal="maximize")
    run.define_metric("both", summary="min,max")
    run.define_metric("hidden", summary="none")
    run.define_metric("copied", summary="copy")
    keys = ("lo", "hi", "avg", "end", "start", "acc", "both", "hidden", "copied", "plain")
    for value in (3.0, 1.0, float("nan"), 2.0, 6.0):
        wandb.log(dict.fromkeys(keys, value))
    expected = {
        "lo": {"min": 1.0},
        "hi": {"max": 6.0},
        "avg": {"mean": 3.0},
        "end": {"last": 6.0},
        "start": {"first": 3.0},
        "acc": {"best": 6.0},
        "both": {"min": 1.0, "max": 6.0},
        "copied": 6.0,
        "plain": 6.0,
    }
    assert dict(run.summary) == expected
    run.finish()
    assert stored(store_url, run.id).summary == expected


def test_define_metric_prefixes_step_metric_and_merging(store_url):
    run = start(store_url)
    definition = wandb.define_metric("val/*", step_metric="epoch", summary="max")
    assert definition.step_metric == "epoch" and definition.summary == ("max",)
    run.define_metric("val/loss", summary="min")
    merged = run.define_metric("val/loss", goal="minimize")
    assert (merged.summary, merged.goal) == (("min",), "minimize")
    replaced = run.define_metric("val/loss", summary="last", overwrite=True)
    assert replaced.goal is None
    wandb.log({"epoch": 0, "train/loss": 2.0})
    wandb.log({"val/acc": 0.5})
    wandb.log({"epoch": 1})
    wandb.log({"val/acc": 0.7, "val/loss": 0.3})
    run.define_metric("quiet", step_metric="epoch", step_sync=False)
    wandb.log({"quiet": 1.0})
    run.finish()
    info = stored(store_url, run.id)
    assert info.summary == {
        "epoch": 1,
        "train/loss": 2.0,
        "val/acc": {"max": 0.7},
        "val/loss": {"last": 0.3},
        "quiet": 1.0,
    }
    assert info.history() == [
        {"_step": 0, "epoch": 0.0, "train/loss": 2.0},
        {"_step": 1, "val/acc": 0.5, "epoch": 0.0},
        {"_step": 2, "epoch": 1.0},
        {"_step": 3, "val/acc": 0.7, "val/loss": 0.3, "epoch": 1.0},
        {"_step": 4, "quiet": 1.0},
    ]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("loss", "min"), {}, r"step_metric, as in W&B.*run.summarize"),
        (("loss",), {"summary": "median"}, "use min, max"),
        (("loss",), {"summary": "copy,min"}, "copy alone"),
        (("loss",), {"goal": "up"}, "minimize or maximize"),
        (("a*b*",), {}, "prefix ending in"),
    ],
)
def test_define_metric_refusals_name_what_to_use(store_url, args, kwargs, message):
    with pytest.raises(RunStateError):
        wandb.define_metric("loss", summary="min")
    run = start(store_url)
    with pytest.raises(InvalidArgumentError, match=message):
        run.define_metric(*args, **kwargs)
    run.finish()


# -- offline, and art sync by W&B's paths ---------------------------------------------------------


def offline(store_url: str, base: Path, value: float) -> artstore.Run:
    run = start(store_url, mode="offline", dir=base, entity="team")
    wandb.config.dropout = value
    wandb.define_metric("loss", summary="min")
    wandb.log({"loss": value})
    wandb.finish()
    return run


@pytest.mark.parametrize("path", ["wandb", "wandb/", "wandb/offline-run-*", "one run"])
def test_offline_runs_sync_by_w_and_b_paths(store_url, tmp_path, path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = offline(store_url, tmp_path, 0.2)
    second = offline(store_url, tmp_path, 0.4)
    assert first.dir is not None and first.dir.parent == tmp_path / "artstore-runs"
    expected = {first.id, second.id}
    if path == "one run":
        path, expected = f"wandb/{first.dir.name}", {first.id}
    results = json_out(sync(store_url, path))
    assert {r["run"] for r in results} == expected
    info = stored(store_url, first.id)
    assert info.config == {"dropout": 0.2}
    assert info.summary == {"loss": {"min": 0.2}}
    assert info.record.entity == "team"


def test_a_wandb_path_with_no_runs_anywhere_names_the_path_given(store_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = sync(store_url, "wandb/offline-run-x")
    assert result.exit_code == 2
    assert "wandb/offline-run-x is not an offline run folder" in result.stderr


def test_an_existing_wandb_folder_is_not_read_as_artstore_runs(store_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    offline(store_url, tmp_path, 0.2)
    (tmp_path / "wandb").mkdir()
    result = sync(store_url, "wandb")
    assert json.loads(result.stdout) == []


# -- a W&B tutorial script as a real process ------------------------------------------------------

TUTORIAL = textwrap.dedent(
    """
    import random

    import artstore as wandb

    wandb.login()
    run = wandb.init(
        entity="my-team",
        project="tutorial",
        config={"learning_rate": 0.02, "architecture": "CNN", "epochs": 5},
        settings=wandb.Settings(start_method="thread"),
    )
    wandb.config.dropout = 0.2
    wandb.define_metric("val/loss", summary="min")
    wandb.define_metric("val/acc", summary="max")
    offset = random.random() / 5
    for epoch in range(2, wandb.config.epochs):
        acc = 1 - 2 ** -epoch - offset
        loss = 2 ** -epoch + offset
        wandb.log({"val/acc": acc, "val/loss": loss, "epoch": epoch})
    wandb.run.summary["best_epoch"] = 4
    print(wandb.run.id)
    wandb.finish()
    """
)


def test_a_w_and_b_tutorial_script_runs_with_one_changed_import(tmp_path, store_url):
    script = tmp_path / "train.py"
    script.write_text(TUTORIAL)
    env = {**os.environ, "ARTSTORE_URL": store_url}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    assert "artstore: no login needed" in done.stderr
    assert "Settings: start_method means nothing in artstore" in done.stderr
    art = Path(sys.executable).with_name("art")
    shown = subprocess.run(
        [str(art), "runs", "show", run_id, "--json"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["project"] == "tutorial" and document["state"] == "finished"
    assert document["config"] == {
        "learning_rate": 0.02,
        "architecture": "CNN",
        "epochs": 5,
        "dropout": 0.2,
    }
    summary = document["summary"]
    assert set(summary) == {"val/acc", "val/loss", "epoch", "best_epoch"}
    assert set(summary["val/acc"]) == {"max"} and set(summary["val/loss"]) == {"min"}
    assert summary["val/acc"]["max"] > 0.7 and summary["epoch"] == 4


def test_run_use_artifact_checks_wandbs_type_argument(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.bin").write_bytes(b"w" * 10)
    with artstore.init(project="p", store=store_url) as run:
        made = wandb.log_artifact("weights.bin", name="net", type="model", aliases="best")
        assert made is not None and (made.name, made.type) == ("net", "model")
        assert "best" in made.aliases
        with pytest.raises(InvalidArgumentError, match="not 'dataset'; nothing recorded"):
            run.use_artifact("net:best", type="dataset")
        assert run.use_artifact("net:best", type="model").number == 0
        run_id = run.id
    with Store(store_url) as store:
        assert [v.qualified_name for v in store.run(run_id).used()] == ["net:v0"]
