"""The lineage page (the graph of a version or a run drawn as SVG) and ``/api/lineage``.

``/lineage?ref=NAME:REF`` or ``/lineage?run=ID``, with ``direction=up|down|both`` and
``depth=N`` as ``art lineage`` takes them. The API returns the node-link document of
``art lineage --json`` with where the page draws each node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from artstore.errors import InvalidArgumentError
from artstore.serialize import lineage_json
from artstore.ui.layout import NODE_HEIGHT, NODE_WIDTH, Layout, layout, to_svg
from artstore.ui.web import api, page, query_int, store_of

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage import LineageGraph

__all__ = ["ROUTES", "lineage_of"]

_DIRECTIONS: dict[str, Literal["up", "down", "both"]] = {"up": "up", "down": "down", "both": "both"}


def lineage_of(request: Request, store: Store) -> tuple[LineageGraph, Layout]:
    """The graph the query names (``ref`` or ``run``, ``direction``, ``depth``) and its layout.

    Raises:
        InvalidArgumentError: not exactly one of ``ref`` and ``run``, or a bad direction or
            depth. InvalidNameError, NotFoundError: as :meth:`Store.lineage`.
    """
    query = request.query_params
    ref, run = query.get("ref") or None, query.get("run") or None
    if (ref is None) == (run is None):
        raise InvalidArgumentError("lineage needs one version or one run: ?ref=NAME:REF or ?run=ID")
    way = _DIRECTIONS.get(query.get("direction") or "both")
    if way is None:
        raise InvalidArgumentError(
            f"direction must be up, down or both, not {query['direction'][:40]!r}"
        )
    depth = query_int(request, "depth", -1, minimum=0) if query.get("depth") else None
    graph = store.lineage(ref, run_id=run, direction=way, depth=depth)
    return graph, layout(graph)


def lineage_page(request: Request) -> Response:
    graph, drawn = lineage_of(request, store_of(request))
    return page(
        request,
        "lineage.html",
        focus=graph.node(graph.root),
        graph=graph,
        svg=to_svg(drawn),
        query=request.url.query,
    )


def lineage_api(request: Request) -> Response:
    graph, drawn = lineage_of(request, store_of(request))
    places = {
        box.node.id: {
            "x": box.x,
            "y": box.y,
            "width": NODE_WIDTH,
            "height": NODE_HEIGHT,
            "column": box.column,
            "row": box.row,
        }
        for box in drawn.boxes
    }
    return api(lineage_json(graph, places, (drawn.width, drawn.height)))


ROUTES: list[BaseRoute] = [
    Route("/lineage", lineage_page, methods=["GET"]),
    Route("/api/lineage", lineage_api, methods=["GET"]),
]
