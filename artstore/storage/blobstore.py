"""Content-addressed objects on any fsspec filesystem: put, has, open, get, verify."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from artstore.errors import CorruptBlobError, NotFoundError
from artstore.storage import _atomic
from artstore.storage.backend import Backend, backend_for
from artstore.storage.digest import CHUNK_SIZE, Digest, hash_bytes, hash_file, hash_stream
from artstore.storage.format import StoreFormat
from artstore.storage.layout import (
    QUARANTINE_DIR,
    SETTINGS_FILE,
    TMP_DIR,
    Kind,
    key_for,
    parse_key,
)

__all__ = ["DEBRIS_GRACE", "BlobStore", "PutResult"]

logger = logging.getLogger(__name__)

# Files up to this size are read whole with one system call; larger ones stream in chunks.
SMALL_FILE = 1024 * 1024

# Staging files in tmp/ untouched for this long (seconds) belong to no live put: a put writes
# to its staging file as it copies, so only a killed or crashed one leaves an old file behind.
DEBRIS_GRACE = 3600.0


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
        self._local = threading.local()
        self._dirty = False

    @property
    def _buffer(self) -> bytearray:
        # One chunk buffer per thread, reused for every file that thread copies.
        buffer: bytearray | None = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = bytearray(CHUNK_SIZE)
        return buffer

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
        size_hint: int | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> PutResult:
        """Store a local file as a blob.

        Args:
            source: a local file.
            digest: its digest when already known (from the stat cache), to skip reading it
                when the blob exists.
            size_hint: its size from a recent ``stat``, to pick the small-file path.
            callback: told of every byte read from ``source``.
        """
        if self.backend.local:
            if digest is not None and self.has(Kind.BLOB, digest):
                size = os.path.getsize(source)
                callback.relative_update(size)
                return PutResult(digest, size, stored=False)
            if size_hint is not None and size_hint <= SMALL_FILE:
                return self._put_small_local(str(source), size_hint, callback)
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

    def put_files(
        self, sources: Sequence[tuple[str | Path, int]], *, callback: Callback = DEFAULT_CALLBACK
    ) -> list[PutResult]:
        """Store many local files, given as (path, size from a recent stat), in order.

        One after another: parallel copies contended on directory locks and the GIL when
        measured on 2 cores, and large files already overlap copying with hashing.
        """
        return [self.put_file(p, size_hint=n, callback=callback) for p, n in sources]

    def _put_small_local(self, source: str, size_hint: int, callback: Callback) -> PutResult:
        # Read whole, hash, and write only when the blob is new: duplicates cost no write.
        fd = os.open(source, os.O_RDONLY)
        try:
            data = os.read(fd, size_hint + 1)
            if len(data) > size_hint:  # it grew since the stat: stream it instead
                os.close(fd)
                fd = -1
                return self._put_local(source, callback)
        finally:
            if fd >= 0:
                os.close(fd)
        callback.relative_update(len(data))
        return self.put_bytes(Kind.BLOB, data)

    def _put_local(self, source: str | Path, callback: Callback) -> PutResult:
        # One pass: read, hash and write together, then name the object when the stream ends.
        staged, dst = _atomic.open_staged(Path(self.root) / TMP_DIR)

        def needed(digest: Digest) -> bool:
            return not os.path.exists(self.path(Kind.BLOB, digest))

        try:
            with open(source, "rb", buffering=0) as src, dst:
                digest, size, complete = _atomic.copy_and_hash(
                    src, dst, staged, self._buffer, callback, source_path=source, needed=needed
                )
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        if not complete:  # the blob exists: the copy stopped as soon as the digest was known
            staged.unlink()
            return PutResult(digest, size, stored=False)
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
            staged = _atomic.write_staged(Path(self.root) / TMP_DIR, data)
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
                actual, _, _ = _atomic.copy_and_hash(src, dst, staged, self._buffer, callback)
            if actual != digest:
                raise CorruptBlobError(digest.hex, actual.hex)
            os.replace(staged, dest)
        finally:
            staged.unlink(missing_ok=True)

    def verify(self, kind: Kind, digest: Digest) -> Digest:
        """Hash a stored object and return the digest its bytes actually have."""
        with self.open(kind, digest) as f:
            return hash_stream(f, self._buffer)[0]

    def iter_digests(self, kind: Kind) -> Iterator[Digest]:
        """Every object of ``kind`` in the store (order unspecified)."""
        base = f"{self.root}/{kind.value}"
        if not self.fs.exists(base):
            return
        for path in self.fs.find(base):
            # Only <kind>/<2 hex>/<30 hex> is an object: gluing the last two parts together
            # would also accept strays such as <kind>/abc/<29 hex> under the wrong key.
            tail = "/".join(str(path).rstrip("/").split("/")[-3:])
            try:
                found, digest = parse_key(tail)
            except ValueError:
                logger.debug("ignoring stray file %s", path)
                continue
            if found is kind:
                yield digest

    # -- debris --------------------------------------------------------------------------------

    def debris(self, grace: float = DEBRIS_GRACE) -> list[tuple[str, int]]:
        """Staging files that interrupted writes left in ``tmp/``: every file there not
        modified for ``grace`` seconds, as (path relative to the root, size), sorted by path.

        Object stores stage nothing, so they have none.
        """
        if not self.backend.local:
            return []
        tmp = Path(self.root) / TMP_DIR
        cutoff = time.time() - grace
        found: list[tuple[str, int]] = []
        for folder, _, names in os.walk(tmp):
            for name in names:
                path = Path(folder, name)
                try:
                    st = path.lstat()
                except FileNotFoundError:  # placed or removed meanwhile
                    continue
                if st.st_mtime < cutoff:
                    found.append((path.relative_to(self.root).as_posix(), st.st_size))
        return sorted(found)

    def remove_debris(self, grace: float = DEBRIS_GRACE) -> tuple[int, int]:
        """Remove what :meth:`debris` lists; return (files removed, bytes freed)."""
        count = freed = 0
        for rel, size in self.debris(grace):
            try:
                os.unlink(Path(self.root) / rel)
            except FileNotFoundError:  # another process removed it first
                continue
            count += 1
            freed += size
        if count:
            logger.info("removed %d staging files (%d bytes) of interrupted writes", count, freed)
        return count, freed

    # -- quarantine ----------------------------------------------------------------------------

    def quarantine(self, kind: Kind, digest: Digest) -> str | None:
        """Move an object whose bytes do not hash to its name out of the way, to
        ``quarantine/<kind>/<digest>.<UTC time>``, so that the next put of the good content
        stores it again. Nothing is deleted.

        The object is moved first and judged where no writer reaches it: bytes that hash to
        their name (a good object, or one a healing put placed meanwhile) go back.

        Returns:
            Where the object went, relative to the root; None when it was missing or good.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        rel = f"{QUARANTINE_DIR}/{kind.value}/{digest.hex}.{stamp}"
        source, aside = self.path(kind, digest), f"{self.root}/{rel}"
        try:
            if self.backend.local:
                os.makedirs(os.path.dirname(aside), exist_ok=True)
                os.rename(source, aside)
            else:
                self.fs.mv(source, aside)
        except FileNotFoundError:
            return None
        with open(aside, "rb") if self.backend.local else self.fs.open(aside, "rb") as f:
            if hash_stream(f, self._buffer)[0] != digest:
                logger.info("moved corrupt %s %s to %s", kind.value, digest, rel)
                return rel
        if self.backend.local:
            _atomic.place(Path(aside), Path(source))
        elif self.has(kind, digest):
            self.fs.rm(aside)
        else:
            self.fs.mv(aside, source)
        return None

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
