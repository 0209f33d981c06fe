"""The current run: ``artstore.run`` in the context that started it, in threads the user
starts, in copied contexts, and its finish at interpreter exit."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import artstore
from artstore.artifacts import Store
from artstore.tracker import current


def test_a_thread_the_user_starts_sees_the_run_and_logs_into_it(start, store):
    run = start(id="threaded")
    seen: dict[str, Any] = {}

    def loader() -> None:
        # A new thread starts with an empty context: the process's run stands in.
        seen["run"] = artstore.run
        seen["config"] = artstore.config
        artstore.log({"from_thread": 1.0})

    worker = threading.Thread(target=loader)
    worker.start()
    worker.join()
    assert seen["run"] is run and seen["config"] is run.config
    run.finish()
    assert store.run("threaded").history() == [{"_step": 0, "from_thread": 1.0}]


def test_a_run_finished_in_a_thread_is_no_longer_current_anywhere(start):
    run = start()
    worker = threading.Thread(target=run.finish)
    worker.start()
    worker.join()
    # This context still holds the finished run; it does not count.
    assert run.finished and artstore.run is None and current() is None


def test_copied_contexts_and_asyncio_tasks_see_the_run(start):
    run = start()
    assert contextvars.copy_context().run(lambda: artstore.run) is run

    async def task() -> Any:
        return artstore.run

    assert asyncio.run(task()) is run
    artstore.finish()
    assert artstore.run is None


def test_a_run_started_in_a_thread_is_current_in_the_main_thread(start):
    made: list[Any] = []
    worker = threading.Thread(target=lambda: made.append(start()))
    worker.start()
    worker.join()
    assert artstore.run is made[0]
    artstore.finish()
    assert made[0].finished and artstore.run is None


def test_runs_started_one_after_another_each_finish_at_exit(store_url, tmp_path: Path):
    code = (
        "import artstore, threading\n"
        f"first = artstore.init(store={store_url!r}, id='first', flush_interval=30)\n"
        "first.log({'a': 1.0})\n"
        "first.finish()\n"
        f"threading.Thread(target=lambda: artstore.init(store={store_url!r}, id='second',"
        " flush_interval=30)).start()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with Store(store_url) as store:
        assert store.run("first").state == "finished"
        assert (store.run("second").state, store.run("second").record.exit_code) == (
            "finished",
            0,
        )
