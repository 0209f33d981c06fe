"""Media for ``Run.log``: ``Image``, ``Table``, ``Histogram``, ``Audio``, ``Video``, ``Object3D``,
``Html``, shaped like W&B's classes.

Each object is checked when it is made (a bad shape, a NaN pixel, a missing file: an
:class:`~artstore.errors.InvalidValueError` there and then) and encoded once: ``encoded()``
returns the bytes to keep as a blob (None for a histogram, kept inline) and the fields of its
reference (:mod:`artstore.artifacts.media`). Images are written as PNG by a small encoder of
its own (zlib, no Pillow needed); a Pillow image is accepted when Pillow is installed.
"""

from __future__ import annotations

import io
import json
import math
import struct
import wave
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from artstore.artifacts.media import MAX_BINS, MAX_GALLERY, MAX_SIDE, MEDIA_FORMATS
from artstore.errors import ConfigError, InvalidArgumentError, InvalidValueError, NotFoundError
from artstore.tracker.values import MAX_TEXT, text_problem

__all__ = [
    "MAX_FILE",
    "MAX_PIXELS",
    "MAX_TABLE_CELLS",
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Media",
    "Object3D",
    "Table",
    "Video",
    "is_media",
    "media_reference",
    "png_bytes",
    "reference_text",
    "require_numpy",
]

#: Pixels of one image at most (8,192 x 8,192): checked before any buffer is made.
MAX_PIXELS = 2**26
#: Cells (rows x columns) of one table at most.
MAX_TABLE_CELLS = 10_000_000
#: The largest media file read from a path, in bytes.
MAX_FILE = 2**31
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS_FIRST = (1, 3, 4)  # a leading axis of this size holds colours (torch's layout)


class Media:
    """A value ``log()`` keeps as a blob (or inline) and references from the history row."""

    _type = ""
    _encoded: tuple[bytes | None, dict[str, Any]] | None = None

    def encoded(self) -> tuple[bytes | None, dict[str, Any]]:
        """The bytes to store (None: nothing) and the reference's fields besides the blob's."""
        if self._encoded is None:
            self._encoded = self._encode()
        return self._encoded

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        raise NotImplementedError


def _caption(caption: Any) -> str | None:
    if caption is None:
        return None
    if not isinstance(caption, str):
        caption = str(caption)
    problem = text_problem(caption)
    if problem is not None or len(caption) > MAX_TEXT:
        problem = problem or f"is longer than {MAX_TEXT} characters"
        raise InvalidValueError(f"caption {caption[:40]!r} {problem}")
    return str(caption)


def _read_file(path: Any, kind: str, formats: Sequence[str]) -> tuple[bytes, str]:
    """The bytes of a media file and its format (from the file name's ending)."""
    if not isinstance(path, str | Path):
        raise InvalidValueError(f"{kind} takes a file path, not a {type(path).__name__}")
    target = Path(path)
    name = target.name.lower()
    fmt = next((f for f in formats if name.endswith("." + f)), None)
    if fmt is None:
        fmt = "jpeg" if name.endswith(".jpg") and "jpeg" in formats else None
    if fmt is None:
        raise InvalidValueError(
            f"{kind} file {str(path)[:80]!r} is not one of: {', '.join(formats)}"
        )
    try:
        size = target.stat().st_size
        if not target.is_file():
            raise InvalidValueError(f"{kind} path {str(path)[:80]!r} is not a file")
        if size > MAX_FILE:
            raise InvalidValueError(
                f"{kind} file {str(path)[:80]!r} is {size} bytes; log files over "
                f"{MAX_FILE} bytes as an artifact"
            )
        return target.read_bytes(), fmt
    except FileNotFoundError:
        raise NotFoundError(f"{kind} file {str(path)[:80]!r} does not exist") from None
    except OSError as exc:
        raise InvalidValueError(
            f"cannot read {kind} file {str(path)[:80]!r}: {exc.strerror or exc}"
        ) from None


def require_numpy() -> Any:
    """The numpy module.

    Raises:
        ConfigError: numpy is not installed.
    """
    try:
        import numpy
    except ImportError:
        raise ConfigError("logging arrays as media needs numpy: pip install numpy") from None
    return numpy


def png_bytes(pixels: Any) -> bytes:
    """A PNG of an ``HxWxC`` uint8 array (C of 1-4), unfiltered rows compressed with zlib."""
    height, width, channels = pixels.shape
    np = require_numpy()
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)
    rows[:, 1:] = pixels.reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        [
            _PNG_SIGNATURE,
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
            chunk(b"IEND", b""),
        ]
    )


def _png_size(data: bytes, where: str) -> tuple[int, int]:
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 24:
        raise InvalidValueError(f"{where} is not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    _check_sides(height, width, where)
    return width, height


def _check_sides(height: int, width: int, where: str) -> None:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE) or height * width > MAX_PIXELS:
        raise InvalidValueError(
            f"{where} is {width}x{height} pixels; images are kept from 1x1 up to "
            f"{MAX_SIDE} a side and {MAX_PIXELS} pixels"
        )


def _channels_last(array: Any, tensor: bool) -> Any:
    """``CxHxW`` (C of 1, 3 or 4) turned ``HxWxC``: first for a torch tensor, whose channels
    W&B takes first; for a numpy array (W&B's ``HxWxC``) only when its last axis cannot be the
    channels."""
    shape = tuple(array.shape)
    if len(shape) != 3 or shape[0] not in _CHANNELS_FIRST:
        return array
    if tensor or shape[2] not in _COLOR_TYPES:
        return array.transpose(1, 2, 0)
    return array


def _pixels(array: Any) -> Any:
    """An ``HxWxC`` uint8 array from what ``Image`` takes; checked before anything is copied."""
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or shape[2] not in _COLOR_TYPES:
        raise InvalidValueError(
            f"an image array is HxW, HxWxC with C of 1-4 or CxHxW with C of 1, 3 or 4, not "
            f"of shape {tuple(array.shape)}"
        )
    _check_sides(shape[0], shape[1], "the image")
    np = require_numpy()
    data = np.asarray(array)
    kind = data.dtype.kind
    if kind == "b":
        data = data.astype(np.uint8) * 255
    elif kind == "f":
        if not np.isfinite(data).all():
            raise InvalidValueError("the image holds NaN or infinite values")
        if data.size and (data.min() < 0.0 or data.max() > 1.0):
            raise InvalidValueError(
                "a float image holds values in [0, 1]; scale it, or pass uint8 values 0-255"
            )
        data = np.rint(data * 255.0).astype(np.uint8)
    elif kind in "ui":
        if data.size and (data.min() < 0 or data.max() > 255):
            raise InvalidValueError("an integer image holds values from 0 to 255")
        data = data.astype(np.uint8)
    else:
        raise InvalidValueError(f"an image array holds numbers, not {data.dtype}")
    return data.reshape(shape)


class Image(Media):
    """An image, kept as PNG: a numpy array (``HxW`` or ``HxWxC`` with C of 1, 2, 3 or 4;
    uint8 0-255, bool, or float in [0, 1]), a torch tensor (``CxHxW`` with C of 1, 3 or 4, as
    W&B takes it; else read as an array), a Pillow image, or a path to a PNG, JPEG or GIF file
    (kept as it is). A numpy ``CxHxW`` array whose last axis cannot be channels is read
    channels-first too.

    Raises:
        InvalidValueError: another shape or type, NaN pixels, more than ``MAX_PIXELS`` pixels,
            an unreadable or unknown file; NotFoundError: the path does not exist.
    """

    _type = "image"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Any = None,
        masks: Any = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        # ``mode`` follows from the channels, ``grouping`` and ``normalize`` change nothing.
        for name, given in (("boxes", boxes), ("masks", masks), ("classes", classes)):
            if given is not None:
                raise InvalidArgumentError(
                    f"Image({name}=) overlays are not kept; draw them into the pixels, or log "
                    "them beside as an artstore.Table"
                )
        if file_type not in (None, "png"):
            raise InvalidArgumentError(f"Image keeps arrays as PNG, not {file_type!r}")
        self.caption = _caption(caption)
        self.width: int | None = None
        self.height: int | None = None
        if isinstance(data_or_path, str | Path):
            self._data, self.format = _read_file(data_or_path, "image", MEDIA_FORMATS["image"])
            if self.format == "png":
                self.width, self.height = _png_size(self._data, f"image {str(data_or_path)[:80]!r}")
            return
        self.format = "png"
        if hasattr(data_or_path, "save") and hasattr(data_or_path, "mode"):  # Pillow
            self.width, self.height = data_or_path.size
            _check_sides(self.height, self.width, "the image")
            buffer = io.BytesIO()
            data_or_path.save(buffer, format="PNG")
            self._data = buffer.getvalue()
            return
        tensor = hasattr(data_or_path, "detach")
        if tensor:
            data_or_path = data_or_path.detach().cpu().numpy()
        if not hasattr(data_or_path, "shape"):
            raise InvalidValueError(
                f"Image takes a numpy array, a Pillow image or a path, not a "
                f"{type(data_or_path).__name__}"
            )
        pixels = _pixels(_channels_last(data_or_path, tensor))
        self.height, self.width = int(pixels.shape[0]), int(pixels.shape[1])
        self._data = png_bytes(pixels)

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        fields = {"format": self.format, "width": self.width, "height": self.height}
        return self._data, {**fields, "caption": self.caption}


def _cell(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                raise InvalidValueError(f"{where}: the string {problem}")
        return value
    if isinstance(value, int | float):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", 1) == 1:
        return _cell(item(), where)
    if isinstance(value, Media):
        raise InvalidValueError(f"{where}: media inside a table is not kept; log it beside")
    raise InvalidValueError(
        f"{where}: a table cell is a number, text, bool or None, not a {type(value).__name__}"
    )


def _float_text(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"$float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}


class Table(Media):
    """A table of rows, kept as JSON: ``{"columns": [...], "data": [[...], ...]}`` (non-finite
    numbers as ``{"$float": "NaN"}``). Give ``columns`` and ``data`` (rows), or a pandas
    ``dataframe``.

    Raises:
        InvalidValueError: a ragged row, a cell that is not a number, text, bool or None,
            columns that are not distinct names, more than ``MAX_TABLE_CELLS`` cells.
    """

    _type = "table"

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        data: Iterable[Sequence[Any]] | None = None,
        rows: Iterable[Sequence[Any]] | None = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = None,
    ) -> None:
        # Cells are checked one by one and may mix types: ``dtype``, ``optional`` and
        # ``allow_mixed_types`` have nothing to add; ``log_mode`` is W&B's UI's.
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.itertuples(index=False, name=None)
        data = data if data is not None else rows
        self.columns = [str(c) for c in columns] if columns is not None else None
        self.data: list[list[Any]] = []
        for i, row in enumerate(data or []):
            if isinstance(row, str | bytes) or not hasattr(row, "__len__"):
                raise InvalidValueError(f"table row {i} is not a sequence of cells")
            if self.columns is None:
                self.columns = [f"c{j}" for j in range(len(row))]
            if len(row) != len(self.columns):
                raise InvalidValueError(
                    f"table row {i} has {len(row)} cells, not {len(self.columns)} (the columns)"
                )
            if (i + 1) * len(row) > MAX_TABLE_CELLS:
                raise InvalidValueError(f"a table holds up to {MAX_TABLE_CELLS} cells")
            self.data.append([_cell(v, f"table row {i}") for v in row])
        self.columns = self.columns or []
        for name in self.columns:
            if text_problem(name) or len(name) > MAX_TEXT:
                raise InvalidValueError(f"table column {name[:40]!r} is not a storable name")
        if len(set(self.columns)) != len(self.columns):
            raise InvalidValueError("table columns must have distinct names")
        #: A chart drawn from the table (``artstore.plot``): {"type": ..., field: column}.
        self.chart: dict[str, Any] | None = None

    def add_data(self, *cells: Any) -> None:
        """Append one row (as W&B's ``Table.add_data``).

        Raises:
            InvalidValueError: a cell count other than the columns', or a cell not kept.
        """
        columns = self.columns or []
        if len(cells) != len(columns):
            raise InvalidValueError(f"add_data takes {len(columns)} cells, not {len(cells)}")
        self.data.append([_cell(v, f"table row {len(self.data)}") for v in cells])
        self._encoded = None

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        data = [[_float_text(v) if isinstance(v, float) else v for v in row] for row in self.data]
        text = json.dumps({"columns": self.columns, "data": data}, allow_nan=False)
        fields = {"format": "json", "columns": list(self.columns or []), "rows": len(data)}
        return text.encode("utf-8"), {**fields, "chart": self.chart}


def _finite_numbers(values: Iterable[Any], what: str) -> list[float]:
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise InvalidValueError(f"{what} holds NaN or infinite values")
    return numbers


class Histogram(Media):
    """A histogram, kept inline in the history row as ``bins`` (edges) and ``values``
    (counts): from a sequence of numbers (``num_bins`` equal bins over its range) or from
    ``np_histogram=(counts, edges)``.

    Raises:
        InvalidValueError: NaN or infinite values, ``num_bins`` outside 1-512, counts and
            edges that do not match.
    """

    _type = "histogram"

    def __init__(
        self,
        sequence: Iterable[Any] | None = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        if type(num_bins) is not int or not 1 <= num_bins <= MAX_BINS:
            raise InvalidValueError(f"num_bins is a whole number from 1 to {MAX_BINS}")
        if np_histogram is not None:
            counts, edges = np_histogram
            self.values = [int(c) for c in counts]
            self.bins = _finite_numbers(edges, "np_histogram's edges")
            if len(self.bins) != len(self.values) + 1 or not 1 <= len(self.values) <= MAX_BINS:
                raise InvalidValueError(
                    f"np_histogram takes 1-{MAX_BINS} counts and one edge more than counts"
                )
            if min(self.values) < 0 or self.bins != sorted(self.bins):
                raise InvalidValueError("np_histogram's counts are >= 0 and its edges increase")
            return
        if sequence is None:
            raise InvalidValueError("Histogram takes a sequence of numbers or np_histogram=")
        flat = getattr(sequence, "ravel", None)
        values = _finite_numbers(flat() if callable(flat) else sequence, "the histogram")
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        if low == high:
            low, high = low - 0.5, high + 0.5
        width = (high - low) / num_bins
        self.bins = [low + i * width for i in range(num_bins)] + [high]
        self.values = [0] * num_bins
        for v in values:
            self.values[min(int((v - low) / width), num_bins - 1)] += 1

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        return None, {"bins": self.bins, "values": self.values}


def _wav(samples: Any, sample_rate: int) -> bytes:
    np = require_numpy()
    data = np.asarray(samples)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or not 1 <= data.shape[1] <= 16 or data.shape[0] > MAX_FILE // 32:
        raise InvalidValueError(
            f"audio samples are 1-D or (samples, channels), not of shape {data.shape}"
        )
    if data.dtype.kind == "f":
        if not np.isfinite(data).all():
            raise InvalidValueError("the audio holds NaN or infinite samples")
        data = np.rint(np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2")
    elif data.dtype.kind in "iu":
        data = np.clip(data, -32768, 32767).astype("<i2")
    else:
        raise InvalidValueError(f"audio samples are numbers, not {data.dtype}")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(int(data.shape[1]))
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(data.tobytes())
    return buffer.getvalue()


class Audio(Media):
    """Sound: a file (wav, mp3, ogg, flac, kept as it is) or an array of samples (float in
    [-1, 1] or 16-bit integers, 1-D or (samples, channels)) with ``sample_rate``, kept as WAV.

    Raises:
        InvalidValueError: an array without ``sample_rate``, NaN samples, an unknown file type.
        NotFoundError: the path does not exist.
    """

    _type = "audio"

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        self.caption = _caption(caption)
        if sample_rate is not None and (type(sample_rate) is not int or sample_rate < 1):
            raise InvalidValueError(f"sample_rate is a positive whole number, not {sample_rate!r}")
        self.sample_rate = sample_rate
        if isinstance(data_or_path, str | Path):
            self._data, self.format = _read_file(data_or_path, "audio", MEDIA_FORMATS["audio"])
            return
        if sample_rate is None:
            raise InvalidValueError("Audio of an array of samples needs sample_rate=")
        self._data, self.format = _wav(data_or_path, sample_rate), "wav"

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        fields = {"format": self.format, "sample_rate": self.sample_rate}
        return self._data, {**fields, "caption": self.caption}


class _FileMedia(Media):
    #: What to do with data that is not a path (said when it is refused).
    _instead = ""

    def __init__(self, path: Any, caption: str | None = None) -> None:
        if not isinstance(path, str | Path):
            formats = ", ".join(MEDIA_FORMATS[self._type])
            raise InvalidValueError(
                f"{type(self).__name__} takes a file path ({formats}); {self._instead}"
            )
        self.caption = _caption(caption)
        self._data, self.format = _read_file(path, self._type, MEDIA_FORMATS[self._type])

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        return self._data, {"format": self.format, "caption": self.caption}


class Video(_FileMedia):
    """A video file (mp4, webm, gif, ogg), kept as it is. An array of frames is refused:
    encoding video needs a codec artstore does not ship; write the file, then log its path.

    Raises:
        InvalidValueError: not a path of a known type; NotFoundError: no such file.
    """

    _type = "video"
    _instead = "write frames to a file first (for example with imageio), then log the path"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ) -> None:
        # As in W&B, ``fps`` and ``format`` apply to frames only; a file is kept as it is.
        super().__init__(data_or_path, caption)


class Object3D(_FileMedia):
    """A 3-D object file (obj, gltf, glb, babylon, stl, pts.json), kept as it is.

    Raises:
        InvalidValueError: not a path of a known type; NotFoundError: no such file.
    """

    _type = "object3d"
    _instead = "point clouds as arrays are not kept: save them as a .pts.json file first"


class Html(Media):
    """An HTML document: a string of HTML, or a path to an .html file.

    Raises:
        InvalidValueError: neither text nor a path; NotFoundError: no such file.
    """

    _type = "html"

    def __init__(self, data: Any, inject: bool = True, caption: str | None = None) -> None:
        self.caption = _caption(caption)
        if isinstance(data, Path) or (
            isinstance(data, str) and data.lower().endswith(".html") and "<" not in data
        ):
            self._data, _ = _read_file(data, "html", ("html",))
        elif isinstance(data, str):
            problem = text_problem(data)
            if problem is not None:
                raise InvalidValueError(f"the HTML {problem}")
            self._data = data.encode("utf-8")
        else:
            raise InvalidValueError(f"Html takes HTML text or a path, not {type(data).__name__}")

    def _encode(self) -> tuple[bytes | None, dict[str, Any]]:
        return self._data, {"format": "html", "caption": self.caption}


def is_media(value: Any) -> bool:
    """Whether ``log()`` keeps ``value`` as media: a media object, or a non-empty list of them."""
    if isinstance(value, Media):
        return True
    return isinstance(value, list | tuple) and bool(value) and isinstance(value[0], Media)


def media_reference(
    key: str, value: Any, put: Callable[[bytes], tuple[str, int]]
) -> dict[str, Any]:
    """Store the bytes of a logged media value with ``put`` (returns digest and size) and
    return its reference (see :func:`reference_text`); a list of media of one type is a
    gallery.

    Raises:
        InvalidValueError: a list mixing media types or holding other values, or longer than
            ``MAX_GALLERY``.
    """
    if isinstance(value, Media):
        return _reference(value, put)
    kinds = {type(item)._type if isinstance(item, Media) else None for item in value}
    if len(kinds) != 1 or None in kinds or len(value) > MAX_GALLERY:
        raise InvalidValueError(
            f"log key {key!r}: a list is kept as a gallery of up to {MAX_GALLERY} media of "
            "one type (artstore.Image, ...), not a mix or other values"
        )
    return {"_type": "gallery", "items": [_reference(item, put) for item in value]}


def reference_text(reference: dict[str, Any]) -> str:
    """The JSON text a history row holds for a media reference."""
    return json.dumps(reference, allow_nan=False, separators=(",", ":"))


def _reference(media: Media, put: Callable[[bytes], tuple[str, int]]) -> dict[str, Any]:
    data, fields = media.encoded()
    if data is None:
        return {"_type": media._type, **fields}
    digest, size = put(data)
    return {"_type": media._type, "digest": digest, "size": size, **fields}
