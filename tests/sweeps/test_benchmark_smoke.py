"""``benchmarks/sweeps.py --quick`` still runs and writes its section."""

from __future__ import annotations

from pathlib import Path

from tests.test_benchmarks_smoke import run_quick


def test_sweeps_quick_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# header\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    proc = run_quick("sweeps.py", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "kept" in text
    assert text.count("<!-- sweeps:begin -->") == 1 and "<!-- sweeps:end -->" in text
    assert "### Branin: trials until one is within 5% of the minimum" in text
    assert "### Hyperband on a workload where half the configs are bad" in text
    assert "### The controller's overhead per trial on SQLite" in text
