"""The benchmark scripts still run: ``benchmarks/ingest.py --quick`` end to end."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require_service

ROOT = Path(__file__).resolve().parent.parent


def run_quick(script: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``benchmarks/<script> --quick --out OUT ...`` in a child process."""
    argv = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)]
    return subprocess.run([*argv, *extra], capture_output=True, text=True, timeout=120)


def test_ingest_quick_writes_a_results_table(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    proc = run_quick("ingest.py", out, "--workdir", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "<!-- ingest:begin -->" in text and "<!-- ingest:end -->" in text
    assert "| `art put` (CLI, fresh store, empty stat cache) |" in text
    assert "Re-put of the unchanged folder via Python API" in text
    assert "| `art ls` on a store of 10 artifacts" in text
    assert "### Machine" in text
    # Content-addressed storage keeps each folder's bytes once, even when put twice.
    assert text.count("Bytes under `blobs/` after putting the folder twice") == 2
    # The work dir is cleaned up.
    assert not any((tmp_path / "work").iterdir())


def test_results_section_is_replaced_not_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("ingest", ROOT / "benchmarks" / "ingest.py")
    assert spec is not None and spec.loader is not None
    ingest = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "ingest", ingest)  # dataclasses look their module up
    spec.loader.exec_module(ingest)
    out = tmp_path / "RESULTS.md"
    ingest.write_section(out, "ingest", f"{ingest.BEGIN}\nold\n{ingest.END}\n")
    out.write_text("# header\n\n" + out.read_text().split("\n", 2)[2] + "\n## Other\n")
    ingest.write_section(out, "ingest", f"{ingest.BEGIN}\nnew\n{ingest.END}\n")
    text = out.read_text()
    assert text.startswith("# header\n")
    assert "new" in text and "old" not in text and text.endswith("## Other\n")
    assert text.count(ingest.BEGIN) == 1


def test_tracker_quick_writes_a_results_table(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# header\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    proc = run_quick("tracker.py", out, "--workdir", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# header\n") and "kept" in text  # other sections untouched
    assert text.count("<!-- tracker:begin -->") == 1 and "<!-- tracker:end -->" in text
    assert "| artstore: `run.log()` per call (loop / 2,000) |" in text
    assert "all rows durable" in text and "### Machine" in text
    # Every logged row reached the catalog.
    assert "| Rows in the catalog after `finish()` (every round) | 20,000 |" in text
    assert "W&B offline" in text and "not from this run" in text
    assert not any((tmp_path / "work").iterdir())


def test_lineage_quick_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# header\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    proc = run_quick("lineage.py", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "kept" in text and "<!-- lineage:begin -->" in text
    assert "| pipelines |" in text and "| chain |" in text and "| random |" in text


def test_ui_quick_writes_its_section(tmp_path: Path) -> None:
    if not Path("/usr/bin/chromium").exists():
        require_service("chromium", "/usr/bin/chromium is missing: apt-get install -y chromium")
    out = tmp_path / "RESULTS.md"
    out.write_text("# header\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    proc = run_quick("ui.py", out, "--workdir", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "kept" in text and text.count("<!-- ui:begin -->") == 1 and "<!-- ui:end -->" in text
    assert "### Targets" in text and "### Machine" in text
    # Every view of artstore was measured in the browser (none "not measured").
    for view in ("(a) runs list of a 12-run project", "(c) the big run's chart (5,000 points)"):
        assert re.search(rf"\| {re.escape(view)} \| artstore \| \d+\.\d{{3}} s \|", text)
    assert "| artstore | not measured" not in text
    assert not any((tmp_path / "work").iterdir())
