"""The runs pages (projects, runs table, compare, run) and their ``/api/`` routes.

Each view's data is built by one function that both the page and the API route call.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from artstore.artifacts import Store
from artstore.ui.web import api, page, store_of

__all__ = ["ROUTES", "projects_data"]


def projects_data(store: Store) -> list[dict[str, Any]]:
    """Every project with how many runs it holds, by name."""
    counts = Counter(run.record.project for run in store.runs())
    return [{"project": name, "runs": counts[name]} for name in sorted(counts)]


def projects_page(request: Request) -> Response:
    return page(request, "projects.html", projects=projects_data(store_of(request)))


def projects_api(request: Request) -> Response:
    return api({"projects": projects_data(store_of(request))})


ROUTES: list[BaseRoute] = [
    Route("/", projects_page, methods=["GET"]),
    Route("/api/projects", projects_api, methods=["GET"]),
]
