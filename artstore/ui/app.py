"""``create_app``: the Starlette app of ``art ui`` (routes, templates, static files, the
security middleware and the error pages)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from artstore.errors import NotFoundError, UserError
from artstore.ui import artifacts, lineage, runs, sweeps
from artstore.ui.security import SecurityMiddleware
from artstore.ui.web import BINARY, FILTERS, api, is_api, page

if TYPE_CHECKING:
    from artstore.artifacts import Store

__all__ = ["create_app"]

_HERE = Path(__file__).parent
_REASONS = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}


def create_app(store: Store, *, host: str | None = "127.0.0.1") -> Starlette:
    """The web app over ``store``: pages, the ``/api/`` JSON routes and ``/static``.

    Args:
        store: the store to show; the app only reads it (open it with ``read_only=True``).
        host: the host the server is bound to; on a loopback host, requests naming another
            Host are refused. None checks no Host (tests, a server behind a proxy).
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(FILTERS)
    routes: list[BaseRoute] = [
        *runs.ROUTES,
        *artifacts.ROUTES,
        *lineage.ROUTES,
        *sweeps.ROUTES,
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityMiddleware, bound_host=host),
            # Pages, JSON and the vendored scripts shrink 3-4x; downloads and media are sent
            # as stored, with their length.
            Middleware(
                GZipMiddleware,
                minimum_size=1024,
                exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, BINARY, "video/*"),
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            NotFoundError: _not_found,
            UserError: _bad_request,
        },
    )
    app.state.store = store
    app.state.templates = Jinja2Templates(env=environment)
    return app


def _error(request: Request, status: int, message: str) -> Response:
    if is_api(request):
        return api({"error": message}, status)
    title = _REASONS.get(status, "Error")
    return page(request, "error.html", status, title=title, message=message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        message = f"no page at {request.url.path}"
    elif status == 405:
        message = f"{request.method} is not allowed here: the UI only reads (GET)"
    else:
        message = str(exc.detail)
    response = _error(request, status, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))
