"""``ArtstoreLogger`` trains a real two-layer MLP on CPU and leaves a run, metrics and models."""

from __future__ import annotations

import importlib
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from artstore.artifacts import Store
from artstore.errors import ConfigError, InvalidArgumentError, RunStateError
from artstore.tracker import current, sync_spool
from tests.integrations.conftest import FAST, need

pl = need("lightning.pytorch", "lightning")
torch = need("torch", "lightning")

from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from artstore.integrations.lightning import ArtstoreLogger  # noqa: E402

SAMPLES, EPOCHS, BATCH = 64, 2, 16
STEPS = EPOCHS * SAMPLES // BATCH


class TinyRegressor(pl.LightningModule):  # type: ignore[misc]
    """Two linear layers learning the sum of four inputs."""

    def __init__(self, hidden: int = 8, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x: Any) -> Any:
        return self.net(x)

    def training_step(self, batch: Any, index: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def test_step(self, batch: Any, index: int) -> None:
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader() -> Any:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(SAMPLES, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=BATCH)


def fit(
    tmp_path: Path,
    artstore_logger: ArtstoreLogger,
    *,
    top_k: int = 1,
    test: bool = False,
    watch: dict[str, Any] | None = None,
) -> tuple[TinyRegressor, ModelCheckpoint]:
    torch.manual_seed(0)
    model = TinyRegressor()
    if watch is not None:
        artstore_logger.watch(model, **watch)
    checkpoints = ModelCheckpoint(
        dirpath=tmp_path / "checkpoints", monitor="val_loss", save_top_k=top_k
    )
    trainer = pl.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        logger=artstore_logger,
        callbacks=[checkpoints],
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, loader(), loader())
    if test:
        trainer.test(model, loader())
    return model, checkpoints


def test_a_fit_leaves_metrics_config_and_the_best_checkpoint(
    tmp_path: Path, store_url: str
) -> None:
    artstore_logger = ArtstoreLogger(
        project="lit", name="tiny", log_model=True, store=store_url, **FAST
    )
    model, checkpoints = fit(tmp_path, artstore_logger)
    run_id = artstore_logger.version
    assert run_id is not None and current() is None  # finalize finished the run

    with Store(store_url) as store:
        run = store.run(run_id)
        assert (run.project, run.name, run.state) == ("lit", "tiny", "finished")
        assert run.config["hidden"] == 8 and run.config["lr"] == 0.05
        history = run.history()
        trained = [row for row in history if "train_loss" in row]
        assert len(trained) == STEPS
        assert [row["trainer/global_step"] for row in trained] == list(range(STEPS))
        assert sum("val_loss" in row for row in history) == EPOCHS
        assert {"epoch", "trainer/global_step"} <= set(history[-1])

        (version,) = run.produced()
        assert (version.name, version.type) == (f"model-{run_id}", "model")
        assert set(version.aliases) >= {"best", "latest"}
        assert version.metadata["original_filename"] == Path(checkpoints.best_model_path).name
        assert version.metadata["score"] == pytest.approx(float(checkpoints.best_model_score))
        assert version.metadata["ModelCheckpoint"]["monitor"] == "val_loss"
        assert version.created_by == run_id
        graph = store.lineage(version.qualified_name, direction="up")
        labels = {node.id: node.label for node in graph.nodes}
        assert {(labels[a], labels[b], kind) for a, b, kind in graph.edges} == {
            (f"lit/tiny ({run_id})", version.qualified_name, "produced")
        }
        restored = TinyRegressor.load_from_checkpoint(version.file("model.ckpt", tmp_path / "d"))
        for name, tensor in model.state_dict().items():
            assert torch.equal(restored.state_dict()[name], tensor)


def test_log_model_all_logs_each_checkpoint_as_it_is_written(
    tmp_path: Path, store_url: str
) -> None:
    artstore_logger = ArtstoreLogger(project="lit", log_model="all", store=store_url, **FAST)
    _, checkpoints = fit(tmp_path, artstore_logger, top_k=-1)
    with Store(store_url) as store:
        versions = store.versions(f"model-{artstore_logger.version}")
        assert len(versions) == EPOCHS  # one checkpoint file per epoch
        best = [v for v in versions if "best" in v.aliases]
        assert [v.metadata["original_filename"] for v in best] == [
            Path(checkpoints.best_model_path).name
        ]


def test_fit_then_test_continue_one_run_and_the_prefix_is_kept(
    tmp_path: Path, store_url: str
) -> None:
    artstore_logger = ArtstoreLogger(project="lit", prefix="exp", store=store_url, **FAST)
    fit(tmp_path, artstore_logger, test=True)
    with Store(store_url) as store:
        (run,) = store.runs()
        keys = {key for row in run.history() for key in row}
        assert {"exp-train_loss", "exp-val_loss", "exp-test_loss"} <= keys
        assert run.state == "finished" and run.produced() == []


def test_offline_spools_the_run_and_its_model_for_art_sync(tmp_path: Path, store_url: str) -> None:
    artstore_logger = ArtstoreLogger(
        project="lit", offline=True, save_dir=tmp_path, log_model=True, **FAST
    )
    fit(tmp_path, artstore_logger)
    (spool,) = (tmp_path / "artstore-runs").glob("offline-run-*")
    with Store(store_url) as store:
        sync_spool(spool, store)
        run = store.run(str(artstore_logger.version))
        assert run.state == "finished" and run.history()
        assert [v.name for v in run.produced()] == [f"model-{run.id}"]


def test_ddp_spawn_sends_the_arguments_and_a_run_id_chosen_before_the_spawn(
    store_url: str,
) -> None:
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    # What strategy="ddp_spawn" does to the logger: pickled, then used in the new process.
    spawned = pickle.loads(pickle.dumps(artstore_logger))
    assert spawned.version == artstore_logger.version is not None
    spawned.log_metrics({"loss": 0.5}, step=0)
    spawned.finalize("success")
    with Store(store_url) as store:
        run = store.run(str(artstore_logger.version))
        assert run.state == "finished" and run.history()[0]["loss"] == 0.5


def test_ddp_spawn_of_a_logger_whose_run_is_going_is_refused_naming_ddp(store_url: str) -> None:
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    artstore_logger.experiment.config["lr"] = 0.1
    with pytest.raises(RunStateError, match="strategy='ddp'"):
        pickle.dumps(artstore_logger)
    artstore_logger.finalize("success")


@pytest.mark.slow
def test_a_real_ddp_spawn_fit_logs_to_the_run_version_names(tmp_path: Path, store_url: str) -> None:
    artstore_logger = ArtstoreLogger(project="lit", log_model=True, store=store_url, **FAST)
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        strategy="ddp_spawn",
        logger=artstore_logger,
        callbacks=[ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val_loss")],
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(TinyRegressor(), loader(), loader())
    with Store(store_url) as store:
        (run,) = store.runs()
        assert (run.id, run.state) == (artstore_logger.version, "finished")
        assert sum("train_loss" in row for row in run.history()) == SAMPLES // BATCH
        assert [v.name for v in run.produced()] == [f"model-{run.id}"]


def test_a_run_already_going_is_used_and_left_to_its_owner(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import artstore

    run = artstore.init(project="mine", store=store_url, **FAST)
    artstore_logger = ArtstoreLogger(project="lit", store=store_url)
    with caplog.at_level(logging.WARNING, "artstore"):
        assert artstore_logger.experiment is run
    assert "already going" in caplog.text
    artstore_logger.log_metrics({"loss": 1.5}, step=3)
    artstore_logger.finalize("success")
    assert current() is run  # not the logger's to finish
    run.finish()
    with Store(store_url) as store:
        assert store.run(run.id).history() == [{"_step": 0, "loss": 1.5, "trainer/global_step": 3}]


def test_a_run_given_as_experiment_is_logged_to_and_left_going(store_url: str) -> None:
    import artstore

    run = artstore.init(project="mine", store=store_url, **FAST)
    artstore_logger = ArtstoreLogger(experiment=run)
    assert artstore_logger.version == run.id and artstore_logger.experiment is run
    artstore_logger.log_hyperparams({"lr": 0.1})
    artstore_logger.finalize("success")
    assert current() is run and run.config["lr"] == 0.1


def test_a_failed_fit_fails_the_run_and_logs_no_checkpoint(store_url: str) -> None:
    artstore_logger = ArtstoreLogger(project="lit", log_model=True, store=store_url, **FAST)
    artstore_logger.log_hyperparams({"when": Path("/x"), "dtype": torch.float32})
    run = artstore_logger.experiment
    artstore_logger.finalize("failed")
    with Store(store_url) as store:
        kept = store.run(run.id)
        assert kept.state == "failed" and kept.produced() == []
        assert kept.config == {"when": "/x", "dtype": "torch.float32"}


def test_a_requeue_tags_the_run_preempting_and_leaves_it_going(store_url: str) -> None:
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    run = artstore_logger.experiment
    artstore_logger.finalize("finished")
    assert current() is run and "preempting" in run.tags


def test_use_artifact_records_the_use_and_checks_the_type(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "data.txt").write_text("x")
    with Store(store_url) as store:
        from artstore.artifacts import Artifact

        artifact = Artifact("data", "dataset")
        artifact.add_file(tmp_path / "data.txt")
        store.log_artifact(artifact)
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    with pytest.raises(InvalidArgumentError, match="not 'model'"):
        artstore_logger.use_artifact("data:latest", artifact_type="model")
    assert artstore_logger.use_artifact("data:latest", "dataset").name == "data"
    artstore_logger.finalize("success")
    with Store(store_url) as store:
        assert [v.name for v in store.run(str(artstore_logger.version)).used()] == ["data"]


def test_download_artifact_with_and_without_a_run(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import artstore
    from artstore.artifacts import Artifact

    (tmp_path / "data.txt").write_text("x")
    monkeypatch.setenv("ARTSTORE_URL", store_url)
    with Store(store_url) as store:
        artifact = Artifact("data", "dataset")
        artifact.add_file(tmp_path / "data.txt")
        store.log_artifact(artifact)
    folder = ArtstoreLogger.download_artifact("data:latest", tmp_path / "a", "dataset")
    assert Path(folder, "data.txt").read_text() == "x"
    with pytest.raises(InvalidArgumentError, match="not 'model'"):
        ArtstoreLogger.download_artifact("data:latest", tmp_path / "b", "model")

    run = artstore.init(project="lit", **FAST)
    ArtstoreLogger.download_artifact("data:latest", save_dir=tmp_path / "c")
    run.finish()
    with Store(store_url) as store:
        assert [v.name for v in store.run(run.id).used()] == ["data"]


def test_watch_logs_histograms_of_gradients_and_parameters_on_the_steps_of_the_fit(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    with caplog.at_level(logging.WARNING, logger="artstore"):
        fit(tmp_path, artstore_logger, watch={"log": "all", "log_freq": 1})
    assert "log_graph" in caplog.text  # Lightning's default True: no graph is logged
    with Store(store_url) as store:
        history = store.run(str(artstore_logger.version)).history()
    watched = [row for row in history if "gradients/net.0.weight" in row]
    assert len(watched) == STEPS  # one backward pass per training step
    assert all("train_loss" in row for row in watched)  # on the step its batch logged
    histogram = watched[0]["parameters/net.0.weight"]
    assert histogram["_type"] == "histogram" and len(histogram["values"]) == 64


def test_watch_refuses_what_is_not_a_torch_module() -> None:
    with pytest.raises(InvalidArgumentError, match=r"torch\.nn\.Module"):
        ArtstoreLogger().watch("model")


def test_media_lists_are_checked_before_anything_is_logged() -> None:
    artstore_logger = ArtstoreLogger()
    with pytest.raises(InvalidArgumentError, match="list of images"):
        artstore_logger.log_image("x", "a.png")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="caption must be a list of 2"):
        artstore_logger.log_image("x", [1, 2], caption=["one"])
    assert current() is None


def test_media_methods_log_artstore_media(tmp_path: Path, store_url: str) -> None:
    import numpy as np

    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    artstore_logger = ArtstoreLogger(project="lit", store=store_url, **FAST)
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    artstore_logger.log_image("samples", [pixels, pixels], step=1, caption=["a", "b"])
    artstore_logger.log_table("table", columns=["x", "y"], data=[[1, 2]], step=1)
    artstore_logger.log_text("text", columns=["text"], data=[["hello"]], step=1)
    artstore_logger.log_audio("audio", [np.zeros(160)], step=1, sample_rate=[16000])
    artstore_logger.log_video("video", [str(tmp_path / "clip.mp4")], step=1)
    artstore_logger.finalize("success")
    with Store(store_url) as store:
        history = store.run(str(artstore_logger.version)).history()
        keys = {key for row in history for key in row}
        assert {"samples", "table", "text", "audio", "video"} <= keys


@pytest.mark.parametrize("bad", [{"log_model": "best"}, {"add_file_policy": "copy"}])
def test_wandb_values_only(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        ArtstoreLogger(**bad)


def test_names_without_a_run(tmp_path: Path) -> None:
    artstore_logger = ArtstoreLogger(project="p", version="abc123", save_dir=tmp_path)
    assert (artstore_logger.name, artstore_logger.version) == ("p", "abc123")
    assert artstore_logger.save_dir == str(tmp_path) and current() is None


def hide(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make ``packages`` (and their loaded submodules) unimportable for this test."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    for name in packages:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, "artstore.integrations.lightning", raising=False)


def test_pytorch_lightning_alone_is_used_and_neither_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standalone = need("pytorch_lightning", "lightning")
    hide(monkeypatch, "lightning")
    module = importlib.import_module("artstore.integrations.lightning")
    assert issubclass(module.ArtstoreLogger, standalone.loggers.Logger)

    hide(monkeypatch, "pytorch_lightning", "lightning_fabric")
    with pytest.raises(ConfigError, match=r"pip install 'artstore\[lightning\]'"):
        importlib.import_module("artstore.integrations.lightning")
