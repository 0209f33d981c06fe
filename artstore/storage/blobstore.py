"""Content-addressed objects on any fsspec filesystem: put, has, open, get, verify."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from artstore.errors import CorruptBlobError, NotFoundError
from artstore.storage import _atomic
from artstore.storage.backend import Backend, backend_for
from artstore.storage.digest import CHUNK_SIZE, Digest, Hasher, hash_bytes, hash_file
from artstore.storage.format import StoreFormat
from artstore.storage.layout import SETTINGS_FILE, TMP_DIR, Kind, key_for

__all__ = ["BlobStore", "PutResult"]

logger = logging.getLogger(__name__)


class PutResult:
    """What putting one file did: its digest, its size, and whether new bytes were stored."""

    __slots__ = ("digest", "size", "stored")

    def __init__(self, digest: Digest, size: int, stored: bool) -> None:
        self.digest = digest
        self.size = size
        self.stored = stored


class BlobStore:
    """Immutable objects named by the xxh3-128 of their bytes, under one root of a filesystem.

    Writes never leave a partial object under its final name: local roots stage in ``tmp/`` and
    rename; object stores upload straight to the final key, since one PUT is atomic. Nothing is
    durable until :meth:`sync`, which callers run once before recording what they wrote.
    """

    def __init__(self, fs: Any, root: str, marker: StoreFormat, url: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.marker = marker
        self.url = url
        self.backend: Backend = backend_for(fs)
        self._buffer = bytearray(CHUNK_SIZE)
        self._made_dirs: set[str] = set()
        self._dirty = False

    @property
    def id(self) -> str:
        """The store's random id from ``artstore.json``: the key for per-user caches."""
        return self.marker.id

    @property
    def local_root(self) -> Path | None:
        """The root as a local folder, or None when the store is not on the local disk."""
        return Path(self.root) if self.backend.local else None

    def path(self, kind: Kind, digest: Digest) -> str:
        """The full filesystem path of an object."""
        return f"{self.root}/{key_for(kind, digest)}"

    # -- writing -------------------------------------------------------------------------------

    def put_file(
        self,
        source: str | Path,
        *,
        digest: Digest | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> PutResult:
        """Store a local file as a blob.

        Args:
            source: a local file.
            digest: its digest when already known (from the stat cache), to skip hashing when the
                blob exists.
            callback: told of every byte read from ``source``.
        """
        if self.backend.local:
            if digest is not None and self.has(Kind.BLOB, digest):
                callback.relative_update(os.path.getsize(source))
                return PutResult(digest, os.path.getsize(source), stored=False)
            return self._put_local(source, callback)
        if digest is None:
            digest, size = hash_file(source, self._buffer)
        else:
            size = os.path.getsize(source)
        if self.has(Kind.BLOB, digest):
            callback.relative_update(size)
            return PutResult(digest, size, stored=False)
        self.fs.put_file(str(source), self.path(Kind.BLOB, digest))
        callback.relative_update(size)
        return PutResult(digest, size, stored=True)

    def _put_local(self, source: str | Path, callback: Callback) -> PutResult:
        # One pass: read, hash and write together, then name the object when the stream ends.
        staged = _atomic.partial_path(Path(self.root) / TMP_DIR)
        with open(source, "rb", buffering=0) as src, open(staged, "wb", buffering=0) as dst:
            digest, size = _atomic.copy_hashing(src, dst, self._buffer, callback)
        final = Path(self.path(Kind.BLOB, digest))
        stored = _atomic.place(staged, final)
        self._dirty |= stored
        return PutResult(digest, size, stored)

    def put_bytes(self, kind: Kind, data: bytes) -> PutResult:
        """Store ``data`` as an object of ``kind``, named by its digest."""
        digest = hash_bytes(data)
        if self.has(kind, digest):
            return PutResult(digest, len(data), stored=False)
        if self.backend.local:
            staged = _atomic.partial_path(Path(self.root) / TMP_DIR)
            staged.write_bytes(data)
            stored = _atomic.place(staged, Path(self.path(kind, digest)))
            self._dirty |= stored
            return PutResult(digest, len(data), stored)
        self.fs.pipe_file(self.path(kind, digest), data)
        return PutResult(digest, len(data), stored=True)

    def sync(self) -> None:
        """Make every object written so far durable (one filesystem sync on local roots)."""
        if self.backend.local and self._dirty:
            _atomic.sync_filesystem(Path(self.root))
            self._dirty = False

    # -- reading -------------------------------------------------------------------------------

    def has(self, kind: Kind, digest: Digest) -> bool:
        """Whether the object exists."""
        if self.backend.local:
            return os.path.exists(self.path(kind, digest))
        return bool(self.fs.exists(self.path(kind, digest)))

    def missing(self, kind: Kind, digests: Iterable[Digest]) -> set[Digest]:
        """The digests among ``digests`` that have no object."""
        return {d for d in set(digests) if not self.has(kind, d)}

    def size(self, kind: Kind, digest: Digest) -> int:
        """The stored size of an object.

        Raises:
            NotFoundError: no such object.
        """
        try:
            return int(self.fs.size(self.path(kind, digest)))
        except FileNotFoundError:
            raise self._not_found(kind, digest) from None

    def open(self, kind: Kind, digest: Digest) -> BinaryIO:
        """Open an object for reading; the bytes are not verified (see :meth:`get_file`).

        Raises:
            NotFoundError: no such object.
        """
        try:
            if self.backend.local:
                return open(self.path(kind, digest), "rb")
            return self.fs.open(self.path(kind, digest), "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise self._not_found(kind, digest) from None

    def read_bytes(self, kind: Kind, digest: Digest) -> bytes:
        """The whole object, verified against its digest.

        Raises:
            NotFoundError: no such object.
            CorruptBlobError: the bytes do not hash to ``digest``.
        """
        with self.open(kind, digest) as f:
            data = f.read()
        actual = hash_bytes(data)
        if actual != digest:
            raise CorruptBlobError(digest.hex, actual.hex)
        return data

    def get_file(
        self, digest: Digest, dest: Path, *, callback: Callback = DEFAULT_CALLBACK
    ) -> None:
        """Write a blob to a local file, verifying it on the way.

        The bytes go to a staging file beside ``dest`` that is renamed only once the digest
        matches, so ``dest`` never holds unverified content.

        Raises:
            NotFoundError: no such blob.
            CorruptBlobError: the stored bytes do not hash to ``digest`` (nothing is written).
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = _atomic.partial_path(dest.parent)
        try:
            with self.open(Kind.BLOB, digest) as src, open(staged, "wb", buffering=0) as dst:
                actual, _ = _atomic.copy_hashing(src, dst, self._buffer, callback)
            if actual != digest:
                raise CorruptBlobError(digest.hex, actual.hex)
            os.replace(staged, dest)
        finally:
            staged.unlink(missing_ok=True)

    def verify(self, kind: Kind, digest: Digest) -> Digest:
        """Hash a stored object and return the digest its bytes actually have."""
        hasher = Hasher()
        view = memoryview(self._buffer)
        with self.open(kind, digest) as f:
            while n := f.readinto(view):  # type: ignore[attr-defined]
                hasher.update(view[:n])
        return hasher.digest()

    def iter_digests(self, kind: Kind) -> Iterator[Digest]:
        """Every object of ``kind`` in the store (order unspecified)."""
        base = f"{self.root}/{kind.value}"
        if not self.fs.exists(base):
            return
        for path in self.fs.find(base):
            parts = str(path).rstrip("/").split("/")
            try:
                yield Digest.parse(parts[-2] + parts[-1])
            except ValueError:
                logger.debug("ignoring stray file %s", path)

    def read_settings(self) -> str | None:
        """The text of ``artstore.yaml`` at the root, or None when there is none."""
        try:
            return bytes(self.fs.cat_file(f"{self.root}/{SETTINGS_FILE}")).decode()
        except FileNotFoundError:
            return None

    def _not_found(self, kind: Kind, digest: Digest) -> NotFoundError:
        noun = "blob" if kind is Kind.BLOB else "manifest"
        return NotFoundError(
            f"{noun} {digest} is missing from {self.url}; run `art verify` to list what is lost"
        )
