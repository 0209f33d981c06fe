"""Open or create a store root: the one place that turns a URL into a filesystem."""

from __future__ import annotations

from typing import Any

import fsspec

from artstore.errors import ConfigError, NotAStoreError
from artstore.storage.blobstore import BlobStore
from artstore.storage.format import StoreFormat, parse_marker
from artstore.storage.layout import MARKER_FILE, TMP_DIR, Kind

__all__ = ["init_store", "open_store"]


def _filesystem(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    options = dict(storage_options or {})
    # fsspec filesystems answer exists/info/open from directory listings cached earlier in
    # the process. Other clients add objects and delete them meanwhile, so a cached listing
    # would call a collected blob present and a new version could reference lost data: the
    # store's filesystem keeps none (its instance is not shared with other options either).
    options.setdefault("use_listings_cache", False)
    try:
        fs, root = fsspec.url_to_fs(url, **options)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot open {url}: {exc}") from None
    return fs, str(root)


def _read_marker(fs: Any, root: str, url: str) -> StoreFormat | None:
    try:
        raw = fs.cat_file(f"{root.rstrip('/')}/{MARKER_FILE}")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return parse_marker(bytes(raw), url)


def open_store(url: str, *, storage_options: dict[str, Any] | None = None) -> BlobStore:
    """Open an existing store.

    Raises:
        NotAStoreError: there is no ``artstore.json`` at ``url``.
        UnsupportedFormatError: the store was written by an unknown format version.
    """
    fs, root = _filesystem(url, storage_options)
    marker = _read_marker(fs, root, url)
    if marker is None:
        raise NotAStoreError(url)
    return BlobStore(fs, root, marker, url)


def init_store(url: str, *, storage_options: dict[str, Any] | None = None) -> BlobStore:
    """Create a store at ``url``, or open it if one is there already."""
    fs, root = _filesystem(url, storage_options)
    marker = _read_marker(fs, root, url)
    if marker is None:
        marker = StoreFormat.new()
        base = root.rstrip("/")
        store = BlobStore(fs, root, marker, url)
        if store.backend.local:
            for folder in (TMP_DIR, Kind.BLOB.value, Kind.MANIFEST.value):
                fs.makedirs(f"{base}/{folder}", exist_ok=True)
        # The marker goes last: a store is visible only once it is complete. Object stores
        # have no folders to make, and a missing bucket is not created: its region, access
        # and billing are the owner's choice.
        try:
            fs.pipe_file(f"{base}/{MARKER_FILE}", marker.encode())
        except (FileNotFoundError, PermissionError) as exc:
            raise ConfigError(
                f"cannot create a store at {url} ({exc.strerror or exc}): create the bucket "
                "first, and check that your credentials may write to it"
            ) from None
        return store
    return BlobStore(fs, root, marker, url)
