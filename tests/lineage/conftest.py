"""Lineage test set-up: the shared contract module gets pytest's assertion messages."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.lineage.contract")
