"""The benchmarks' shared helpers, without running a benchmark."""

from __future__ import annotations

from pathlib import Path

from benchmarks import dedup
from benchmarks._harness import write_section


def _section(name: str, body: str, newline: str) -> str:
    return f"<!-- {name}:begin -->\n{body}\n<!-- {name}:end -->{newline}"


def test_a_rewritten_section_keeps_the_blank_line_before_the_next(tmp_path: Path) -> None:
    # Some benchmarks end their section with a newline, some do not: the file's layout (one
    # blank line between sections) stays the same either way.
    out = tmp_path / "RESULTS.md"
    for newline in ("\n", ""):
        write_section(out, "a", _section("a", "first", newline))
        write_section(out, "b", _section("b", "second", newline))
        layout = out.read_text()
        assert layout.count("-->\n\n<!--") == 1
        write_section(out, "a", _section("a", "again", newline))
        assert out.read_text() == layout.replace("first", "again")
        write_section(out, "b", _section("b", "again", newline))
        assert out.read_text().endswith("<!-- b:end -->\n")
        out.unlink()


def test_the_dedup_timing_rounds_are_even_by_default() -> None:
    # Rounds alternate which store goes first: an odd count favours one of them.
    assert dedup.DEFAULT_ROUNDS % 2 == 0
