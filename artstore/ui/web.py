"""What every page and API route shares: the store and templates of a request, the JSON and
page responses, and the checks of query parameters."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.templating import Jinja2Templates

from artstore.artifacts.media import describe
from artstore.errors import CorruptBlobError, InvalidArgumentError
from artstore.serialize import dumps

if TYPE_CHECKING:
    from artstore.artifacts import FileEntry, Store

INT64_MAX = 2**63 - 1
BINARY = "application/octet-stream"
#: Files up to this size are read whole, and verified, before the first byte is sent; a
#: larger one streams, verified piece by piece, and a damaged piece cuts the response short.
WHOLE_READ = 4 * 1024 * 1024
_BLOCK = 1024 * 1024

__all__ = [
    "BINARY",
    "FILTERS",
    "INT64_MAX",
    "WHOLE_READ",
    "api",
    "cell",
    "column_label",
    "download",
    "duration",
    "filesize",
    "in_range",
    "is_api",
    "page",
    "query_int",
    "query_list",
    "store_of",
    "templates_of",
]


def store_of(request: Request) -> Store:
    """The store the app serves."""
    store: Store = request.app.state.store
    return store


def templates_of(request: Request) -> Jinja2Templates:
    """The app's templates."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (errors answer in JSON there)."""
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def api(document: Any, status: int = 200) -> Response:
    """A JSON response of ``document`` (a shape of ``artstore.serialize``), compact."""
    return Response(dumps(document, indent=None), status, media_type="application/json")


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """The HTML page ``template`` rendered with ``context`` (and the store's URL)."""
    context.setdefault("store_url", store_of(request).url)
    return templates_of(request).TemplateResponse(request, template, context, status_code=status)


def query_int(
    request: Request, name: str, default: int, *, minimum: int = 0, maximum: int = INT64_MAX
) -> int:
    """The integer query parameter ``name`` (``default`` when absent); by default at most what
    the catalog's 64-bit integers hold.

    Raises:
        InvalidArgumentError: it is not an integer in ``[minimum, maximum]``.
    """
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be an integer, not {raw!r}") from None
    return in_range(name, value, minimum, maximum)


def in_range(name: str, value: int, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """``value`` when it is in ``[minimum, maximum]``.

    Raises:
        InvalidArgumentError: it is not.
    """
    if value < minimum or value > maximum:
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:20]}…"
        upper = f"at most {maximum}"
        raise InvalidArgumentError(f"{name} must be at least {minimum} and {upper}, not {shown}")
    return value


def query_list(request: Request, name: str) -> list[str]:
    """The comma-separated query parameter ``name`` as a list (empty items dropped)."""
    raw = request.query_params.get(name, "")
    return [item for item in (part.strip() for part in raw.split(",")) if item]


def download(
    request: Request,
    entry: FileEntry,
    located: Callable[[CorruptBlobError], str],
    *,
    kind: str = BINARY,
    disposition: str = "attachment",
    headers: dict[str, str] | None = None,
) -> Response:
    """The stored file ``entry`` as a response, verified as ``art get`` verifies it; a HEAD
    reads nothing. ``located`` words a corrupt blob's error for the 500 of a small file."""
    name = quote(entry.path.rpartition("/")[2], safe="")
    headers = {
        **(headers or {}),
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
        "Content-Length": str(entry.size),
    }
    if request.method == "HEAD":
        return Response(media_type=kind, headers=headers)
    reader = store_of(request).blobs.open_chunks(entry.blob_refs(), entry.digest, entry.size)
    if entry.size > WHOLE_READ:
        return StreamingResponse(_blocks(reader), media_type=kind, headers=headers)
    try:
        data = b"".join(_blocks(reader))
    except CorruptBlobError as exc:
        raise HTTPException(500, located(exc)) from None
    return Response(data, media_type=kind, headers=headers)


def _blocks(reader: io.RawIOBase) -> Iterator[bytes]:
    # A piece that fails its check raises here, after earlier bytes went out: the server then
    # drops the connection, so the client sees a download shorter than its Content-Length.
    with reader:
        while block := reader.read(_BLOCK):
            yield block


# -- template filters ------------------------------------------------------------------------------


def cell(value: Any, width: int = 60) -> str:
    """A value as a table cell shows it: numbers to 4 significant digits, text and JSON cut to
    ``width`` characters, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and isinstance(value.get("_type"), str):
        return describe(value)  # a media value in a summary: what it is, not its JSON
    text = value if isinstance(value, str) else dumps(value, indent=None)
    return text if len(text) <= width else text[: width - 1] + "…"


def column_label(column: str) -> tuple[str, str]:
    """(column, its header): ``config.lr`` -> ``lr``, ``metric.loss.min`` -> ``loss (min)``."""
    head, _, rest = column.partition(".")
    if head == "metric":
        key, _, stat = rest.rpartition(".")
        return column, f"{key} ({stat})"
    return column, rest or column


def duration(seconds: float | None) -> str:
    """``3h 02m``, ``4m 05s`` or ``12s``."""
    if seconds is None:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def filesize(size: int | None, missing: str = "") -> str:
    """Bytes in the largest unit that keeps the number at least 1 (``1.5 MiB``); ``missing``
    for None."""
    if size is None:
        return missing
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


FILTERS = {"cell": cell, "column_label": column_label, "duration": duration, "filesize": filesize}
