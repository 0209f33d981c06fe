"""Content-addressed objects on any fsspec filesystem: put, has, open, get, verify."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from artstore.errors import (
    ChunkListError,
    CorruptBlobError,
    FileAccessError,
    InvalidNameError,
    MissingBlobError,
    NotFoundError,
    SourceChangedError,
    StoreUnavailableError,
)
from artstore.storage import _atomic, _pieces
from artstore.storage.backend import Backend, backend_for
from artstore.storage.chunker import Layout, Start, chunks_file, cut, read_layout
from artstore.storage.chunks import Chunk
from artstore.storage.digest import (
    CHUNK_SIZE,
    Digest,
    Hasher,
    hash_bytes,
    hash_file,
    hash_stream,
)
from artstore.storage.format import StoreFormat
from artstore.storage.layout import (
    QUARANTINE_DIR,
    SETTINGS_FILE,
    TMP_DIR,
    Kind,
    key_for,
    parse_key,
)
from artstore.storage.reassembly import ChunkedReader, CopyCheck
from artstore.storage.source import LocalFile, Source, access_error, changes, open_source
from artstore.storage.statcache import AnyStatKey

__all__ = ["DEBRIS_GRACE", "NEW_BYTES", "BlobStore", "PutResult"]

logger = logging.getLogger(__name__)

# Files up to this size are read whole with one system call; larger ones stream in chunks.
SMALL_FILE = 1024 * 1024

# Staging files in tmp/ untouched for this long (seconds) belong to no live put: a put writes
# to its staging file as it copies, so only a killed or crashed one leaves an old file behind.
DEBRIS_GRACE = 3600.0


def _nothing() -> None:
    return None


def _never(size: int) -> bool:
    return False


# Blobs read into a put's staging area, by digest: (staging file, size, the result of the
# file whose read staged it), placed together once every file was read.
_Staged = dict[Digest, tuple[Path, int, "PutResult"]]


class PutResult:
    """What putting one file did: its digest and size, the pieces it is stored in (empty for
    a file stored whole, as one blob), whether new bytes were stored and how many
    (``new_bytes``: the bytes of the blobs this put wrote for the file, 0 when every blob was
    there already)."""

    __slots__ = ("chunks", "digest", "new_bytes", "size", "stored")

    def __init__(
        self,
        digest: Digest,
        size: int,
        stored: bool,
        *,
        chunks: tuple[Chunk, ...] = (),
        new_bytes: int | None = None,
    ) -> None:
        self.digest = digest
        self.size = size
        self.stored = stored
        self.chunks = chunks
        self.new_bytes = (size if stored else 0) if new_bytes is None else new_bytes


#: The hook a put's progress callback is called on (``callback.call(NEW_BYTES, n=...)``) for
#: each blob it writes that the store did not hold: the bar can show the new bytes.
NEW_BYTES = "new_bytes"

# Pieces are uploaded to object stores in batches of about this many bytes (in parallel).
_UPLOAD_BATCH = 64 * 1024 * 1024


def _hash_pieces(
    src: Source,
    each: Callable[[Chunk, memoryview], None] = lambda chunk, data: None,
    start: Start | None = None,
) -> tuple[Digest, tuple[Chunk, ...]]:
    """Cut a large file into pieces and hash them and the whole file in one pass, handing
    each piece and its bytes to ``each`` as it is read (``start``: see :func:`.chunker.cut`).

    Raises:
        SourceChangedError: the file changed while it was read.
    """
    whole = Hasher()
    pieces: list[Chunk] = []
    for piece in cut(src.file, src.size, start):
        whole.update(piece.data)
        chunk = Chunk(hash_bytes(piece.data), len(piece.data), piece.tensor)
        pieces.append(chunk)
        each(chunk, piece.data)
    src.check(whole.size)
    return whole.digest(), tuple(pieces)


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
        seen: AnyStatKey | None = None,
        within: str | None = None,
        callback: Callback = DEFAULT_CALLBACK,
        chunked: bool = False,
    ) -> PutResult:
        """Store a local file as a blob (see :meth:`put_files`).

        Args:
            source: a local file.
            digest: its digest when already known (from the stat cache): the file is not read
                when a blob of its size is stored under that digest.
            seen: its stat key from a recent ``stat``: it must still have exactly that.
            within: the folder it was added from: through links, it must still lie inside.
            callback: told of every byte read from ``source``.
            chunked: True cuts a large file into pieces (see :meth:`put_files`).
        """
        file = LocalFile(str(source), seen, digest, within)
        return self.put_files([file], callback=callback, chunked=chunked)[0]

    def put_files(
        self,
        files: Sequence[LocalFile],
        *,
        callback: Callback = DEFAULT_CALLBACK,
        before_write: Callable[[], object] = _nothing,
        chunked: bool = False,
    ) -> list[PutResult]:
        """Store local files as blobs, all of them or none.

        With ``chunked``, a large file (see :func:`~artstore.storage.chunker.chunks_file`) is
        cut into pieces, each stored as a blob unless stored already, and its result lists
        them: only a caller that records the pieces (a manifest) may ask for it, since the file
        is then under no blob of its own digest. Otherwise each file is stored whole.

        Every file is read whole before any blob is written: local roots stage the copies in a
        folder of their own under ``tmp/`` and place them when all are read; object stores hash
        every file before uploading any, and check each upload against the file's stat. A blob
        that is stored with the wrong size is stored again. ``before_write`` runs once before
        the first blob is written, and may raise to stop the put with nothing written.

        One file after another: parallel copies contended on directory locks and the GIL when
        measured on 2 cores, and large files already overlap copying with hashing.

        Raises:
            SourceChangedError: a file changed while it was read (nothing of it is kept).
            NotFoundError: a file no longer exists.
            FileAccessError: a file cannot be read or is not a regular file.
            UnsafePathError: a file is now a link leading outside the folder it came from.
        """
        if not files:
            return []
        cut_up = chunks_file if chunked else _never
        if self.backend.local:
            return self._put_local_files(files, callback, before_write, cut_up)
        return self._put_remote_files(files, callback, before_write, cut_up)

    def _put_local_files(
        self,
        files: Sequence[LocalFile],
        callback: Callback,
        before_write: Callable[[], object],
        cut_up: Callable[[int], bool],
    ) -> list[PutResult]:
        with _atomic.StagingArea(Path(self.root) / TMP_DIR) as area:
            staged: _Staged = {}
            # Left before any blob is placed: an error closing a copied piece (write errors
            # show there on NFS) fails the put with nothing placed.
            with _pieces.Writeback() as wb:
                results = [self._stage_file(f, area, staged, callback, cut_up, wb) for f in files]
            if staged:
                before_write()
                for digest, (path, size, result) in staged.items():
                    final = Path(self.path(Kind.BLOB, digest))
                    if _atomic.place(path, final, size):
                        result.stored = self._dirty = True
                        result.new_bytes += size
        return results

    def _stage_file(
        self,
        file: LocalFile,
        area: Path,
        staged: _Staged,
        callback: Callback,
        cut_up: Callable[[int], bool],
        writeback: _pieces.Writeback,
    ) -> PutResult:
        """Read one file into the staging area unless its blob is there (or staged) already."""

        def needed(digest: Digest, size: int) -> bool:
            return not self._held(staged, digest, size)

        with open_source(file) as src:
            if cut_up(src.size):
                return self._stage_pieces(file, src, area, staged, callback, writeback)
            if file.digest is not None and not needed(file.digest, src.size):
                callback.relative_update(src.size)
                return PutResult(file.digest, src.size, stored=False)
            if src.size <= SMALL_FILE:
                # Read whole and hashed; written only when the blob is new: duplicates cost no
                # write.
                data = src.file.read(src.size + 1) or b""
                callback.relative_update(len(data))
                src.check(len(data))
                result = PutResult(hash_bytes(data), len(data), stored=False)
                if needed(result.digest, result.size):
                    path = _atomic.write_staged(area, data)
                    staged[result.digest] = (path, result.size, result)
                    callback.call(NEW_BYTES, n=result.size)
                return result
            path, dst = _atomic.open_staged(area)
            try:
                with dst:
                    copy = _atomic.copy_source(
                        src.file, dst, self._buffer, callback, src.unchanged, needed
                    )
                src.check(copy.size)
                if not copy.stopped and copy.copied != copy.size:
                    src.check(copy.copied)  # the copy and the hash read different lengths
                # A write within the clock tick of the last one leaves the stat as it was,
                # yet a copy and a hash that read apart may then have read different bytes.
                if copy.apart and not copy.stopped and src.recent:
                    self._check_copy(src, path, copy.digest)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        result = PutResult(copy.digest, copy.size, stored=False)
        if copy.stopped or not needed(copy.digest, copy.size):
            # An intact blob exists, or another file of this put staged the same bytes.
            path.unlink()
        else:
            staged[copy.digest] = (path, copy.size, result)
            callback.call(NEW_BYTES, n=copy.size)
        return result

    def _stage_pieces(
        self,
        file: LocalFile,
        src: Source,
        area: Path,
        staged: _Staged,
        callback: Callback,
        writeback: _pieces.Writeback,
    ) -> PutResult:
        """Read a large file once, cutting it into pieces (see :mod:`.chunker`): the whole file
        and each piece are hashed in the same pass, and each piece that is not stored (or
        staged) already is written to the staging area. Memory holds one piece at a time.

        Known pieces (``file.chunks``, remembered by the stat cache) that are all intact spare
        the read. A file cut at its tensors, on the store's filesystem, is copied by the kernel
        instead (see :meth:`_copy_pieces`)."""
        known = file.chunks or ()
        intact = (self._held(staged, c.digest, c.size) for c in known)
        if file.digest is not None and known and all(intact):
            callback.relative_update(src.size)
            return PutResult(file.digest, src.size, stored=False, chunks=known)
        header, layout = read_layout(src.file, src.size)
        if layout is not None and src.key[0] == os.stat(area).st_dev:
            return self._copy_pieces(src, header, layout, area, staged, callback, writeback)
        mine: dict[Digest, tuple[Path, int]] = {}

        with _atomic.StagedWriter(area) as writer:

            def keep(chunk: Chunk, data: memoryview) -> None:
                callback.relative_update(chunk.size)
                if chunk.digest not in mine and not self._held(staged, chunk.digest, chunk.size):
                    mine[chunk.digest] = (writer.write(data), chunk.size)
                    callback.call(NEW_BYTES, n=chunk.size)

            digest, chunks = _hash_pieces(src, keep, (header, layout))
        result = PutResult(digest, src.size, stored=False, chunks=chunks)
        for digest, (path, size) in mine.items():
            staged[digest] = (path, size, result)
        return result

    def _copy_pieces(
        self,
        src: Source,
        header: bytes,
        layout: Layout,
        area: Path,
        staged: _Staged,
        callback: Callback,
        writeback: _pieces.Writeback,
    ) -> PutResult:
        """Stage the pieces of a file whose cuts its header gave: hashed ahead on a thread, the
        new ones copied by the kernel (see :func:`_pieces.stage_pieces`), as a file stored
        whole is (one memory copy instead of a read and a write).

        Raises:
            SourceChangedError: the file changed while it was read (nothing of it is kept).
        """

        def needed(digest: Digest, size: int) -> bool:
            if self._held(staged, digest, size):
                return False
            callback.call(NEW_BYTES, n=size)
            return True

        pieces = _pieces.stage_pieces(src.file, header, layout, area, needed, callback, writeback)
        try:
            src.check(pieces.size)
            # As for a file stored whole: the copies and the hash read apart, and a write
            # within the clock tick of the last one leaves the stat as it was.
            if src.recent:
                for digest, path in pieces.copies.items():
                    self._check_copy(src, path, digest)
        except BaseException:
            for path in pieces.copies.values():
                path.unlink(missing_ok=True)
            raise
        result = PutResult(pieces.digest, pieces.size, stored=False, chunks=pieces.chunks)
        sizes = {chunk.digest: chunk.size for chunk in pieces.chunks}
        for digest, path in pieces.copies.items():
            staged[digest] = (path, sizes[digest], result)
        return result

    def _check_copy(self, src: Source, path: Path, digest: Digest) -> None:
        """Check that the staging file ``path`` holds the bytes ``digest`` names, for a source
        modified within the racy window (its stat cannot show a change).

        Raises:
            SourceChangedError: it does not: the source changed while it was read.
        """
        if hash_file(path, self._buffer)[0] != digest:
            raise SourceChangedError(src.path, "its bytes changed, its stat did not")

    def _put_remote_files(
        self,
        files: Sequence[LocalFile],
        callback: Callback,
        before_write: Callable[[], object],
        cut_up: Callable[[int], bool],
    ) -> list[PutResult]:
        # The key must be known before the upload, so every file is hashed first.
        hashed: list[tuple[LocalFile, AnyStatKey, Digest, tuple[Chunk, ...]]] = []
        for file in files:
            with open_source(file) as src:
                digest, chunks = file.digest, file.chunks or ()
                if cut_up(src.size):
                    if digest is None or not chunks:
                        digest, chunks = _hash_pieces(src)
                elif digest is None:
                    digest, size = hash_stream(src.file, self._buffer)
                    src.check(size)
                hashed.append((file, src.key, digest, chunks))
        results: list[PutResult] = []
        written = False
        for file, key, digest, chunks in hashed:
            size = key[2]
            if chunks:
                todo = self._absent(chunks)
                if todo and not written:
                    before_write()
                    written = True
                new = self._upload_pieces(file, key, chunks, todo, callback)
                results.append(
                    PutResult(digest, size, stored=new > 0, chunks=chunks, new_bytes=new)
                )
                continue
            if self._intact(Kind.BLOB, digest, size):
                callback.relative_update(size)
                results.append(PutResult(digest, size, stored=False))
                continue
            if not written:
                before_write()
                written = True
            self._upload(file, key, digest, callback)
            callback.call(NEW_BYTES, n=size)
            results.append(PutResult(digest, size, stored=True))
        return results

    def _upload(self, file: LocalFile, key: AnyStatKey, digest: Digest, callback: Callback) -> None:
        """Upload a file to the key of its digest, then make sure it did not change since it
        was hashed; if it did, the object is removed unless its bytes hash to its key."""
        target = self.path(Kind.BLOB, digest)
        try:
            self.fs.put_file(file.path, target)
        except (FileNotFoundError, PermissionError) as exc:
            if not os.access(file.path, os.R_OK):
                raise access_error(file.path, exc) from None
            # The file can be read, so the store refused: a missing bucket or credentials
            # that may not write there.
            raise StoreUnavailableError(
                f"the store at {self.url} refused to store {file.path} ({exc}); check that the "
                "bucket exists and that your credentials may write to it"
            ) from None
        callback.relative_update(key[2])
        try:
            st = os.stat(file.path)
            now: AnyStatKey = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            now = (0, 0, -1, 0)
        if now == key:
            return
        # Uploaded from a file that was changing: the object may hold bytes that never were
        # the file. Another put may have uploaded the good bytes meanwhile: those stay.
        if self.verify(Kind.BLOB, digest) != digest:
            self.fs.rm_file(target)
        raise SourceChangedError(file.path, changes(key, now))

    def _absent(self, chunks: Sequence[Chunk]) -> set[Digest]:
        """The pieces among ``chunks`` whose blob is missing or has another size."""
        return self.unusable(Kind.BLOB, {c.digest: c.size for c in chunks})

    def _upload_pieces(
        self,
        file: LocalFile,
        key: AnyStatKey,
        chunks: Sequence[Chunk],
        todo: set[Digest],
        callback: Callback,
    ) -> int:
        """Upload the pieces ``todo`` of a file hashed as ``chunks``, reading each from the file
        again: a piece whose bytes no longer hash to its digest, or a file whose stat changed
        since it was hashed, is refused (the pieces uploaded are good blobs, named by their
        bytes). Uploads go in batches of up to :data:`_UPLOAD_BATCH` bytes, in parallel.

        Returns:
            The bytes uploaded.
        """
        uploaded = 0
        with open_source(LocalFile(file.path, key, within=file.within)) as src:
            batch: dict[str, bytes] = {}
            offset = 0
            for chunk in chunks:
                if chunk.digest in todo:
                    todo.discard(chunk.digest)  # a piece repeated in the file goes up once
                    src.file.seek(offset)
                    data = src.file.read(chunk.size) or b""
                    if hash_bytes(data) != chunk.digest:
                        raise SourceChangedError(src.path, "its bytes changed while it was put")
                    batch[self.path(Kind.BLOB, chunk.digest)] = data
                    uploaded += chunk.size
                    callback.call(NEW_BYTES, n=chunk.size)
                    if sum(map(len, batch.values())) >= _UPLOAD_BATCH:
                        self._pipe(file.path, batch)
                offset += chunk.size
                callback.relative_update(chunk.size)
            self._pipe(file.path, batch)
            if not src.unchanged():
                raise SourceChangedError(src.path, "it was modified while it was put")
        return uploaded

    def _pipe(self, source: str, batch: dict[str, bytes]) -> None:
        """Upload ``batch`` (path -> bytes) and empty it."""
        if not batch:
            return
        try:
            self.fs.pipe(batch)
        except PermissionError as exc:
            raise StoreUnavailableError(
                f"the store at {self.url} refused to store {source} ({exc}); check that the "
                "bucket exists and that your credentials may write to it"
            ) from None
        batch.clear()

    def _held(self, staged: _Staged, digest: Digest, size: int) -> bool:
        """Whether a put has the blob ``digest`` already: staged by it, or stored intact."""
        return digest in staged or self._intact(Kind.BLOB, digest, size)

    def _intact(self, kind: Kind, digest: Digest, size: int) -> bool:
        """Whether the object exists with ``size`` bytes (its content is not read)."""
        try:
            if self.backend.local:
                return os.stat(self.path(kind, digest)).st_size == size
            return int(self.fs.info(self.path(kind, digest))["size"]) == size
        except FileNotFoundError:
            return False

    def unusable(self, kind: Kind, sizes: Mapping[Digest, int]) -> set[Digest]:
        """The digests among ``sizes`` (digest -> expected size) whose object is missing or has
        another size: a put must store them again rather than reuse them."""
        if self.backend.local:
            return {d for d, size in sizes.items() if not self._intact(kind, d, size)}
        # One request each: in parallel, as they only wait on the network.
        items = list(sizes.items())
        with ThreadPoolExecutor(8, thread_name_prefix="artstore-stat") as pool:
            intact = list(pool.map(lambda item: self._intact(kind, *item), items))
        return {digest for (digest, _), ok in zip(items, intact, strict=True) if not ok}

    def all_intact(self, kind: Kind, sizes: Iterable[tuple[str, int]]) -> bool:
        """Whether every object in ``sizes`` (hex digest, expected size) exists with its size.

        The hot loop of re-logging an unchanged folder (one ``stat`` per blob), so it takes
        the hex digests of a manifest read by artstore itself, unwrapped.
        """
        if not self.backend.local:
            return not self.unusable(kind, {Digest.parse(d): n for d, n in sizes})
        base = f"{self.root}/{kind.value}/"
        stat = os.stat
        try:
            return all(stat(f"{base}{d[:2]}/{d[2:]}").st_size == n for d, n in sizes)
        except FileNotFoundError:
            return False

    def put_bytes(self, kind: Kind, data: bytes) -> PutResult:
        """Store ``data`` as an object of ``kind``, named by its digest (again if the stored
        object has another size)."""
        digest = hash_bytes(data)
        if self._intact(kind, digest, len(data)):
            return PutResult(digest, len(data), stored=False)
        if self.backend.local:
            staged = _atomic.write_staged(Path(self.root) / TMP_DIR, data)
            stored = _atomic.place(staged, Path(self.path(kind, digest)), len(data))
            self._dirty |= stored
            return PutResult(digest, len(data), stored)
        self.fs.pipe_file(self.path(kind, digest), data)
        return PutResult(digest, len(data), stored=True)

    def sync(self) -> None:
        """Make every object written so far durable (one filesystem sync on local roots).

        Raises:
            FileAccessError: the filesystem reported that written data may not have reached
                the disk (an I/O error, a full disk).
        """
        if self.backend.local and self._dirty:
            try:
                _atomic.sync_filesystem(Path(self.root))
            except OSError as exc:
                raise FileAccessError(
                    self.url, f"its filesystem failed to write it to disk ({exc.strerror})"
                ) from None
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
                actual, _ = _atomic.copy_and_hash(src, dst, staged, self._buffer, callback)
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
            except InvalidNameError:
                logger.debug("ignoring stray file %s", path)
                continue
            if found is kind:
                yield digest

    # -- debris --------------------------------------------------------------------------------

    def debris(self, grace: float = DEBRIS_GRACE) -> list[tuple[str, int]]:
        """Staging files that interrupted writes left in ``tmp/``: every file there not
        modified for ``grace`` seconds, except in the folder of a put still running, as (path
        relative to the root, size), sorted by path.

        Object stores stage nothing, so they have none.
        """
        return [(rel, size) for rel, size, folder in self._debris(grace) if not folder]

    def _debris(self, grace: float) -> list[tuple[str, int, bool]]:
        # (path relative to the root, size, whether it is a folder left empty)
        if not self.backend.local:
            return []
        tmp = Path(self.root) / TMP_DIR
        cutoff = time.time() - grace
        found: list[tuple[str, int, bool]] = []
        for folder, dirs, names in os.walk(tmp):
            here = Path(folder)
            if here != tmp and _atomic.held(here):
                dirs.clear()  # a running put's folder: its files are not debris, however old
                continue
            for name in names:
                path = here / name
                try:
                    st = path.lstat()
                except FileNotFoundError:  # placed or removed meanwhile
                    continue
                if st.st_mtime < cutoff:
                    found.append((path.relative_to(self.root).as_posix(), st.st_size, False))
            if here != tmp and not names and not dirs:
                try:
                    if here.stat().st_mtime < cutoff:
                        found.append((here.relative_to(self.root).as_posix(), 0, True))
                except FileNotFoundError:
                    continue
        return sorted(found)

    def remove_debris(self, grace: float = DEBRIS_GRACE) -> tuple[int, int]:
        """Remove what :meth:`debris` lists (and the folders of dead puts that it empties);
        return (files removed, bytes freed)."""
        count = freed = 0
        emptied: set[Path] = set()
        for rel, size, is_folder in self._debris(grace):
            path = Path(self.root) / rel
            if is_folder:
                emptied.add(path)
                continue
            try:
                path.unlink()
            except FileNotFoundError:  # another process removed it first
                continue
            count += 1
            freed += size
            if path.parent.name != TMP_DIR:
                emptied.add(path.parent)
        for folder in emptied:
            with contextlib.suppress(OSError):  # not empty: a file younger than the grace
                folder.rmdir()
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

    # -- reading files stored in chunks --------------------------------------------------------

    def open_chunks(self, chunks: Sequence[Chunk], digest: Digest, size: int) -> ChunkedReader:
        """Open a file stored as ``chunks`` (its blobs, in order) as one stream, verified piece
        by piece and whole at its end (see :class:`ChunkedReader`); only its own pieces are
        read. Errors come from reading, and name the piece."""
        return ChunkedReader(
            lambda blob: self.open(Kind.BLOB, blob), chunks, digest, size, self.url
        )

    def get_chunks(
        self,
        chunks: Sequence[Chunk],
        digest: Digest,
        size: int,
        dest: Path,
        *,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> None:
        """Write a file stored as ``chunks`` to a local file, piece by piece (memory stays
        flat). As :meth:`get_file`, the bytes go to a staging file beside ``dest`` that is
        renamed only once every piece and the whole file matched their digests.

        Raises:
            MissingBlobError: a piece is missing (names its index and digest).
            CorruptBlobError: a piece does not match its digest (names its index), or the
                pieces do not make the file (nothing is written either way).
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = _atomic.partial_path(dest.parent)
        try:
            restore = self._copy_chunks if self.backend.local else self._read_chunks
            restore(chunks, digest, size, staged, callback)
            os.replace(staged, dest)
        finally:
            staged.unlink(missing_ok=True)

    def _copy_chunks(
        self, chunks: Sequence[Chunk], digest: Digest, size: int, staged: Path, callback: Callback
    ) -> None:
        # As get_file: the kernel copies each piece's blob (no trip through user memory), and
        # the copy is checked piece by piece and whole, each piece while the next ones are
        # copied.
        with (
            open(staged, "w+b", buffering=0) as dst,  # read too: by the check
            CopyCheck(dst.fileno(), chunks, digest, size, self.url) as check,
        ):
            for index in range(len(chunks)):
                if check.failed():
                    break
                self._copy_piece(chunks, index, dst, callback)
                check.copied(index)
            check.wait()
            copied = os.fstat(dst.fileno()).st_size
            if copied != size:  # bytes beyond the pieces' stretches, which nothing read
                dst.seek(0)
                actual, _ = hash_stream(dst, self._buffer)
                raise ChunkListError(digest.hex, actual.hex, count=len(chunks), size=copied)

    def _read_chunks(
        self, chunks: Sequence[Chunk], digest: Digest, size: int, staged: Path, callback: Callback
    ) -> None:
        view = memoryview(self._buffer)
        with self.open_chunks(chunks, digest, size) as src, open(staged, "wb", buffering=0) as dst:
            while n := src.readinto(view):
                dst.write(view[:n])
                callback.relative_update(n)

    def _copy_piece(
        self, chunks: Sequence[Chunk], index: int, dst: BinaryIO, callback: Callback
    ) -> None:
        chunk = chunks[index]
        try:
            src = open(self.path(Kind.BLOB, chunk.digest), "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            raise MissingBlobError(
                chunk.digest.hex, self.url, chunk=index, count=len(chunks)
            ) from None
        with src:
            # The whole blob is copied, and only the piece's stretch of the copy is checked.
            if os.fstat(src.fileno()).st_size != chunk.size:
                actual, _ = hash_stream(src, self._buffer)
                raise CorruptBlobError(chunk.digest.hex, actual.hex, chunk=index, count=len(chunks))
            _atomic.append_copy(src, dst, self._buffer, callback)

    def read_chunk(self, chunks: Sequence[Chunk], index: int) -> bytes:
        """The bytes of piece ``index`` of a file stored as ``chunks``, verified.

        Raises:
            MissingBlobError: the piece is missing.
            CorruptBlobError: its bytes do not hash to its digest (names the piece).
        """
        chunk = chunks[index]
        try:
            return self.read_bytes(Kind.BLOB, chunk.digest)
        except NotFoundError:
            raise MissingBlobError(
                chunk.digest.hex, self.url, chunk=index, count=len(chunks)
            ) from None
        except CorruptBlobError as exc:
            raise CorruptBlobError(
                exc.expected, exc.actual, chunk=index, count=len(chunks)
            ) from None
