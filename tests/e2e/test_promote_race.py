"""Two real ``art promote`` processes racing for one alias, released together by a barrier.

Each worker is a spawned process that imports the CLI once, then for every round waits on a
shared ``multiprocessing.Barrier`` with the test and runs its ``art promote`` in-process, so
the two promotions start within microseconds of each other, with no sleeps. A round's exit
code is the CLI's ``SystemExit`` code; its stdout and stderr go to a file per round.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store

pytestmark = pytest.mark.slow

ROUNDS = 6


def _worker(barrier, codes, index: int, commands: list[list[str]], logs: str) -> None:
    import contextlib
    import os

    from artstore.cli import main

    for round_, argv in enumerate(commands):
        with open(f"{logs}/{round_}-{index}.txt", "w") as out, contextlib.redirect_stdout(out):
            saved = os.dup(2)
            os.dup2(out.fileno(), 2)
            sys.argv = ["art", *argv]
            barrier.wait()  # released together with the other worker
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            os.dup2(saved, 2)
        codes.put((round_, index, code))
        barrier.wait()  # the round is over


def race(store_url: str, logs: Path, commands: list[list[list[str]]]):
    """Run ``commands[round][worker]`` for every round; yield each round's (code, output)s."""
    ctx = multiprocessing.get_context("spawn")
    workers = len(commands[0])
    barrier, codes = ctx.Barrier(workers + 1, timeout=120), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(barrier, codes, i, [["--store", store_url, *r[i]] for r in commands], str(logs)),
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        for round_ in range(len(commands)):
            barrier.wait()  # go
            barrier.wait()  # done
            got = dict((i, c) for r, i, c in (codes.get(timeout=60) for _ in procs) if r == round_)
            yield [(got[i], (logs / f"{round_}-{i}.txt").read_text()) for i in range(workers)]
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.exitcode is None:
                proc.kill()


@pytest.fixture
def two_versions(store_url, tmp_path):
    with Store(store_url) as store:
        for content in ("a", "b"):
            (tmp_path / "w").write_text(content)
            artifact = Artifact("m", "model")
            artifact.add_file(tmp_path / "w")
            store.log_artifact(artifact)
    logs = tmp_path / "logs"
    logs.mkdir()
    return logs


def test_racing_promotions_both_recorded_in_order(store_url, two_versions):
    commands = [
        [
            ["promote", "m:v0", "--to", f"prod{r}", "--reason", "a"],
            ["promote", "m:v1", "--to", f"prod{r}", "--reason", "b"],
        ]
        for r in range(ROUNDS)
    ]
    for round_, results in enumerate(race(store_url, two_versions, commands)):
        alias = f"prod{round_}"
        assert [code for code, _ in results] == [0, 0], results
        with Store(store_url) as store:
            moves = store.alias_history("m", alias)
            final = store.artifact(f"m:{alias}").number
        assert len(moves) == 2, moves
        first, second = moves
        assert first.from_number is None
        assert second.from_number == first.to_number
        assert {first.to_number, second.to_number} == {0, 1}
        assert final == second.to_number
        assert {first.reason, second.reason} == {"a", "b"}


def test_racing_expect_none_exactly_one_wins(store_url, two_versions):
    commands = [
        [
            ["promote", "m:v0", "--to", f"prod{r}", "--expect", "none"],
            ["promote", "m:v1", "--to", f"prod{r}", "--expect", "none"],
        ]
        for r in range(ROUNDS)
    ]
    for round_, results in enumerate(race(store_url, two_versions, commands)):
        alias = f"prod{round_}"
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        loser = next(text for code, text in results if code == 1)
        assert f"m:{alias} points at v" in loser and "not nowhere" in loser
        winner = next(i for i, (code, _) in enumerate(results) if code == 0)
        with Store(store_url) as store:
            (move,) = store.alias_history("m", alias)
            assert (move.from_number, move.to_number) == (None, winner)
            assert store.artifact(f"m:{alias}").number == winner
