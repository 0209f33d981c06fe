"""Fixtures for the framework-logger tests: the framework, or a skip (a failure under CI)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from tests.services import require_service

# Each test starts without a current run, and one it leaves open is finished.
from tests.tracker.conftest import no_run_left_behind  # noqa: F401

# The tracker's short intervals keep each run's writes quick.
FAST = {"flush_interval": 0.05, "heartbeat_interval": 0.2, "capture_console": False}


def need(module: str, extra: str) -> ModuleType:
    """``module`` imported, or the test skipped (failed where ``ARTSTORE_REQUIRE_SERVICES=1``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        require_service(module, f"{exc}; pip install 'artstore[{extra}]'")


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is downloaded: the models are built from configs, and the hub is off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in ("ARTSTORE_LOG_MODEL", "WANDB_LOG_MODEL", "ARTSTORE_PROJECT", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(os.environ, "TOKENIZERS_PARALLELISM", "false")
