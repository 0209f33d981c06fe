"""Reading a file back from its chunks: one stream over the pieces, each verified as it ends,
the whole verified against the file's digest and size at its end."""

from __future__ import annotations

import io
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

from artstore.errors import ChunkListError, CorruptBlobError, MissingBlobError, NotFoundError
from artstore.storage.chunks import Chunk
from artstore.storage.digest import Digest, Hasher

__all__ = ["ChunkedReader", "CopyCheck"]

# The check's own buffer (a restore's memory stays one buffer or so): reading the page cache a
# MiB at a time costs no more per byte than 8 MiB at a time.
_CHECK_BUFFER = 1024 * 1024


class ChunkedReader(io.RawIOBase):
    """The bytes of a file stored as ``chunks``, read one piece at a time (memory stays flat).

    Each piece is hashed as it is read and checked when it ends; the whole file is checked
    against ``digest`` and ``size`` when the last piece ends. A reader hands out bytes before
    their piece is checked, so whoever writes them somewhere keeps them out of sight until the
    end of the stream (as :meth:`BlobStore.get_chunks` does). Only :meth:`seek` back to the
    start is possible: it reads the pieces again from the first.

    Raises (from ``read``/``readinto``):
        MissingBlobError: a piece has no blob (names its index and digest).
        CorruptBlobError: a piece does not hash to its digest (names its index).
        ChunkListError: every piece is good, but together they do not make the file's digest
            and size (the manifest is wrong).
    """

    def __init__(
        self,
        open_blob: Callable[[Digest], BinaryIO],
        chunks: Sequence[Chunk],
        digest: Digest,
        size: int,
        url: str,
    ) -> None:
        super().__init__()
        self._open_blob = open_blob
        self._chunks = tuple(chunks)
        self._digest = digest
        self._size = size
        self._url = url
        self._reset()

    def _reset(self) -> None:
        self._index = 0
        self._piece: BinaryIO | None = None
        self._piece_hash = Hasher()
        self._whole = Hasher()
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Go back to the start (``seek(0)``); staying where the stream is changes nothing.

        Raises:
            io.UnsupportedOperation: any other position.
        """
        target = offset if whence == io.SEEK_SET else self._pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target not in (0, self._pos):
            raise io.UnsupportedOperation("a chunked file can only be read again from its start")
        if target != self._pos:
            self._close_piece()
            self._reset()
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            piece = self._current()
            if piece is None:
                break
            n = piece.readinto(view[filled:])  # type: ignore[attr-defined]
            if not n:
                self._end_piece()
                continue
            self._piece_hash.update(view[filled : filled + n])
            self._whole.update(view[filled : filled + n])
            filled += n
        self._pos += filled
        return filled

    def close(self) -> None:
        self._close_piece()
        super().close()

    def _current(self) -> BinaryIO | None:
        if self._piece is not None:
            return self._piece
        if self._index == len(self._chunks):
            self._finish()
            return None
        chunk = self._chunks[self._index]
        try:
            self._piece = self._open_blob(chunk.digest)
        except NotFoundError:
            raise MissingBlobError(
                chunk.digest.hex, self._url, chunk=self._index, count=len(self._chunks)
            ) from None
        self._piece_hash = Hasher()
        return self._piece

    def _end_piece(self) -> None:
        chunk = self._chunks[self._index]
        self._close_piece()
        actual = self._piece_hash.digest()
        if actual != chunk.digest or self._piece_hash.size != chunk.size:
            raise CorruptBlobError(
                chunk.digest.hex, actual.hex, chunk=self._index, count=len(self._chunks)
            )
        self._index += 1

    def _finish(self) -> None:
        if self._done:
            return
        actual = self._whole.digest()
        if actual != self._digest or self._whole.size != self._size:
            raise ChunkListError(
                self._digest.hex, actual.hex, count=len(self._chunks), size=self._whole.size
            )
        self._done = True

    def _close_piece(self) -> None:
        if self._piece is not None:
            piece, self._piece = self._piece, None
            piece.close()


class CopyCheck:
    """Checks a file being made by copying ``chunks``' blobs one after another into it, on a
    thread of its own, each stretch as soon as its copy ends: against its piece's digest and
    size, and the whole against ``digest`` and ``size``, with the errors (and their piece
    numbers) a :class:`ChunkedReader` gives. What is read is the copy itself, so the check
    proves the file's bytes; it overlaps the copy of the next pieces instead of following the
    whole copy (a 1 GiB model restored in the copy's time plus the check of its last piece,
    measured on a quiet machine; decision 128). Only each piece's stretch is read: whoever
    copies makes sure the file holds nothing beyond them.

    Use: enter the ``with`` block (the thread starts), :meth:`copied` after each piece's copy
    (in order), :meth:`failed` between pieces to stop early, :meth:`wait` at the end; leaving
    the block ends the thread.
    """

    def __init__(
        self, fd: int, chunks: Sequence[Chunk], digest: Digest, size: int, url: str
    ) -> None:
        self._fd = fd
        self._chunks = tuple(chunks)
        self._starts = [0]
        for chunk in self._chunks:
            self._starts.append(self._starts[-1] + chunk.size)
        self._ready: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, args=(digest, size, url), name="artstore-check"
        )
        self._error: BaseException | None = None

    def copied(self, index: int) -> None:
        """Piece ``index`` is in the file now (pieces are copied in order)."""
        self._ready.put(index)

    def failed(self) -> bool:
        """Whether the check found a bad stretch already (:meth:`wait` raises its error)."""
        return self._error is not None

    def wait(self) -> None:
        """Wait for the check of every piece copied.

        Raises:
            CorruptBlobError: a stretch does not hash to its piece's digest (names its index).
            ChunkListError: every stretch is good, but together they do not make the file.
        """
        self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> CopyCheck:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ready.put(None)  # a copy that stopped early ends the check where it stands
        self._thread.join()

    def _run(self, digest: Digest, size: int, url: str) -> None:
        def stretch(_: Digest) -> BinaryIO:
            index = self._ready.get()
            if index is None:
                raise _Stopped
            return _Stretch(self._fd, self._starts[index], self._chunks[index].size)  # type: ignore[return-value]

        view = memoryview(bytearray(_CHECK_BUFFER))
        try:
            with ChunkedReader(stretch, self._chunks, digest, size, url) as reader:
                while reader.readinto(view):
                    pass
        except _Stopped:
            return
        except BaseException as exc:  # raised by wait(), in the copying thread
            self._error = exc


class _Stopped(Exception):
    """The copy stopped before its last piece."""


class _Stretch:
    """``length`` bytes of an open file from ``start``; closing it leaves the file open."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        self._fd = fd
        self._at = start
        self._left = length

    def readinto(self, view: memoryview) -> int:
        if self._left <= 0:
            return 0
        n = os.preadv(self._fd, [view[: self._left]], self._at)
        self._at += n
        self._left -= n
        return n

    def close(self) -> None:
        return None
