"""``ArtstoreLogger``: a PyTorch Lightning logger that writes an artstore run, as ``WandbLogger``.

``Trainer(logger=ArtstoreLogger(project="mnist", log_model=True))``: metrics, hyperparameters
and the ``ModelCheckpoint`` files go to the store (``art runs show``), and the checkpoints are
versions of the ``model-<run id>`` artifact, produced by the run. The ``lightning`` package is
used, else the standalone ``pytorch_lightning``.
"""

from __future__ import annotations

import logging
import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import artstore
from artstore.artifacts import Artifact, ArtifactVersion, Store
from artstore.errors import ConfigError, InvalidArgumentError, RunStateError
from artstore.integrations.conventions import json_ready, model_name, project_default
from artstore.tracker import Run, current, init
from artstore.tracker import use_artifact as use_artifact_of_current
from artstore.tracker.current_run import new_run_id

try:
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.pytorch.callbacks import Checkpoint
    from lightning.pytorch.loggers.logger import Logger
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the standalone package; a test hides ``lightning`` to reach this
    try:
        from lightning_fabric.loggers.logger import rank_zero_experiment
        from pytorch_lightning.callbacks import Checkpoint  # type: ignore[assignment]
        from pytorch_lightning.loggers.logger import Logger  # type: ignore[assignment]
        from pytorch_lightning.utilities import rank_zero_only
    except ImportError:
        raise ConfigError(
            "artstore.integrations.lightning needs PyTorch Lightning: "
            "pip install 'artstore[lightning]'"
        ) from None

__all__ = ["ArtstoreLogger"]

logger = logging.getLogger(__name__)

#: The metric Lightning's step is logged as; every other metric is plotted against it.
GLOBAL_STEP = "trainer/global_step"
_LOG_MODEL = (False, True, "all")
_FILE_POLICIES = ("mutable", "immutable")
# ModelCheckpoint's settings kept in each checkpoint version's metadata, as W&B keeps them.
_CHECKPOINT_SETTINGS = (
    "monitor",
    "mode",
    "save_last",
    "save_top_k",
    "save_weights_only",
    "_every_n_train_steps",
)


class ArtstoreLogger(Logger):
    """Log a Lightning run to artstore; the arguments are ``WandbLogger``'s.

    Args:
        name: the run's display name.
        save_dir: where an offline run is spooled (``artstore-runs/`` inside it).
        version: the run id, to continue a run (``resume="allow"``).
        offline: spool the run for ``art sync`` instead of writing the store.
        dir: the same as ``save_dir``.
        id: the same as ``version``.
        anonymous: W&B's; accepted and ignored by ``artstore.init`` with one warning.
        project: the project (default ``$ARTSTORE_PROJECT``, ``$WANDB_PROJECT`` or
            ``lightning_logs``).
        log_model: ``True``: the ``ModelCheckpoint`` files are logged when training ends
            (as they are written when ``save_top_k == -1``); ``"all"``: each as it is
            written; ``False``: none. Offline, they are spooled with the run.
        experiment: a run to log to instead of starting one.
        prefix: put before every metric key, joined with ``-``.
        checkpoint_name: the model artifact's name (default ``model-<run id>``).
        add_file_policy: W&B's ``"mutable"`` or ``"immutable"``; artstore reads a checkpoint
            when it is logged and refuses one that changes meanwhile, so both act the same.
        **kwargs: passed to ``artstore.init`` (``entity``, ``tags``, ``group``, ``config``,
            ``store``, ...).

    Raises:
        InvalidArgumentError: ``log_model`` or ``add_file_policy`` is not one of W&B's values.
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | os.PathLike[str] | None = ".",
        version: str | None = None,
        offline: bool = False,
        dir: str | os.PathLike[str] | None = None,
        id: str | None = None,
        anonymous: bool | None = None,
        project: str | None = None,
        log_model: bool | Literal["all"] = False,
        experiment: Run | None = None,
        prefix: str = "",
        checkpoint_name: str | None = None,
        add_file_policy: Literal["mutable", "immutable"] = "mutable",
        **kwargs: Any,
    ) -> None:
        if log_model not in _LOG_MODEL or not isinstance(log_model, bool | str):
            raise InvalidArgumentError(f"log_model must be False, True or 'all', not {log_model!r}")
        if add_file_policy not in _FILE_POLICIES:
            raise InvalidArgumentError(
                f"add_file_policy must be 'mutable' or 'immutable', not {add_file_policy!r}"
            )
        super().__init__()
        folder = save_dir if save_dir is not None else dir
        self._init: dict[str, Any] = {
            "name": name,
            "project": project or project_default("lightning_logs"),
            "dir": None if folder is None else os.fspath(folder),
            "id": version or id,
            # An offline run cannot continue one: the store is not there to ask.
            **({"mode": "offline"} if offline else {"resume": "allow"}),
            **({"anonymous": "allow"} if anonymous else {}),
            **kwargs,
        }
        self._offline = offline
        # The id of the run logged to last, kept when it is finished (``version``).
        self._run_id: str | None = experiment.id if experiment is not None else version or id
        self._log_model = log_model
        self._prefix = prefix
        self._checkpoint_name = checkpoint_name
        self._experiment = experiment
        # Only a run this logger started is finished by it; one given or found is the user's.
        self._owns_run = False
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callbacks: dict[int, Checkpoint] = {}

    # -- the run --------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """What ``strategy="ddp_spawn"`` sends to the processes it starts: the arguments, with
        the run id chosen here, so the run rank 0 starts there is the one ``version`` names
        here (and a later ``trainer.test`` continues it).

        Raises:
            RunStateError: the logger's run is already going in this process (``experiment``
                was used before ``fit``): it cannot be handed to another process.
        """
        if self._experiment is not None:
            raise RunStateError(
                f"ArtstoreLogger's run {self._experiment.id} is going in this process and "
                "cannot be sent to the processes strategy='ddp_spawn' starts; use "
                "strategy='ddp', or leave logger.experiment unused until fit() starts"
            )
        if self._run_id is None and not self._offline:
            self._run_id = self._init["id"] = new_run_id()
        state = self.__dict__.copy()
        state["_init"] = dict(self._init)
        return state

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        """The artstore run (started on first use): ``logger.experiment.config["k"] = v``."""
        if self._experiment is None:
            going = current()
            if going is not None:
                logger.warning(
                    "ArtstoreLogger: run %s is already going; logging to it (call "
                    "artstore.finish() first for a run of this logger's own)",
                    going.id,
                )
                self._experiment, self._run_id = going, going.id
            else:
                self._experiment = init(**self._init)
                self._owns_run = True
                self._run_id = self._experiment.id
                # A finished run is continued by its id (trainer.fit, then trainer.test);
                # offline, the next use starts another run.
                if not self._offline:
                    self._init["id"] = self._experiment.id
                self._experiment.define_metric(GLOBAL_STEP)
                self._experiment.define_metric("*", step_metric=GLOBAL_STEP, step_sync=True)
        return self._experiment

    @property
    def name(self) -> str | None:
        """The project, as ``WandbLogger.name`` (the run's own name is ``experiment.name``)."""
        project: str | None = self._init["project"]
        return project

    @property
    def version(self) -> str | None:
        """The run id, without starting a run."""
        return self._experiment.id if self._experiment is not None else self._run_id

    @property
    def save_dir(self) -> str | None:
        """The folder an offline run is spooled under."""
        folder: str | None = self._init["dir"]
        return folder

    # -- logging --------------------------------------------------------------------------------

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        """Add ``params`` to the run's config; a changed value replaces the old one."""
        if isinstance(params, Namespace):
            params = vars(params)
        self.experiment.config.update(json_ready(params), allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log ``metrics`` as the run's next step, Lightning's step as ``trainer/global_step``."""
        self._log(metrics, step)

    def _log(self, metrics: Mapping[str, Any], step: int | None) -> None:
        row = {self._key(key): value for key, value in metrics.items()}
        if step is not None:
            row[GLOBAL_STEP] = step
        self.experiment.log(row)

    def _key(self, key: str) -> str:
        return f"{self._prefix}{self.LOGGER_JOIN_CHAR}{key}" if self._prefix else key

    @rank_zero_only
    def log_table(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Log an ``artstore.Table`` of ``columns`` and ``data`` rows, or of a ``dataframe``."""
        table = artstore.Table(columns=columns, data=data, dataframe=dataframe)
        self._log({key: table}, step)

    #: Text is logged as a table, as ``WandbLogger.log_text`` does.
    log_text = log_table

    @rank_zero_only
    def log_image(
        self, key: str, images: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log ``artstore.Image`` objects of ``images``; each keyword is a list, one per image
        (``caption=["a", "b"]``)."""
        self._log({key: _media("Image", images, kwargs)}, step)

    @rank_zero_only
    def log_audio(
        self, key: str, audios: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log ``artstore.Audio`` objects; keywords as :meth:`log_image` (``sample_rate=``)."""
        self._log({key: _media("Audio", audios, kwargs)}, step)

    @rank_zero_only
    def log_video(
        self, key: str, videos: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log ``artstore.Video`` objects; keywords as :meth:`log_image`."""
        self._log({key: _media("Video", videos, kwargs)}, step)

    def watch(
        self, model: Any, log: str | None = "gradients", log_freq: int = 100, log_graph: bool = True
    ) -> None:
        """Log histograms of ``model``'s gradients and parameters, as ``WandbLogger.watch``:
        ``experiment.watch(model, log=, log_freq=, log_graph=)`` (see ``Run.watch``). No graph
        is logged: ``log_graph=True``, the default here as in W&B, is one warning.

        Raises:
            ConfigError: torch is not installed.
            InvalidArgumentError: a model that is not a ``torch.nn.Module``, an unknown
                ``log``, or a ``log_freq`` that is not a whole number >= 1.
        """
        self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

    @staticmethod
    @rank_zero_only
    def download_artifact(
        artifact: str,
        save_dir: str | os.PathLike[str] | None = None,
        artifact_type: str | None = None,
        use_artifact: bool | None = True,
    ) -> str:
        """Download the version ``name:alias`` names (recorded as used by the current run,
        if there is one and ``use_artifact``) under ``save_dir``; returns the folder.

        Raises:
            InvalidArgumentError: the version is not of ``artifact_type``.
            NotFoundError: no such version.
        """
        folder = None if save_dir is None else Path(save_dir)
        if current() is not None and use_artifact:
            version = use_artifact_of_current(artifact, type=artifact_type)
            return str(version.download(folder))
        with Store() as store:
            version = store.use(artifact, run_id=None, type=artifact_type)
            return str(version.download(folder))

    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> ArtifactVersion:
        """The version ``name:alias`` names, recorded as used by the run.

        Raises:
            InvalidArgumentError: the version is not of ``artifact_type`` (its use is not
                recorded).
            RunStateError: ``artifact_type`` is given for a run that is not the current one.
        """
        run: Run = self.experiment
        if run is current():
            return use_artifact_of_current(artifact, type=artifact_type)
        if artifact_type is not None:
            raise RunStateError(
                f"run {run.id} is not the current run; use_artifact(artifact_type=) checks "
                "the type through it: leave artifact_type out"
            )
        return run.use_artifact(artifact)

    # -- checkpoints ----------------------------------------------------------------------------

    def after_save_checkpoint(self, checkpoint_callback: Checkpoint) -> None:
        """Log the checkpoint now (``log_model="all"``, or ``True`` with ``save_top_k=-1``),
        or note its callback for the end of training (``log_model=True``)."""
        every = getattr(checkpoint_callback, "save_top_k", None) == -1
        if self._log_model == "all" or (self._log_model is True and every):
            self._log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """End of a ``fit``/``test``: on ``success``, log the checkpoints ``log_model=True``
        waited for; finish a run this logger started (exit code 0 on success, else 1). On
        ``finished`` (a SLURM requeue) the run is tagged ``preempting`` and left going.
        """
        run = self._experiment
        if run is None:
            return
        if status == "success":
            for callback in self._checkpoint_callbacks.values():
                self._log_checkpoints(callback)
        if status == "finished":
            run.mark_preempting()
            run.flush()
            return
        if self._owns_run:
            run.finish(exit_code=0 if status == "success" else 1)
            # The next use (trainer.test after trainer.fit) continues the same run.
            self._experiment = None
            self._owns_run = False
        else:
            run.flush()

    def _log_checkpoints(self, callback: Checkpoint) -> None:
        """Log each checkpoint file not logged since it was last written, oldest first; the
        best one gets the alias ``best`` (the catalog moves ``latest`` to each new version)."""
        run: Run = self.experiment
        best = getattr(callback, "best_model_path", None)
        for mtime, path, score in _checkpoints(callback, self._logged_model_time):
            metadata = {
                "score": json_ready(score, finite=True),
                "original_filename": Path(path).name,
                callback.__class__.__name__: {
                    name: json_ready(getattr(callback, name), finite=True)
                    for name in _CHECKPOINT_SETTINGS
                    if hasattr(callback, name)
                },
            }
            artifact = Artifact(
                self._checkpoint_name or model_name(run), "model", metadata=metadata
            )
            artifact.add_file(path, name="model.ckpt")
            run.log_artifact(artifact, aliases=["best"] if path == best else [])
            self._logged_model_time[path] = mtime


def _media(kind: str, items: list[Any], keywords: Mapping[str, list[Any]]) -> list[Any]:
    """``artstore.<kind>`` of each item, with the i-th value of each keyword, as W&B's."""
    if not isinstance(items, list):
        raise InvalidArgumentError(
            f"expected a list of {kind.lower()}s, not a {type(items).__name__}"
        )
    for name, values in keywords.items():
        if not isinstance(values, list) or len(values) != len(items):
            raise InvalidArgumentError(
                f"{name} must be a list of {len(items)} values, one per {kind.lower()}"
            )
    make = getattr(artstore, kind)
    return [
        make(item, **{name: values[i] for name, values in keywords.items()})
        for i, item in enumerate(items)
    ]


def _checkpoints(callback: Checkpoint, logged: Mapping[str, float]) -> list[tuple[float, str, Any]]:
    """(modification time, path, score) of the callback's last, best and top-k checkpoints
    that are files not logged since they were last written, oldest first (as W&B's scan)."""
    found: dict[str, Any] = {}
    last = getattr(callback, "last_model_path", None)
    if last and hasattr(callback, "current_score"):
        found[last] = callback.current_score
    best = getattr(callback, "best_model_path", None)
    if best and hasattr(callback, "best_model_score"):
        found[best] = callback.best_model_score
    found.update(getattr(callback, "best_k_models", {}) or {})
    files = sorted(
        (Path(path).stat().st_mtime, path, score)
        for path, score in found.items()
        if Path(path).is_file()
    )
    return [entry for entry in files if entry[1] not in logged or logged[entry[1]] < entry[0]]
