"""The artifacts pages and their `/api/` routes (placeholder until they are built)."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = []
