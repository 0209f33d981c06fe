"""``art diff A B``: tables, ``--json``, ``--stats``, exit codes."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.cli.conftest import json_out, one_error_line
from tests.conftest import make_folder

V0 = {"keep.txt": b"same", "gone.txt": b"bye", "edit.txt": b"old"}
V1 = {"keep.txt": b"same", "new.txt": b"hello", "edit.txt": b"newer"}


@pytest.fixture
def logged(art, tmp_path):
    folders = []
    for i, files in enumerate((V0, V1)):
        folder = make_folder(tmp_path / f"d{i}", files)
        assert art("put", str(folder), "-n", "data", "-t", "dataset").exit_code == 0
        folders.append(folder)
    return folders


def test_diff_prints_the_files_and_exits_0(art, logged):
    result = art("diff", "data:v0", "data:v1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "data:v0 -> data:v1: 1 added, 1 removed, 1 changed, 1 unchanged"
    rows = {line.split()[1]: line.split()[0] for line in lines[3:6]}
    assert rows == {"new.txt": "added", "gone.txt": "removed", "edit.txt": "changed"}
    assert lines[-1] == "total: 5 B added, 3 B removed, 5 B changed"


def test_no_differences_also_exits_0(art, logged):
    d0, _ = logged
    result = art("diff", str(d0), "data:v0")
    assert result.exit_code == 0
    assert result.stdout == f"{d0} and data:v0 hold the same 3 files\n"


def test_diff_json(art, logged):
    _, d1 = logged
    data = json_out(art("diff", "data:v0", str(d1), "--json"))
    assert (data["a"], data["b"], data["identical"]) == ("data:v0", str(d1), False)
    assert data["added"] == [{"path": "new.txt", "size": 5}]
    assert data["removed"] == [{"path": "gone.txt", "size": 3}]
    assert data["changed"] == [{"path": "edit.txt", "size_a": 3, "size_b": 5}]
    assert (data["unchanged"], data["bytes_added"], data["bytes_removed"]) == (1, 5, 3)
    assert data["bytes_changed"] == 5 and data["tensors"] == []


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [
        ("data:v7", "data:v0", "v7"),
        ("nope", "data:v0", "nope"),
        ("./missing/folder", "data:v0", "neither a folder nor a version"),
    ],
)
def test_bad_sides_exit_2_with_one_line(art, logged, a, b, words):
    assert words in one_error_line(art("diff", a, b))
    result = art("diff", a, b, "--json")
    assert result.exit_code == 2 and result.stdout == ""


@pytest.fixture
def models(art, tmp_path):
    rng = np.random.default_rng(5)
    base = {f"w{i}": rng.standard_normal((8, 8), np.float32) for i in range(4)}
    tuned = dict(base, w1=base["w1"] * 1.5, extra=np.ones(3, np.float32))
    del tuned["w3"]
    for i, tensors in enumerate((base, tuned)):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        save_file(tensors, str(folder / "model.safetensors"))
        assert art("put", str(folder), "-n", "net", "-t", "model").exit_code == 0
    return base, tuned


def test_tensor_table_with_stats(art, models):
    base, tuned = models
    result = art("diff", "net:v0", "net:v1", "--stats")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "model.safetensors: 3 of 5 tensors differ" in out
    header = next(line for line in out.splitlines() if line.startswith("TENSOR"))
    assert header.split() == ["TENSOR", "CHANGE", "DTYPE/SHAPE", "MAX|DIFF|", "REL", "L2"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[-3:]}
    assert rows["extra"][:4] == ["extra", "added", "F32", "[3]"]
    assert rows["w3"][:2] == ["w3", "removed"]
    expected = np.abs(tuned["w1"] - base["w1"]).max()
    assert rows["w1"][1] == "values" and float(rows["w1"][-2]) == pytest.approx(expected, 1e-3)
    assert float(rows["w1"][-1]) == pytest.approx(0.5, 1e-3)


def test_tensor_json(art, models):
    data = json_out(art("diff", "net:v0", "net:v1", "--json"))
    (t,) = data["tensors"]
    assert t["path"] == "model.safetensors" and t["unchanged"] == 2
    assert [(c["name"], c["kind"]) for c in t["changes"]] == [
        ("extra", "added"),
        ("w1", "values"),
        ("w3", "removed"),
    ]
    w1 = t["changes"][1]
    assert w1["dtype_a"] == w1["dtype_b"] == "F32" and w1["shape_a"] == [8, 8]
    assert w1["max_abs_diff"] is None and w1["rel_l2"] is None  # only with --stats


def test_stats_json_spells_infinity_and_nan_as_every_json_output_does(art, tmp_path):
    ones = np.ones(2, np.float32)
    appear = {"inf": np.array([np.inf, 1.0], np.float32), "nan": np.array([np.nan, 1], np.float32)}
    for i, tensors in enumerate(({"inf": ones, "nan": ones}, appear)):
        folder = tmp_path / f"e{i}"
        folder.mkdir()
        save_file(tensors, str(folder / "m.safetensors"))
        assert art("put", str(folder), "-n", "edge", "-t", "model").exit_code == 0
    result = art("diff", "edge:v0", "edge:v1", "--stats", "--json")
    assert result.exit_code == 0, result.stderr

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    (t,) = json.loads(result.stdout, parse_constant=refuse)["tensors"]
    numbers = {c["name"]: (c["max_abs_diff"], c["rel_l2"]) for c in t["changes"]}
    assert numbers == {"inf": ("Infinity", "Infinity"), "nan": ("NaN", "NaN")}


@pytest.mark.slow
def test_benchmark_quick_writes_its_section_and_cleans_up(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "RESULTS.md"
    out.write_text("# results\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    argv = [sys.executable, str(root / "benchmarks" / "diff.py"), "--quick", "--out", str(out)]
    proc = subprocess.run(
        [*argv, "--workdir", str(tmp_path / "work")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "kept" in text and text.count("<!-- diff:begin -->") == 1
    assert "| `art diff model:v0 model:v1` |" in text and "### Machine" in text
    assert not any((tmp_path / "work").iterdir())


def test_a_corrupt_blob_exits_1_naming_it_not_a_false_change(art, store_url, models):
    from artstore.artifacts import Store
    from artstore.storage import Kind

    with Store(store_url) as store:
        entry = store.artifact("net:v0").manifest().entries["model.safetensors"]
        blob = Path(store.blobs.path(Kind.BLOB, entry.digest))
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0x01  # in the last tensor by offset, unchanged or removed in v1
    blob.write_bytes(bytes(data))
    line = one_error_line(art("diff", "net:v0", "net:v1"), code=1)
    assert "'model.safetensors' of net:v0" in line and "is corrupt" in line


def test_stats_on_shapes_that_disagree_with_offsets_exit_2_in_one_line(art, tmp_path):
    for i in range(2):
        folder = tmp_path / f"bad{i}"
        folder.mkdir()
        raw = json.dumps({"w": {"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 8]}})
        body = struct.pack("<Q", len(raw)) + raw.encode() + bytes([i]) * 8
        (folder / "model.safetensors").write_bytes(body)
        assert art("put", str(folder), "-n", "bad", "-t", "model").exit_code == 0
    line = one_error_line(art("diff", "bad:v0", "bad:v1", "--stats"))
    assert "'model.safetensors' is not a valid safetensors file" in line
    assert "needs 36 bytes, but its offsets hold 8" in line
