"""Media in ``log()``: each class from each input, bytes kept once as blobs, typed references
in the history (online, offline + sync, the catalog migration), and hostile inputs."""

from __future__ import annotations

import io
import json
import struct
import time
import wave
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import artstore
from artstore.artifacts import Store
from artstore.artifacts.media import check_reference, describe
from artstore.cli import cli
from artstore.errors import (
    ConfigError,
    InvalidArgumentError,
    InvalidSpoolError,
    InvalidValueError,
    NotFoundError,
    UnsupportedFormatError,
)
from artstore.lineage import Catalog, MetricRecord, migrations
from artstore.storage import Kind, hash_bytes, init_store
from artstore.tracker import read_spool, sync_spool
from artstore.tracker.media import MAX_PIXELS, png_bytes
from artstore.tracker.spool import SPOOL_FILE
from tests.lineage.conftest import db_url  # noqa: F401
from tests.tracker.conftest import FAST


def decode_png(data: bytes) -> np.ndarray:
    """Pixels of an 8-bit, unfiltered PNG as artstore writes it, parsed with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body)
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, -1)
    assert depth == 8 and (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, channels)


def blob_count(store_url: str) -> int:
    with Store(store_url) as store:
        return len(list(store.repository.blobs.iter_digests(Kind.BLOB)))


# -- each class from each input kind -------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "channels"),
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), 1),
        (np.arange(12, dtype=np.uint8).reshape(3, 4, 1), 1),
        (np.zeros((3, 4, 2), dtype=np.uint8) + 7, 2),
        (np.arange(36, dtype=np.uint8).reshape(3, 4, 3), 3),
        (np.full((3, 4, 4), 200, dtype=np.uint8), 4),
    ],
)
def test_image_from_uint8_arrays_round_trips(array, channels):
    data, fields = artstore.Image(array, caption="c").encoded()
    assert fields == {"format": "png", "width": 4, "height": 3, "caption": "c"}
    pixels = decode_png(data)
    assert pixels.shape == (3, 4, channels)
    assert (pixels == array.reshape(3, 4, channels)).all()


def test_image_from_float_bool_and_torch_like():
    floats = np.array([[0.0, 0.5, 1.0]])
    assert decode_png(artstore.Image(floats).encoded()[0]).ravel().tolist() == [0, 128, 255]
    bools = np.array([[True, False]])
    assert decode_png(artstore.Image(bools).encoded()[0]).ravel().tolist() == [255, 0]

    class Tensor:
        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return np.ones((2, 2, 3), dtype=np.uint8)

    assert artstore.Image(Tensor()).width == 2


def test_image_from_paths(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(png_bytes(np.zeros((5, 6, 3), dtype=np.uint8)))
    image = artstore.Image(png)
    assert (image.width, image.height, image.encoded()[0]) == (6, 5, png.read_bytes())
    jpeg = tmp_path / "b.JPG"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0 not decoded")
    data, fields = artstore.Image(str(jpeg)).encoded()
    assert fields["format"] == "jpeg" and data == jpeg.read_bytes()


def test_image_from_pillow():
    pil = pytest.importorskip("PIL.Image")
    image = artstore.Image(pil.new("RGB", (7, 3), (10, 20, 30)))
    assert (image.width, image.height) == (7, 3)
    # Pillow's own PNG filters rows, which the small decoder above does not undo: read it back
    # with Pillow.
    back = pil.open(io.BytesIO(image.encoded()[0]))
    assert back.format == "PNG" and back.size == (7, 3)
    assert set(back.convert("RGB").getdata()) == {(10, 20, 30)}


def test_table_from_rows_dataframe_and_add_data():
    table = artstore.Table(columns=["a", "b"], data=[[1, "x"], [np.float32(0.5), None]])
    table.add_data(float("nan"), True)
    data, fields = table.encoded()
    assert fields == {"format": "json", "columns": ["a", "b"], "rows": 3, "chart": None}
    doc = json.loads(data)
    assert doc["data"] == [[1, "x"], [0.5, None], [{"$float": "NaN"}, True]]
    pd = pytest.importorskip("pandas")
    frame = artstore.Table(dataframe=pd.DataFrame({"x": [1, 2], "y": ["p", "q"]}))
    assert json.loads(frame.encoded()[0]) == {"columns": ["x", "y"], "data": [[1, "p"], [2, "q"]]}


def test_histogram_from_sequence_and_np_histogram():
    hist = artstore.Histogram([0, 1, 1, 2, 3], num_bins=3)
    data, fields = hist.encoded()
    assert data is None and fields["values"] == [1, 2, 2] and len(fields["bins"]) == 4
    counts, edges = np.histogram(np.arange(10), bins=5)
    ref = artstore.Histogram(np_histogram=(counts, edges)).encoded()[1]
    assert ref["values"] == [2] * 5 and ref["bins"] == edges.tolist()
    assert artstore.Histogram(np.zeros((2, 3))).values[32] == 6  # as np.histogram: bin 32


def test_audio_from_array_and_path(tmp_path):
    data, fields = artstore.Audio(np.array([0.0, 0.5, -1.0]), sample_rate=8000).encoded()
    assert fields == {"format": "wav", "sample_rate": 8000, "caption": None}
    with wave.open(io.BytesIO(data)) as sound:
        assert (sound.getframerate(), sound.getnframes(), sound.getnchannels()) == (8000, 3, 1)
        samples = np.frombuffer(sound.readframes(3), dtype="<i2").tolist()
    assert samples == [0, 16384, -32767]
    path = tmp_path / "s.flac"
    path.write_bytes(b"fLaC...")
    assert artstore.Audio(path, caption="x").encoded() == (
        b"fLaC...",
        {"format": "flac", "sample_rate": None, "caption": "x"},
    )


def test_video_object3d_and_html(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"mp4")
    (tmp_path / "m.pts.json").write_bytes(b"[]")
    (tmp_path / "p.html").write_text("<b>hi</b>")
    assert artstore.Video(tmp_path / "v.mp4").encoded()[1]["format"] == "mp4"
    assert artstore.Object3D(tmp_path / "m.pts.json").encoded()[1]["format"] == "pts.json"
    assert artstore.Html("<p>x</p>").encoded()[0] == b"<p>x</p>"
    assert artstore.Html(tmp_path / "p.html").encoded()[0] == b"<b>hi</b>"
    with pytest.raises(InvalidValueError, match="write frames to a file"):
        artstore.Video(np.zeros((2, 3, 4, 4)))
    with pytest.raises(InvalidValueError, match=r"pts\.json"):
        artstore.Object3D(np.zeros((5, 3)))


def test_plots_are_tables_with_a_chart():
    table = artstore.Table(columns=["x", "y", "k"], data=[[0, 1.0, "a"], [1, 2.0, "b"]])
    line = artstore.plot.line(table, "x", "y", stroke="k", title="t")
    assert line.chart == {"type": "line", "x": "x", "y": "y", "stroke": "k", "title": "t"}
    assert artstore.plot.scatter(table, "x", "y").chart["type"] == "scatter"
    assert artstore.plot.bar(table, "k", "y").chart == {
        "type": "bar",
        "label": "k",
        "value": "y",
        "title": "",
    }
    assert artstore.plot.histogram(table, "y").data == table.data
    with pytest.raises(InvalidValueError, match="'z' is not a column"):
        artstore.plot.line(table, "x", "z")
    cm = artstore.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["n", "p"])
    assert ["p", "n", 1] in cm.data and ["n", "n", 1] in cm.data and len(cm.data) == 4
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    roc = artstore.plot.roc_curve([0, 1, 1], probs, labels=["n", "p"], classes_to_plot=[1])
    assert roc.columns == ["class", "fpr", "tpr"] and roc.data[-1] == ["p", 1.0, 1.0]
    pr = artstore.plot.pr_curve([0, 1, 1], probs, interp_size=3)
    assert [row[1] for row in pr.data[:3]] == [0.0, 0.5, 1.0]
    check_reference({"_type": "table", "digest": "0" * 32, "size": 1, **pr.encoded()[1]})


# -- logging: blobs, references, dedup -----------------------------------------------------------


def test_logged_media_read_back(start, store_url, tmp_path):
    image = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    with start(project="m") as run:
        run.log({"loss": 0.5, "img": artstore.Image(image, caption="first")})
        run.log(
            {"hist": artstore.Histogram([1, 2, 3], num_bins=2), "tab": artstore.Table(["a"], [[1]])}
        )
        run.log({"gallery": [artstore.Image(image), artstore.Image(image[:8])]})
        run.log({"html": artstore.Html("<i>x</i>")})
        assert run.summary["img"]["_type"] == "image"
    with Store(store_url) as store:
        info = store.run(run.id)
        rows = info.history()
        assert rows[0]["loss"] == 0.5
        ref = rows[0]["img"]
        assert ref["_type"] == "image" and (ref["width"], ref["height"]) == (32, 32)
        assert ref["caption"] == "first" and ref["size"] == len(info.media("img").read())
        assert rows[1]["hist"] == {"_type": "histogram", "bins": [1.0, 2.0, 3.0], "values": [1, 2]}
        assert describe(rows[2]["gallery"]) == "<gallery 2 image>"
        assert (decode_png(info.media("img", 0).read()) == image).all()
        assert decode_png(info.media("gallery", 2, index=1).read()).shape == (8, 32, 3)
        path = info.media("html").download(tmp_path / "out")
        assert path.read_bytes() == b"<i>x</i>" and path.name.endswith(".html")
        assert info.summary["img"] == ref
        assert info.media_counts() == {"gallery": 1, "hist": 1, "html": 1, "img": 1, "tab": 1}
        with pytest.raises(NotFoundError, match="no media under 'loss'"):
            info.media("loss")
        with pytest.raises(NotFoundError, match="has 2 items, no 5"):
            info.media("gallery", index=5)
        with pytest.raises(InvalidArgumentError, match="kept inline"):
            info.media("hist").read()
    api_run = artstore.Api(url=store_url).run(f"m/{run.id}")
    assert api_run.history(keys=["img"], pandas=False)[0]["img"] == ref
    assert next(row["img"] for row in api_run.scan_history(keys=["img"])) == ref


def test_one_image_at_1000_steps_is_one_blob(start, store_url):
    before = blob_count(store_url)
    pixels = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    with start(project="m") as run:
        for step in range(1000):
            run.log({"img": artstore.Image(pixels), "h": artstore.Histogram([step, 1])})
    assert blob_count(store_url) == before + 1
    with Store(store_url) as store:
        assert store.run(run.id).media_counts() == {"h": 1000, "img": 1000}


def test_offline_media_sync_twice_adds_nothing(store_url, tmp_path):
    pixels = np.full((4, 4), 9, dtype=np.uint8)
    run = artstore.init(project="m", mode="offline", dir=tmp_path, store=store_url, **FAST)
    with run:
        for step in range(3):
            run.log({"img": artstore.Image(pixels), "x": step})
        run.log({"t": artstore.Table(["a"], [[1], [2]])})
    lines = [json.loads(line) for line in (run.dir / SPOOL_FILE).read_text().splitlines()]
    assert {line["format"] for line in lines if "media" in line} == {3}
    before = blob_count(store_url)
    with Store(store_url) as store:
        first = sync_spool(run.dir, store)
        again = sync_spool(run.dir, store)
        info = store.run(run.id)
        assert (first.new_metrics, again.new_metrics) == (7, 0)
        assert (decode_png(info.media("img", 1).read())[..., 0] == 9).all()
        assert info.media_counts() == {"img": 3, "t": 1}
    assert blob_count(store_url) == before + 2


def test_disabled_run_accepts_media(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with artstore.init(project="m", mode="disabled") as run:
        run.log({"img": artstore.Image(np.zeros((2, 2), dtype=np.uint8))})
        blank = png_bytes(np.zeros((2, 2, 1), np.uint8))
        assert run.summary["img"]["digest"] == hash_bytes(blank).hex


def test_cli_shows_media(start, store_url):
    with start(project="m") as run:
        run.log({"img": artstore.Image(np.zeros((32, 32, 3), dtype=np.uint8)), "loss": 1.0})
        run.log({"img": artstore.Image(np.ones((32, 32, 3), dtype=np.uint8))})
    runner = CliRunner()
    shown = runner.invoke(cli, ["--store", store_url, "runs", "show", run.id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["media"] == {"img": 2}
    text = runner.invoke(cli, ["--store", store_url, "runs", "show", run.id]).output
    assert "media:    img 2" in text
    history = runner.invoke(cli, ["--store", store_url, "runs", "history", run.id])
    assert "<image 32x32>" in history.output
    plot = runner.invoke(cli, ["--store", store_url, "runs", "plot", run.id, "img"])
    assert plot.exit_code != 0 and "holds media (<image 32x32>)" in plot.output


# -- hostile inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: artstore.Image(np.array([[0.5, np.nan]])), InvalidValueError, "NaN"),
        (lambda: artstore.Image(np.array([[1.5]])), InvalidValueError, r"\[0, 1\]"),
        (lambda: artstore.Image(np.array([[300]])), InvalidValueError, "0 to 255"),
        (lambda: artstore.Image(np.zeros((2, 2, 5))), InvalidValueError, "C of 1-4"),
        (lambda: artstore.Image(np.zeros((2, 2, 2, 2))), InvalidValueError, "C of 1-4"),
        (lambda: artstore.Image(np.zeros(3)), InvalidValueError, "HxW"),
        (lambda: artstore.Image(np.zeros((0, 3))), InvalidValueError, "from 1x1"),
        (lambda: artstore.Image(np.array([["a"]])), InvalidValueError, "holds numbers"),
        (lambda: artstore.Image([[1, 2]]), InvalidValueError, "not a list"),
        (lambda: artstore.Image("/nonexistent/x.png"), NotFoundError, "does not exist"),
        (lambda: artstore.Image("notes.txt"), InvalidValueError, "png, jpeg, gif"),
        (lambda: artstore.Image(np.zeros((2, 2)), caption="a\x00b"), InvalidValueError, "NUL"),
        (lambda: artstore.Table(["a", "b"], [[1, 2], [3]]), InvalidValueError, "1 cells, not 2"),
        (lambda: artstore.Table(["a", "a"], [[1, 2]]), InvalidValueError, "distinct"),
        (lambda: artstore.Table(["a"], [[object()]]), InvalidValueError, "not a object"),
        (lambda: artstore.Table(["a"], ["ab"]), InvalidValueError, "not a sequence"),
        (lambda: artstore.Histogram([1, float("nan")]), InvalidValueError, "NaN"),
        (lambda: artstore.Histogram([1], num_bins=0), InvalidValueError, "num_bins"),
        (lambda: artstore.Histogram([1], num_bins=513), InvalidValueError, "num_bins"),
        (lambda: artstore.Histogram(np_histogram=([1, 2], [0, 1])), InvalidValueError, "one edge"),
        (lambda: artstore.Histogram(), InvalidValueError, "sequence"),
        (lambda: artstore.Audio(np.zeros(4)), InvalidValueError, "sample_rate="),
        (lambda: artstore.Audio(np.array([np.inf]), sample_rate=8), InvalidValueError, "NaN"),
        (lambda: artstore.Video("/nonexistent/v.mp4"), NotFoundError, "does not exist"),
        (lambda: artstore.Html(3), InvalidValueError, "HTML text or a path"),
        (lambda: artstore.Image(np.zeros((2, 2)), boxes={}), InvalidArgumentError, "overlays"),
        (lambda: artstore.Image(np.zeros((2, 2)), file_type="jpg"), InvalidArgumentError, "PNG"),
        (lambda: artstore.plot.line([1], "x", "y"), InvalidValueError, "draws an artstore.Table"),
        (
            lambda: artstore.plot.confusion_matrix(y_true=[0], preds=[0], probs=[[1.0]]),
            InvalidValueError,
            "one of them",
        ),
    ],
)
def test_hostile_media_is_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_huge_images_are_refused_before_allocating(tmp_path):
    huge = np.broadcast_to(np.uint8(0), (100_000, 100_000, 3))  # a view: no memory behind it
    started = time.monotonic()
    with pytest.raises(InvalidValueError, match="100000x100000 pixels"):
        artstore.Image(huge)
    assert time.monotonic() - started < 1.0
    with pytest.raises(InvalidValueError, match="pixels"):
        artstore.Image(np.broadcast_to(np.uint8(0), (8193, 8192)))
    assert MAX_PIXELS == 8192 * 8192
    header = png_bytes(np.zeros((1, 1, 1), dtype=np.uint8))
    lying = header[:16] + struct.pack(">II", 2**31 - 1, 2**31 - 1) + header[24:]
    (tmp_path / "big.png").write_bytes(lying)
    with pytest.raises(InvalidValueError, match="pixels"):
        artstore.Image(tmp_path / "big.png")


def test_log_refuses_other_objects_and_mixed_lists(start):
    with start(project="m") as run:
        with pytest.raises(InvalidValueError, match=r"media \(artstore.Image"):
            run.log({"obj": object()})
        with pytest.raises(InvalidValueError, match="gallery of up to"):
            run.log({"mix": [artstore.Image(np.zeros((2, 2))), artstore.Html("<p/>")]})
        with pytest.raises(InvalidValueError, match="gallery of up to"):
            run.log({"mix": [artstore.Image(np.zeros((2, 2))), 3]})
        assert run.step == 0


def test_numpy_missing_is_a_config_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_numpy(name, *args, **kwargs):
        if name == "numpy":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    with pytest.raises(ConfigError, match="pip install numpy"):
        artstore.Image(np.zeros((2, 2), dtype=np.uint8))


# -- the spool: format 3, strict media rows ------------------------------------------------------


def _offline_with_image(store_url: str, tmp_path: Path) -> artstore.Run:
    run = artstore.init(project="m", mode="offline", dir=tmp_path, store=store_url, **FAST)
    with run:
        run.log({"img": artstore.Image(np.zeros((2, 3), dtype=np.uint8))})
    return run


def _edit_media(folder: Path, change: Any) -> None:
    path = folder / SPOOL_FILE
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        if "media" in record:
            change(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda r: r.update(format=2), InvalidSpoolError, "media needs record format 3"),
        (lambda r: r.update(format=4), UnsupportedFormatError, "format 4"),
        (lambda r: r["media"][0].__setitem__(0, "other"), InvalidSpoolError, "media\\[0\\].run"),
        (lambda r: r["media"][0][3].update(_type="gif"), InvalidSpoolError, "_type 'gif'"),
        (lambda r: r["media"][0][3].update(size=1), InvalidSpoolError, "not the size of blob"),
        (lambda r: r["media"][0][3].update(digest="a" * 32), InvalidSpoolError, "lacks"),
        (lambda r: r["media"][0][3].update(width=0), InvalidSpoolError, "width"),
        (lambda r: r["media"][0][3].update(extra=1), InvalidSpoolError, "'extra' is not a field"),
        (lambda r: r["media"][0].pop(), InvalidSpoolError, "not a row of 5 values"),
        (lambda r: r.update(media={}), InvalidSpoolError, "not a list"),
    ],
)
def test_spooled_media_rows_are_checked(store_url, tmp_path, change, error, match):
    run = _offline_with_image(store_url, tmp_path)
    _edit_media(run.dir, change)
    with pytest.raises(error, match=match):
        read_spool(run.dir)


# -- the catalog: migration 4 and references round trip -----------------------------------------


def test_schema_3_migrates_to_the_current_schema(db_url, monkeypatch):  # noqa: F811
    # Schema 4 added media rows; later migrations keep them.
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        with Catalog.open(db_url) as old:
            old.runs.create(id="old00001", project="p", user="u")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO metrics (run_id, step, key, value, text, time) "
                    "VALUES ('old00001', 0, 'loss', 0.5, NULL, 1.0)"
                )
            )
    finally:
        engine.dispose()
    ref = {"_type": "histogram", "bins": [0.0, 1.0], "values": [3]}
    with Catalog.open(db_url) as catalog:
        assert catalog.schema_version == migrations.SCHEMA_VERSION >= 4
        catalog.runs.write_batch(
            "old00001", [MetricRecord("old00001", 1, "h", None, None, 2.0, json.dumps(ref))], [], {}
        )
        assert catalog.runs.history("old00001") == [
            {"_step": 0, "loss": 0.5},
            {"_step": 1, "h": ref},
        ]
        assert catalog.runs.media_counts("old00001") == {"h": 1}


_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
_digest = st.text("0123456789abcdef", min_size=32, max_size=32)
_image = st.fixed_dictionaries(
    {
        "_type": st.just("image"),
        "digest": _digest,
        "size": st.integers(0, 2**40),
        "format": st.just("png"),
        "width": st.integers(1, 2**15),
        "height": st.integers(1, 2**15),
        "caption": st.none() | _text,
    }
)
_histogram = st.integers(1, 20).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "_type": st.just("histogram"),
            "bins": st.lists(
                st.floats(-1e300, 1e300, allow_nan=False), min_size=n + 1, max_size=n + 1
            ).map(sorted),
            "values": st.lists(st.integers(0, 2**62), min_size=n, max_size=n),
        }
    )
)
_table = st.fixed_dictionaries(
    {
        "_type": st.just("table"),
        "digest": _digest,
        "size": st.integers(0, 2**40),
        "format": st.just("json"),
        "columns": st.lists(_text, max_size=4),
        "rows": st.integers(0, 10**6),
        "chart": st.none() | st.fixed_dictionaries({"type": st.just("line"), "x": _text}),
    }
)
references = st.one_of(_image, _histogram, _table) | st.lists(_image, min_size=1, max_size=3).map(
    lambda items: {"_type": "gallery", "items": items}
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ref=references)
def test_references_round_trip_through_catalog_and_spool(tmp_path, ref):
    assert check_reference(ref) is ref
    text = json.dumps(ref, separators=(",", ":"))
    folder = tmp_path / f"offline-run-20260101_000000-r{abs(hash(text)) % 10**6:06d}"
    run_id = folder.name.rsplit("-", 1)[1]
    with Catalog.open(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
        if catalog.runs.find(run_id) is None:
            catalog.runs.create(id=run_id, project="p", user="u")
        catalog.runs.write_batch(
            run_id, [MetricRecord(run_id, 0, "k", None, None, 1.0, text)], [], {}
        )
        assert catalog.runs.history(run_id)[-1]["k"] == ref
    # The spool reader wants every named blob in the spool's store, with its size.
    blobs = init_store(str(folder / "store"))
    stored = {}
    for item in ref.get("items", [ref]):
        if "digest" in item:
            put = blobs.put_bytes(Kind.BLOB, item["digest"].encode())
            stored[item["digest"]] = (put.digest.hex, put.size)
    fixed = json.loads(json.dumps(ref))
    for item in fixed.get("items", [fixed]):
        if "digest" in item:
            item["digest"], item["size"] = stored[item["digest"]]
    start = {
        "format": 1,
        "type": "start",
        "resume": False,
        "fields": {
            "id": run_id,
            "project": "p",
            "user": "u",
            "created_at": "2026-01-01T00:00:00+00:00",
            "heartbeat_at": "2026-01-01T00:00:00+00:00",
        },
    }
    batch = {
        "format": 3,
        "type": "batch",
        "metrics": [],
        "console": [],
        "fields": {},
        "media": [[run_id, 0, "k", fixed, 1.0]],
    }
    (folder / SPOOL_FILE).write_text(json.dumps(start) + "\n" + json.dumps(batch) + "\n")
    spool = read_spool(folder)
    assert [json.loads(row.media) for row in spool.metrics] == [fixed]
    assert set(spool.media_blobs) == {digest for digest, _ in stored.values()}


def _planes(channels: int) -> np.ndarray:
    # CxHxW, 2 high and 5 wide, every pixel of every plane different.
    return np.arange(channels * 2 * 5, dtype=np.uint8).reshape(channels, 2, 5)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_a_channels_first_numpy_array_is_turned_channels_last(channels):
    planes = _planes(channels)
    image = artstore.Image(planes)
    assert (image.width, image.height) == (5, 2)
    assert (decode_png(image.encoded()[0]) == planes.transpose(1, 2, 0)).all()


def test_a_numpy_array_whose_last_axis_can_be_channels_is_channels_last_as_in_wandb():
    # 3x4x4: W&B reads a numpy array HxWxC, so this is 3 high, 4 wide, RGBA.
    array = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    image = artstore.Image(array)
    assert (image.width, image.height) == (4, 3)
    assert (decode_png(image.encoded()[0]) == array).all()


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_a_torch_tensor_is_channels_first_as_in_wandb(channels):
    torch = pytest.importorskip("torch")
    planes = _planes(channels)
    tensor = torch.tensor(planes, dtype=torch.float32, requires_grad=True) / 255.0
    image = artstore.Image(tensor)
    assert (image.width, image.height) == (5, 2)
    assert (decode_png(image.encoded()[0]) == planes.transpose(1, 2, 0)).all()
    # Even where the last axis could be channels: 3x4x4 is 3 planes of 4x4 for a tensor.
    square = torch.zeros((3, 4, 4), dtype=torch.uint8)
    assert (artstore.Image(square).width, artstore.Image(square).height) == (4, 4)


def test_a_torch_tensor_channels_last_or_grey_is_still_read():
    torch = pytest.importorskip("torch")
    assert artstore.Image(torch.zeros((6, 7, 3), dtype=torch.uint8)).width == 7
    assert artstore.Image(torch.zeros((6, 7))).width == 7
    with pytest.raises(InvalidValueError, match="CxHxW"):
        artstore.Image(torch.zeros((2, 6, 7, 3)))
