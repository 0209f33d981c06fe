"""``art ui``: a read-only web app over a store and its catalog.

``create_app`` builds the Starlette app (pages and the ``/api/`` JSON routes); ``serve`` runs it
with uvicorn. Only this package imports starlette, uvicorn and jinja2 (the ``[ui]`` extra).
"""

from __future__ import annotations

from artstore.ui.app import create_app
from artstore.ui.server import serve

__all__ = ["create_app", "serve"]
