"""Open or create a store root: the one place that turns a URL into a filesystem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fsspec

from artstore.errors import (
    ConfigError,
    FileAccessError,
    NotAStoreError,
    UnsupportedFormatError,
)
from artstore.redaction import redact_url
from artstore.storage.backend import backend_for
from artstore.storage.blobstore import BlobStore
from artstore.storage.format import StoreFormat, parse_marker
from artstore.storage.layout import MARKER_FILE, TMP_DIR, Kind
from artstore.storage.remote import Unreachable

__all__ = ["init_store", "open_store"]


def _filesystem(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    options = dict(storage_options or {})
    # fsspec filesystems answer exists/info/open from directory listings cached earlier in
    # the process. Other clients add objects and delete them meanwhile, so a cached listing
    # would call a collected blob present and a new version could reference lost data: the
    # store's filesystem keeps none (its instance is not shared with other options either).
    options.setdefault("use_listings_cache", False)
    if "\x00" in url:
        raise ConfigError(f"cannot open {redact_url(url)!r}: a store URL holds no NUL character")
    try:
        fs, root = fsspec.url_to_fs(url, **options)
    except (ImportError, TypeError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot open {redact_url(url)}: {reason}") from None
    if not backend_for(fs).local:
        fs = Unreachable(fs, redact_url(url))
    return fs, str(root)


def _read_marker(fs: Any, root: str, shown: str) -> StoreFormat | None:
    path = f"{root.rstrip('/')}/{MARKER_FILE}"
    try:
        raw = fs.cat_file(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise UnsupportedFormatError(
            f"{shown}/{MARKER_FILE} is a folder, not a store marker; this is no store "
            "artstore can read"
        ) from None
    except PermissionError as exc:
        reason = exc.strerror or "permission denied"
        raise FileAccessError(f"{shown}/{MARKER_FILE}", reason) from None
    return parse_marker(bytes(raw), shown)


def open_store(url: str, *, storage_options: dict[str, Any] | None = None) -> BlobStore:
    """Open an existing store.

    Raises:
        NotAStoreError: there is no ``artstore.json`` at ``url``.
        UnsupportedFormatError: the store was written by an unknown format version.
    """
    fs, root = _filesystem(url, storage_options)
    shown = redact_url(url)
    marker = _read_marker(fs, root, shown)
    if marker is None:
        raise NotAStoreError(shown)
    return BlobStore(fs, root, marker, shown)


def _nothing(store: BlobStore) -> None:
    pass


def init_store(
    url: str,
    *,
    storage_options: dict[str, Any] | None = None,
    prepare: Callable[[BlobStore], None] = _nothing,
) -> BlobStore:
    """Create a store at ``url``, or open it if one is there already.

    Args:
        prepare: called with the new store before anything is written, when there is no
            store yet; whatever it raises leaves nothing created.

    Raises:
        FileAccessError: ``url`` is a local file, or its folders cannot be made.
        ConfigError: the bucket is missing or refuses the write.
        UnsupportedFormatError: a store of another format is there.
    """
    fs, root = _filesystem(url, storage_options)
    shown = redact_url(url)
    marker = _read_marker(fs, root, shown)
    if marker is not None:
        return BlobStore(fs, root, marker, shown)
    store = BlobStore(fs, root, StoreFormat.new(), shown)
    base = store.root
    if store.backend.local and fs.isfile(base):
        raise FileAccessError(shown, "it is a file; give a folder for the store")
    prepare(store)
    # The marker goes last: a store is visible only once it is complete.
    if store.backend.local:
        _create_folders(fs, base, store.marker, shown)
    else:
        _create_in_bucket(fs, base, store.marker, shown)
    return store


def _create_folders(fs: Any, base: str, marker: StoreFormat, shown: str) -> None:
    try:
        for folder in (TMP_DIR, Kind.BLOB.value, Kind.MANIFEST.value):
            fs.makedirs(f"{base}/{folder}", exist_ok=True)
        fs.pipe_file(f"{base}/{MARKER_FILE}", marker.encode())
    except OSError as exc:
        raise FileAccessError(shown, exc.strerror or str(exc)) from None


def _create_in_bucket(fs: Any, base: str, marker: StoreFormat, shown: str) -> None:
    # Object stores have no folders to make, and a missing bucket is not created: its
    # region, access and billing are the owner's choice.
    try:
        fs.pipe_file(f"{base}/{MARKER_FILE}", marker.encode())
    except (FileNotFoundError, PermissionError) as exc:
        raise ConfigError(
            f"cannot create a store at {shown} ({exc.strerror or exc}): create the bucket "
            "first, and check that your credentials may write to it"
        ) from None
