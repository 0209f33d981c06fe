"""The artifacts pages (list, one artifact, a version's files, a file's download, the diff of
two versions) and their ``/api/`` routes.

Each view's data is built by one function that both the page and the API route call; the
documents are ``artstore.serialize``'s. Only versions are ever read: a diff side is a
``NAME:REF``, never a folder of the machine the UI runs on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from artstore.artifacts import ArtifactVersion, Diff, FileEntry, safe_relpath
from artstore.artifacts.diff import compare, version_side
from artstore.artifacts.lookup import every_alias, get_artifact
from artstore.artifacts.names import check_name
from artstore.errors import InvalidArgumentError, MissingBlobError, NotFoundError
from artstore.serialize import (
    artifact_detail_json,
    artifact_summary_json,
    diff_json,
    version_files_json,
)
from artstore.storage import Kind
from artstore.ui.web import api, download, page, query_int, store_of

if TYPE_CHECKING:
    from artstore.artifacts import Store
    from artstore.lineage import AliasMove, ArtifactInfo

__all__ = [
    "ROUTES",
    "Folder",
    "artifact_detail",
    "artifact_rows",
    "diff_versions",
    "folder",
    "version_of",
]

#: Rows a page shows at most (a folder's entries, an artifact's versions): pages stay light on
#: versions of 100,000 files; the rest is a "more" link away, and all of it in the JSON.
PAGE_ROWS = 500


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# -- data -------------------------------------------------------------------------------------


def artifact_rows(store: Store) -> list[tuple[ArtifactInfo, dict[str, int]]]:
    """Every artifact, by name, with where each of its aliases points (alias -> number)."""
    aliases = every_alias(store.repository)
    return [(info, aliases.get(info.name, {})) for info in store.artifacts()]


def artifact_detail(
    store: Store, name: str
) -> tuple[ArtifactInfo, list[ArtifactVersion], list[AliasMove]]:
    """An artifact, its versions (oldest first) and every move of its aliases.

    Raises:
        InvalidNameError: ``name`` is malformed. NotFoundError: no such artifact.
    """
    info = get_artifact(store.repository, name)
    return info, store.versions(name), store.alias_history(name)


def version_of(store: Store, name: str, version: str) -> ArtifactVersion:
    """The version ``version`` (``v3`` or an alias) of the artifact ``name``.

    Raises:
        InvalidNameError: either is malformed. NotFoundError: no such artifact or version.
    """
    return store.artifact(f"{check_name(name)}:{version}")


@dataclass(frozen=True, slots=True)
class Folder:
    """One folder of a version: its sub-folders (name, files below, bytes below) and files."""

    path: str
    folders: tuple[tuple[str, int, int], ...]
    files: tuple[FileEntry, ...]

    def window(self, offset: int, count: int) -> Folder:
        """The ``count`` entries from ``offset``, folders first (as the page lists them)."""
        folders = self.folders[offset : offset + count]
        start = max(offset - len(self.folders), 0)
        files = self.files[start : start + count - len(folders)]
        return Folder(self.path, folders, files)

    @property
    def size(self) -> int:
        """How many entries (folders and files) the folder holds."""
        return len(self.folders) + len(self.files)


def folder(entries: list[FileEntry], path: str) -> Folder:
    """The folder ``path`` ("" for the top) of a version's files.

    Raises:
        UnsafePathError: ``path`` is not a safe relative path. NotFoundError: no file lies in it.
    """
    prefix = safe_relpath(path) + "/" if path else ""
    below: dict[str, list[int]] = {}
    files = []
    for entry in entries:
        if not entry.path.startswith(prefix):
            continue
        head, slash, _ = entry.path[len(prefix) :].partition("/")
        if slash:
            count = below.setdefault(head, [0, 0])
            count[0] += 1
            count[1] += entry.size
        else:
            files.append(entry)
    if prefix and not below and not files:
        raise NotFoundError(f"the version has no folder {path[:200]!r}")
    folders = tuple((n, c[0], c[1]) for n, c in sorted(below.items()))
    return Folder(prefix.rstrip("/"), folders, tuple(files))


def diff_versions(store: Store, a: str, b: str) -> Diff:
    """The diff of two versions (``NAME[:REF]`` each), as ``art diff`` computes it.

    Raises:
        InvalidNameError: a reference is malformed. NotFoundError: no such version.
        UnsupportedFormatError: a changed ``.safetensors`` file is malformed.
    """
    va, vb = store.artifact(a), store.artifact(b)
    return compare(version_side(va, store.blobs), version_side(vb, store.blobs))


def _entry(version: ArtifactVersion, path: str) -> FileEntry:
    entry = version.manifest().entries.get(safe_relpath(path))
    if entry is None:
        raise NotFoundError(f"{version.qualified_name} has no file {path[:200]!r}")
    return entry


def _file_response(request: Request, version: ArtifactVersion, entry: FileEntry) -> Response:
    """The file's bytes as a download, verified as ``art get`` verifies them."""
    pieces = entry.blob_refs()
    lost = store_of(request).blobs.missing(Kind.BLOB, [p.digest for p in pieces])
    if lost:
        index = next(i for i, p in enumerate(pieces) if p.digest in lost)
        raise MissingBlobError(
            pieces[index].digest.hex,
            store_of(request).url,
            artifact=version.qualified_name,
            path=entry.path,
        )
    return download(
        request,
        entry,
        lambda exc: str(exc.located(version.qualified_name, entry.path)),
        headers={"ETag": f'"{entry.digest.hex}"'},
    )


# -- routes -----------------------------------------------------------------------------------


def artifacts_page(request: Request) -> Response:
    rows = artifact_rows(store_of(request))
    return page(request, "artifacts.html", rows=rows)


def artifacts_api(request: Request) -> Response:
    rows = artifact_rows(store_of(request))
    return api({"artifacts": [artifact_summary_json(info, aliases) for info, aliases in rows]})


def artifact_page(request: Request) -> Response:
    info, versions, moves = artifact_detail(store_of(request), request.path_params["name"])
    newest = versions[::-1][:PAGE_ROWS]
    return page(
        request,
        "artifact.html",
        info=info,
        versions=newest,
        moves=moves[::-1][:PAGE_ROWS],
    )


def artifact_api(request: Request) -> Response:
    return api(
        artifact_detail_json(*artifact_detail(store_of(request), request.path_params["name"]))
    )


def version_page(request: Request) -> Response:
    params = request.path_params
    version = version_of(store_of(request), params["name"], params["version"])
    whole = folder(version.files(), request.query_params.get("dir", ""))
    offset = query_int(request, "offset", 0)
    return page(
        request,
        "version.html",
        version=version,
        folder=whole.window(offset, PAGE_ROWS),
        entries=whole.size,
        offset=offset,
        rows=PAGE_ROWS,
        as_json=_text,
    )


def version_api(request: Request) -> Response:
    params = request.path_params
    version = version_of(store_of(request), params["name"], params["version"])
    return api(version_files_json(version, version.files()))


def file_download(request: Request) -> Response:
    params = request.path_params
    version = version_of(store_of(request), params["name"], params["version"])
    return _file_response(request, version, _entry(version, params["path"]))


def _sides(request: Request) -> tuple[str, str]:
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    if not a or not b:
        raise InvalidArgumentError("a diff needs two versions: ?a=NAME:REF&b=NAME:REF")
    return a, b


def diff_page(request: Request) -> Response:
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    found = diff_versions(store_of(request), *_sides(request)) if a or b else None
    return page(request, "diff.html", a=a, b=b, diff=found)


def diff_api(request: Request) -> Response:
    return api(diff_json(diff_versions(store_of(request), *_sides(request))))


ROUTES: list[BaseRoute] = [
    Route("/artifacts", artifacts_page, methods=["GET"]),
    Route("/artifacts/{name}", artifact_page, methods=["GET"]),
    Route("/artifacts/{name}/{version}", version_page, methods=["GET"]),
    Route("/artifacts/{name}/{version}/files/{path:path}", file_download, methods=["GET"]),
    Route("/diff", diff_page, methods=["GET"]),
    Route("/api/artifacts", artifacts_api, methods=["GET"]),
    Route("/api/artifacts/{name}", artifact_api, methods=["GET"]),
    Route("/api/artifacts/{name}/{version}", version_api, methods=["GET"]),
    Route("/api/diff", diff_api, methods=["GET"]),
]
