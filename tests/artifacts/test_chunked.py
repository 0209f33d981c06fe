"""Files stored in chunks, read back by every verb: download (any content, on every kind of
root), verify, diff from manifests, copies between stores; damaged pieces are named."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artstore.artifacts import Store
from artstore.artifacts.transfer import copy_version
from artstore.errors import ChunkListError, CorruptBlobError, MissingBlobError, NotFoundError
from artstore.serialize import verify_json
from artstore.storage import BlobStore, Kind, init_store
from tests.artifacts.chunked import log_chunked, safetensors_pieces
from tests.conftest import Bucket, make_folder

PIECES = [b"alpha-" * 100, b"beta-" * 70, b"gamma"]
WHOLE = b"".join(PIECES)


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def blob_path(store: Store, data: bytes) -> Path:
    from artstore.storage import hash_bytes

    path = Path(store.blobs.path(Kind.BLOB, hash_bytes(data)))
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return path


@pytest.fixture
def version(store: Store):
    return log_chunked(store, "m", {"big.bin": PIECES, "small.txt": [b"plain\n"]})


def test_a_chunked_file_downloads_byte_identical_and_is_kept_when_there(version, tmp_path):
    assert version.files()[0].chunks
    out = version.download(tmp_path / "out")
    assert all_files(out) == {"big.bin": WHOLE, "small.txt": b"plain\n"}
    before = (out / "big.bin").stat().st_mtime_ns
    version.download(out)  # already there: not written again
    assert (out / "big.bin").stat().st_mtime_ns == before


def test_one_file_of_a_chunked_version_reads_only_its_own_pieces(store, tmp_path):
    version = log_chunked(
        store, "two", {"a.bin": [b"a" * 10, b"b" * 10], "c.bin": [b"c" * 9, b"d"]}
    )
    blob_path(store, b"c" * 9).unlink()  # c.bin is damaged; a.bin is not
    assert version.file("a.bin", tmp_path / "one").read_bytes() == b"a" * 10 + b"b" * 10


def test_a_missing_piece_is_named_by_get_and_nothing_is_written(store, version, tmp_path):
    blob_path(store, PIECES[1]).unlink()
    with pytest.raises(MissingBlobError) as info:
        version.download(tmp_path / "out")
    error = info.value
    assert isinstance(error, NotFoundError) and error.exit_code == 2
    assert (error.artifact, error.path, error.chunk, error.count) == ("m:v0", "big.bin", 1, 3)
    chunk = version.files()[0].chunks[1]
    assert str(error).startswith(
        f"file 'big.bin' of m:v0 is lost: its chunk 2 of 3 (blob {chunk.digest}) is missing from "
    )
    assert not (tmp_path / "out" / "big.bin").exists()
    assert not [p for p in (tmp_path / "out").rglob("*") if "partial" in p.name]


def test_a_corrupt_piece_is_named_by_get(store, version, tmp_path):
    blob_path(store, PIECES[2]).write_bytes(b"GAMMA")
    with pytest.raises(CorruptBlobError) as info:
        version.download(tmp_path / "out")
    error = info.value
    assert (error.artifact, error.path, error.chunk) == ("m:v0", "big.bin", 2)
    assert error.expected == version.files()[0].chunks[2].digest.hex
    assert "file 'big.bin' of m:v0 (chunk 3 of 3, blob " in str(error)
    assert not (tmp_path / "out" / "big.bin").exists()


def test_pieces_that_do_not_make_the_file_are_refused(store, tmp_path):
    from dataclasses import replace

    from artstore.artifacts.manifest import Manifest
    from artstore.storage import hash_bytes
    from tests.conftest import record_version

    good = log_chunked(store, "m", {"big.bin": PIECES}).files()[0]
    wrong = replace(good, chunks=(good.chunks[1], good.chunks[0], good.chunks[2]))
    raw = Manifest.build([wrong]).encode()
    digest = store.blobs.put_bytes(Kind.MANIFEST, raw).digest
    record_version(store, "swapped", digest.hex, size=len(WHOLE), file_count=1)
    with pytest.raises(ChunkListError) as info:
        store.artifact("swapped:v0").download(tmp_path / "out")
    assert isinstance(info.value, CorruptBlobError) and info.value.exit_code == 1
    assert info.value.chunk is None and info.value.expected == hash_bytes(WHOLE).hex
    assert info.value.path == "big.bin"
    assert str(info.value) == (
        f"file 'big.bin' of swapped:v0: its 3 chunks are intact but together hash to "
        f"{hash_bytes(PIECES[1] + PIECES[0] + PIECES[2])} ({len(WHOLE)} bytes), not to the "
        f"file's digest {hash_bytes(WHOLE)}: the manifest's list of chunks does not make the "
        "file; put the files again"
    )
    assert not (tmp_path / "out" / "big.bin").exists()
    assert "verify --repair" not in str(info.value)

    plain = store.verify("swapped")
    assert plain.ok  # every piece is there with its size
    report = store.verify("swapped", deep=True)
    [problem] = report.problems
    assert (problem.kind, problem.path, problem.chunk, problem.digest) == (
        "bad-chunks",
        "big.bin",
        None,
        hash_bytes(WHOLE).hex,
    )
    assert problem.actual == hash_bytes(PIECES[1] + PIECES[0] + PIECES[2]).hex
    assert str(problem).startswith("swapped:v0 'big.bin': its 3 chunks are intact but ")
    assert verify_json(report)["problems"][0]["kind"] == "bad-chunks"
    assert store.verify("m", deep=True).ok


def test_verify_names_a_missing_and_a_corrupt_piece_and_repair_sets_it_aside(store, version):
    assert store.verify("m", deep=True).ok
    entry = version.files()[0]
    blob_path(store, PIECES[0]).unlink()
    blob_path(store, PIECES[2]).write_bytes(b"GAMMA")
    report = store.verify("m", deep=True)
    problems = {(p.path, p.chunk, p.kind, p.digest) for p in report.problems}
    assert problems == {
        ("big.bin", 0, "missing", entry.chunks[0].digest.hex),
        ("big.bin", 2, "corrupt", entry.chunks[2].digest.hex),
    }
    text = sorted(str(p) for p in report.problems)
    assert text[0] == f"m:v0 'big.bin' chunk 1 of 3: missing (blob {entry.chunks[0].digest})"
    assert text[1].startswith(
        f"m:v0 'big.bin' chunk 3 of 3: corrupt (blob {entry.chunks[2].digest}"
    )
    assert {p["chunk"] for p in verify_json(report)["problems"]} == {0, 2}
    repaired = store.verify("m", deep=True, repair=True)
    assert len(repaired.quarantined) == 1
    assert not store.blobs.has(Kind.BLOB, entry.chunks[2].digest)


def test_plain_verify_counts_each_piece_as_a_blob(store, version):
    report = store.verify("m:v0")
    assert (report.files, report.blobs, report.bytes) == (2, 4, len(WHOLE) + 6)
    assert report.ok


def test_copy_version_copies_the_pieces(store, version, tmp_path):
    target = init_store(str(tmp_path / "target"))
    copy_version(store.blobs, target, version.digest)
    for chunk in version.files()[0].chunks:
        assert target.has(Kind.BLOB, chunk.digest)
    with Store(str(tmp_path / "target")) as copied:
        from tests.conftest import record_version

        record_version(copied, "m", version.digest, size=version.size, file_count=2)
        out = copied.artifact("m:v0").download(tmp_path / "out")
    assert all_files(out)["big.bin"] == WHOLE


def test_copy_blobs_copies_a_large_blob_as_the_one_blob_it_is(store, tmp_path, monkeypatch):
    from artstore.artifacts.transfer import copy_blobs
    from artstore.storage import chunker

    data = np.random.default_rng(3).bytes(3 * 1024 * 1024)  # more than one CDC piece
    monkeypatch.setattr(chunker, "CHUNKED_FROM", 1024)  # the blob is large enough to be cut
    digest = store.blobs.put_bytes(Kind.BLOB, data).digest
    target = init_store(str(tmp_path / "target"))
    copy_blobs(store.blobs, target, [digest])
    assert target.read_bytes(Kind.BLOB, digest) == data


# -- any content, on every kind of root ---------------------------------------------------------

contents = st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6)
# gcp-storage-emulator drops the last byte of an object that ends in a carriage return (real
# GCS and moto keep it), so the buckets' pieces never end in one.
bucket_contents = st.lists(
    st.binary(min_size=1, max_size=300).filter(lambda b: not b.endswith(b"\r")),
    min_size=1,
    max_size=6,
)


def _round_trips(store: Store, tmp_path: Path, pieces: st.SearchStrategy[list[bytes]] = contents):
    count = iter(range(10_000))

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(files=st.dictionaries(st.sampled_from(["a.bin", "d/b.bin", "c"]), pieces, min_size=1))
    def check(files: dict[str, list[bytes]]) -> None:
        n = next(count)
        version = log_chunked(store, f"rt{n}", files)
        out = version.download(tmp_path / f"out{n}")
        assert all_files(out) == {path: b"".join(pieces) for path, pieces in files.items()}

    check()


def test_any_content_round_trips_on_a_local_store(store, tmp_path):
    _round_trips(store, tmp_path)


def test_any_content_round_trips_in_memory(tmp_path):
    url = f"memory://chunked-{os.getpid()}-{tmp_path.name}"
    with Store.init(url, db=f"sqlite:///{tmp_path / 'c.db'}") as store:
        assert store.blobs.local_root is None
        _round_trips(store, tmp_path)


def test_any_content_round_trips_in_a_bucket(bucket: Bucket, tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    Store.init(bucket.url, db=db, **bucket.storage_options).close()
    with Store(bucket.url, db=db, storage_options=bucket.storage_options) as store:
        _round_trips(store, tmp_path, bucket_contents)
        # A damaged piece in a bucket is named as on the local disk.
        version = log_chunked(store, "damaged", {"f": [b"x" * 50, b"y" * 60]})
        chunk = version.files()[0].chunks[1]
        bucket.fs.rm(f"{bucket.name}/blobs/{chunk.digest.hex[:2]}/{chunk.digest.hex[2:]}")
        store.blobs.fs.invalidate_cache()
        with pytest.raises(MissingBlobError) as info:
            version.download(tmp_path / "damaged")
        assert (info.value.path, info.value.chunk) == ("f", 1)


# -- any content, through the real chunker and put ----------------------------------------------


def _small_chunker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut files of 512 bytes and more, by content into pieces of about 256 bytes (FastCDC's
    smallest bounds), and safetensors files at tensors of any mean size."""
    from artstore.storage import chunker

    small = chunker._load_cutter(256, 64, 1024)
    assert small is not None, "pyfastcdc's compiled backend"
    monkeypatch.setattr(chunker, "_CUTTER", small)
    monkeypatch.setattr(chunker, "CHUNKED_FROM", 512)
    monkeypatch.setattr(chunker, "MIN_MEAN_TENSOR", 1)
    monkeypatch.delenv("ARTSTORE_CHUNKING", raising=False)


def _safetensors_bytes(tensors: list[bytes]) -> bytes:
    from safetensors.numpy import save

    return save({f"t{i}": np.frombuffer(t, dtype=np.uint8) for i, t in enumerate(tensors)})


# Files of up to 6 KiB: raw bytes (cut by content) or safetensors (cut at tensors); the blobs
# of a bucket never end in a carriage return, which gcp-storage-emulator drops (see above).
raw_files = st.binary(min_size=0, max_size=6000)
safetensors_files = st.lists(st.binary(min_size=0, max_size=2000), min_size=1, max_size=5).map(
    _safetensors_bytes
)


def _put_round_trips(store: Store, tmp_path: Path, no_cr: bool = False) -> None:
    from artstore.artifacts import Artifact

    count = iter(range(10_000))
    content = raw_files | safetensors_files
    if no_cr:
        content = content.map(lambda b: b.replace(b"\r", b"\n"))

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(files=st.dictionaries(st.sampled_from(["a.bin", "d/b.st", "c"]), content, min_size=1))
    def check(files: dict[str, bytes]) -> None:
        n = next(count)
        folder = make_folder(tmp_path / f"in{n}", files)
        artifact = Artifact(f"put{n}", "dataset")
        artifact.add_dir(folder)
        version = store.log_artifact(artifact)
        entries = {e.path: e for e in version.files()}
        for path, data in files.items():
            assert bool(entries[path].chunks) is (len(data) >= 512), "cut by the real chunker"
        out = version.download(tmp_path / f"out{n}")
        assert all_files(out) == files
        assert store.verify(f"put{n}", deep=True).ok

    check()
    model = _safetensors_bytes([b"a" * 300, b"", b"b" * 700])
    check.hypothesis.inner_test(files={"m.st": model})  # type: ignore[attr-defined]
    [entry] = store.artifact(f"put{next(count) - 1}").files()
    assert [c.tensor for c in entry.chunks] == [None, "t0", "t2"], "cut at its tensors"


def test_any_content_put_through_the_chunker_round_trips_on_a_local_store(
    store, tmp_path, monkeypatch
):
    _small_chunker(monkeypatch)
    _put_round_trips(store, tmp_path)


def test_any_content_put_through_the_chunker_round_trips_in_memory(tmp_path, monkeypatch):
    _small_chunker(monkeypatch)
    url = f"memory://chunked-put-{os.getpid()}-{tmp_path.name}"
    with Store.init(url, db=f"sqlite:///{tmp_path / 'c.db'}") as store:
        _put_round_trips(store, tmp_path)


def test_any_content_put_through_the_chunker_round_trips_in_a_bucket(
    bucket: Bucket, tmp_path, monkeypatch
):
    _small_chunker(monkeypatch)
    db = f"sqlite:///{tmp_path / 'c.db'}"
    Store.init(bucket.url, db=db, **bucket.storage_options).close()
    with Store(bucket.url, db=db, storage_options=bucket.storage_options) as store:
        _put_round_trips(store, tmp_path, no_cr=True)


# -- diff from the manifests ----------------------------------------------------------------------


class CountingReads:
    """Counts the blobs a store opens (every read of a piece goes through ``open``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[str] = []
        real = BlobStore.open

        def counted(blobs: BlobStore, kind: Kind, digest):  # type: ignore[no-untyped-def]
            if kind is Kind.BLOB:
                self.opened.append(digest.hex)
            return real(blobs, kind, digest)

        monkeypatch.setattr(BlobStore, "open", counted)


def _model(rng, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {
        "embed": rng.standard_normal((64, 16)).astype(np.float32),
        "layer.0": rng.standard_normal((32, 32)).astype(np.float32),
        "layer.1": rng.standard_normal((32, 32)).astype(np.float32) * scale,
        "bias": np.arange(8, dtype=np.int64),
    }


def _log_both_ways(store: Store, name: str, tensors, split: int = 0) -> None:
    """Log the same safetensors file chunked (``name``) and whole (``name-whole``)."""
    pieces = safetensors_pieces(tensors, split)
    log_chunked(store, name, {"model.safetensors": pieces, "note.txt": [b"same\n"]})
    whole = b"".join(p for p, _ in pieces)
    log_chunked(store, f"{name}-whole", {"model.safetensors": [whole], "note.txt": [b"same\n"]})


def test_diff_of_chunked_models_reads_no_tensor_bytes(store, tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    base = _model(rng)
    tuned = dict(base, **{"layer.1": base["layer.1"] + 0.5})
    _log_both_ways(store, "net", base, split=512)
    _log_both_ways(store, "net", tuned, split=512)
    whole = store.diff("net-whole:v0", "net-whole:v1", stats=True)
    reads = CountingReads(monkeypatch)
    chunked = store.diff("net:v0", "net:v1")
    header = store.artifact("net:v0").manifest().entries["model.safetensors"].chunks[0]
    assert reads.opened == [header.digest.hex]  # the header once (equal on both sides)
    (tensors,) = chunked.tensors
    assert tensors.names("values") == ("layer.1",)
    assert tensors.unchanged == 3 and not tensors.metadata_changed
    reads.opened.clear()
    with_stats = store.diff("net:v0", "net:v1", stats=True)
    changed = {
        c.digest.hex
        for v in ("net:v0", "net:v1")
        for c in store.artifact(v).manifest().entries["model.safetensors"].chunks
        if c.tensor == "layer.1"
    }
    assert set(reads.opened) == changed | {header.digest.hex}
    assert with_stats.tensors == whole.tensors
    assert with_stats.changed == whole.changed


def test_diff_of_chunked_models_with_new_shapes_reads_the_two_headers(store, tmp_path, monkeypatch):
    rng = np.random.default_rng(8)
    base = _model(rng)
    grown = {k: v for k, v in base.items() if k != "bias"}
    grown["embed"] = rng.standard_normal((80, 16)).astype(np.float32)
    grown["head"] = np.ones(4, dtype=np.float64)
    _log_both_ways(store, "net", base)
    _log_both_ways(store, "net", grown)
    whole = store.diff("net-whole:v0", "net-whole:v1")
    reads = CountingReads(monkeypatch)
    chunked = store.diff("net:v0", "net:v1")
    assert len(reads.opened) == 2  # the two header pieces
    assert chunked.tensors == whole.tensors
    assert {c.kind for c in chunked.tensors[0].changes} == {"added", "removed", "shape"}


def test_diff_of_models_cut_otherwise_reads_them_whole(store, tmp_path):
    rng = np.random.default_rng(9)
    base = _model(rng)
    tuned = dict(base, **{"embed": base["embed"] * 2})
    for tensors in (base, tuned):
        data = b"".join(p for p, _ in safetensors_pieces(tensors))
        # Cut by content: no tensor names, boundaries anywhere.
        log_chunked(
            store, "cdc", {"model.safetensors": [data[:1000], data[1000:5000], data[5000:]]}
        )
        _log_both_ways(store, "ref", tensors)
    assert (
        store.diff("cdc:v0", "cdc:v1", stats=True).tensors
        == store.diff("ref-whole:v0", "ref-whole:v1", stats=True).tensors
    )


def test_diff_names_a_corrupt_tensor_piece(store, tmp_path):
    rng = np.random.default_rng(10)
    base = _model(rng)
    tuned = dict(base, **{"layer.0": base["layer.0"] - 1})
    _log_both_ways(store, "net", base)
    _log_both_ways(store, "net", tuned)
    entry = store.artifact("net:v1").manifest().entries["model.safetensors"]
    index, piece = next((i, c) for i, c in enumerate(entry.chunks) if c.tensor == "layer.0")
    path = Path(store.blobs.path(Kind.BLOB, piece.digest))
    path.chmod(0o644)
    path.write_bytes(bytes(piece.size))
    with pytest.raises(CorruptBlobError) as info:
        store.diff("net:v0", "net:v1", stats=True)
    assert (info.value.artifact, info.value.path, info.value.chunk, info.value.count) == (
        "net:v1",
        "model.safetensors",
        index,
        len(entry.chunks),
    )


# -- written by a real put ------------------------------------------------------------------------


def test_a_model_put_in_pieces_downloads_and_diffs_from_its_manifests(store, tmp_path, monkeypatch):
    from artstore.artifacts import Artifact

    rng = np.random.default_rng(11)
    tensors = {f"layer.{i}": rng.standard_normal((256, 1024)).astype(np.float32) for i in range(12)}
    tuned = dict(tensors, **{"layer.11": tensors["layer.11"] * 0.5})
    saved = {}
    for number, weights in enumerate((tensors, tuned)):
        folder = tmp_path / f"model{number}"
        folder.mkdir()
        data = b"".join(p for p, _ in safetensors_pieces(weights))
        (folder / "model.safetensors").write_bytes(data)
        saved[number] = data
        artifact = Artifact("net", "model")
        artifact.add_dir(folder)
        store.log_artifact(artifact)
    entry = store.artifact("net:v1").manifest().entries["model.safetensors"]
    assert entry.chunks and entry.chunks[0].tensor is None  # cut at its tensors by the put
    for number in (0, 1):
        out = store.artifact(f"net:v{number}").download(tmp_path / f"out{number}")
        assert (out / "model.safetensors").read_bytes() == saved[number]
    reads = CountingReads(monkeypatch)
    (diff,) = store.diff("net:v0", "net:v1").tensors
    assert diff.names("values") == ("layer.11",) and diff.unchanged == 11
    assert reads.opened == [entry.chunks[0].digest.hex]
    assert store.verify("net", deep=True).ok


def test_a_chunked_download_holds_one_buffer_not_the_file(store, tmp_path):
    import tracemalloc

    rng = np.random.default_rng(12)
    pieces = [rng.bytes(4 << 20) for _ in range(12)]  # 48 MiB in 4 MiB pieces
    version = log_chunked(store, "big", {"w.bin": pieces})
    del pieces
    store.blobs._buffer  # noqa: B018 -- the thread's copy buffer, made once and reused
    tracemalloc.start()
    try:
        version.download(tmp_path / "out")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tmp_path / "out" / "w.bin").stat().st_size == 48 << 20
    assert peak < 4 << 20, peak
