"""W&B habits that meet artstore: ``login``, ``Settings``, the ``init`` keywords artstore
accepts without a use for them, and the ``WANDB_*`` environment variables it honours.

A W&B script runs with ``import artstore as wandb``: a name with a meaning here does that,
one without is accepted with one warning line per process, never a ``TypeError``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from artstore.redaction import redact_url
from artstore.settings import resolve_store

__all__ = ["ENVIRONMENT", "Settings", "environ", "ignore", "login", "warn_once"]

logger = logging.getLogger(__name__)

#: What ``init`` reads from the environment, artstore's variable first: setting -> variables.
ENVIRONMENT = {
    "mode": ("ARTSTORE_MODE", "WANDB_MODE"),
    "project": ("ARTSTORE_PROJECT", "WANDB_PROJECT"),
    "entity": ("WANDB_ENTITY",),
    "dir": ("WANDB_DIR",),
}
# W&B's older mode names.
_WANDB_MODES = {"dryrun": "offline", "run": "online"}

_warned: set[str] = set()
_logged_in = False


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        logger.warning("%s", message)


def environ(setting: str) -> str | None:
    """A setting from the environment (``ENVIRONMENT``): artstore's variable, else the W&B one
    a W&B habit sets (``WANDB_MODE=dryrun`` is offline)."""
    value = next((os.environ[v] for v in ENVIRONMENT[setting] if os.environ.get(v)), None)
    if setting == "mode" and value is not None:
        value = _WANDB_MODES.get(value, value)
    return value


def ignore(where: str, names: Mapping[str, Any]) -> None:
    """Warn once about W&B arguments given a value that artstore has no use for."""
    given = sorted(name for name, value in names.items() if value not in (None, False))
    if given:
        warn_once(
            f"{where}:{','.join(given)}",
            f"{where}: {', '.join(given)} {'means' if len(given) == 1 else 'mean'} nothing"
            f" in artstore and {'is' if len(given) == 1 else 'are'} ignored",
        )


class Settings:
    """W&B's ``wandb.Settings(...)``: every keyword is accepted.

    Those with a meaning here are kept and read by ``init(settings=...)`` when ``init`` is not
    given the same thing itself: ``mode``, ``project``, ``entity``, ``run_name``, ``run_id``,
    ``run_group``, ``run_job_type``, ``run_notes``, ``run_tags``, ``root_dir`` (the spool's
    folder) and ``console`` (``"off"`` keeps no console). The others are ignored with one
    warning.
    """

    KEPT = frozenset(
        {
            "mode",
            "project",
            "entity",
            "run_name",
            "run_id",
            "run_group",
            "run_job_type",
            "run_notes",
            "run_tags",
            "root_dir",
            "console",
        }
    )

    def __init__(self, **settings: Any) -> None:
        self._values = {k: v for k, v in settings.items() if k in self.KEPT and v is not None}
        ignore("Settings", {k: v for k, v in settings.items() if k not in self.KEPT})

    def __getattr__(self, name: str) -> Any:
        if name in Settings.KEPT:
            return self._values.get(name)
        raise AttributeError(f"Settings has no {name!r}; artstore keeps {sorted(self.KEPT)}")

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in sorted(self._values.items()))})"


def login(
    key: str | None = None,
    relogin: bool | None = None,
    host: str | None = None,
    anonymous: str | None = None,
    **more: Any,
) -> bool:
    """W&B's ``wandb.login``: artstore needs no account. Says once where runs go; returns True.

    Every W&B argument (``key``, ``relogin``, ``host``, ``anonymous``, ``force``, ``timeout``,
    ``verify``, ...) is accepted and ignored: the store is chosen as ``Store()`` chooses it
    (``$ARTSTORE_URL``, else the nearest ``.artstore/``). The key is never printed.
    """
    global _logged_in
    if not _logged_in:
        _logged_in = True
        where = redact_url(resolve_store().url)
        mode = environ("mode") or "online"
        spool = " (offline: spooled to ./artstore-runs, then art sync)" if mode == "offline" else ""
        print(f"artstore: no login needed; runs go to {where}{spool}", file=sys.stderr)
    return True
