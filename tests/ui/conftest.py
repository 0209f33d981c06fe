"""Fixtures for the UI tests: a populated store, the app served on loopback, and a real browser.

The browser is Debian's ``chromium`` driven by Playwright's Python package (Playwright's own
browser download is never used). Without chromium or Playwright the browser tests skip with the
reason, and fail where CI requires every service (``ARTSTORE_REQUIRE_SERVICES=1``, see
:mod:`tests.services`). One browser serves every test of a test process; each test gets a fresh
page that fails the test at teardown if the page logged a console error, threw, or had a request
fail.

Helpers for the tests: :func:`wait_ready` waits for the page-readiness contract (the page's
script sets ``document.documentElement.dataset.ready = "1"`` once its view shows its data),
:func:`canvas_drawn` counts the coloured pixels of a chart's canvas, and :func:`screenshot`
keeps a picture for docs/ui.md when ``ARTSTORE_UI_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Artifact, Store
from tests.services import require_service

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS_ENV = "ARTSTORE_UI_SCREENSHOTS"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "images" / "ui"
READY_TIMEOUT_MS = 15_000
_SERVER_START_TIMEOUT = 15.0

#: The store's projects and runs, as :func:`ui_store` builds them.
PROJECTS = ("vision", "text")
RUNS_PER_PROJECT = 3
STEPS = 120
METRIC_KEYS = ("train/loss", "train/acc", "val/loss", "val/acc", "lr")


# -- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UiStore:
    """The store the UI tests browse: its URL and what was put in it.

    Attributes:
        url: the store's URL (a local folder with a SQLite catalog).
        runs: run ids by project, in the order they were logged.
        media_run: the run with media, console lines, a saved file and an alert.
        trainer: the run that used ``dataset:v0`` and produced ``model:v0``.
        dataset: ``dataset:v0``.
        model: ``model:v0`` (its ``model.safetensors`` is stored in pieces).
    """

    url: str
    runs: dict[str, list[str]]
    media_run: str
    trainer: str
    dataset: str = "dataset:v0"
    model: str = "model:v0"


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UiStore:
    """A store built once per test process with the tracker and the Python API.

    Two projects of three finished runs each (config, summary, five metric keys with ``train/``
    and ``val/`` prefixes over 120 steps); the first run of ``vision`` also has an image series,
    a table, a histogram series, console lines, a saved file and an alert. A second ``vision``
    run uses ``dataset:v0`` and produces ``model:v0``, whose safetensors file (over 8 MiB) is
    stored in pieces: the lineage dataset -> run -> model.
    """
    np = pytest.importorskip("numpy")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    root = tmp_path_factory.mktemp("ui-store")
    url = str(root / "store")
    work = root / "work"
    work.mkdir()
    Store.init(url).close()

    runs: dict[str, list[str]] = {project: [] for project in PROJECTS}
    rng = np.random.default_rng(11)
    for p, project in enumerate(PROJECTS):
        for i in range(RUNS_PER_PROJECT):
            config: dict[str, Any] = {
                "lr": 10.0 ** -(i + 2),
                "batch_size": 32 * (i + 1),
                "optimizer": "adam",
                "layers": 2 + p,
                "dropout": 0.1 * i,
            }
            run = artstore.init(
                project=project,
                name=f"{project}-{i}",
                config=config,
                tags=["ui-test", f"seed-{i}"],
                store=url,
                capture_console=False,
                flush_interval=0.05,
            )
            with_media = project == "vision" and i == 0
            for step in range(STEPS):
                decay = 1.0 / (1 + step * (i + 1) * 0.05)
                row: dict[str, Any] = {
                    "train/loss": decay + 0.01 * rng.random(),
                    "train/acc": 1.0 - decay,
                    "val/loss": decay * 1.1,
                    "val/acc": 0.95 - decay,
                    "lr": config["lr"] * decay,
                }
                if with_media:
                    row.update(_media(step, np, rng))
                run.log(row, step=step)
            if with_media:
                _log_extras(run, work)
            run.summary["best_val_acc"] = 0.95 - 1.0 / (1 + (STEPS - 1) * (i + 1) * 0.05)
            runs[project].append(run.id)
            run.finish()

    trainer = _log_lineage(url, np, safetensors_numpy, work)
    runs["vision"].append(trainer)
    return UiStore(url=url, runs=runs, media_run=runs["vision"][0], trainer=trainer)


def _media(step: int, np: Any, rng: Any) -> dict[str, Any]:
    """Every 30 steps an image and a histogram; a table at the last step."""
    media: dict[str, Any] = {}
    if step % 30 == 0:
        pixels = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        media["samples"] = artstore.Image(pixels, caption=f"step {step}")
        media["weights"] = artstore.Histogram(rng.normal(step / 30, 1.0, 500))
    if step == STEPS - 1:
        media["predictions"] = artstore.Table(
            columns=["id", "label", "score"],
            data=[[k, f"class-{k % 3}", round(k / 10, 2)] for k in range(10)],
        )
    return media


def _log_extras(run: Any, work: Path) -> None:
    """Console lines, a saved file and an alert."""
    for line in ("epoch 1: loss 0.91\n", "epoch 2: loss 0.52\n", "done: val/acc 0.88\n"):
        run.record_console("stdout", line)
    run.record_console("stderr", "warning: learning rate is small\n")
    notes = work / "notes.txt"
    notes.write_text("trained on the ui-test workload\n")
    run.save(str(notes), base_path=str(work), policy="now")
    run.alert("val/acc plateaued", "no gain in 30 steps", level="WARN")


def _log_lineage(url: str, np: Any, safetensors_numpy: Any, work: Path) -> str:
    """dataset:v0 -> a training run -> model:v0 (a safetensors file over 8 MiB, in pieces)."""
    data_dir = work / "dataset"
    data_dir.mkdir()
    (data_dir / "train.csv").write_text("x,y\n" + "".join(f"{k},{k % 2}\n" for k in range(200)))
    (data_dir / "README.md").write_text("A tiny dataset for the UI tests.\n")
    with Store(url) as store:
        dataset = Artifact("dataset", type="dataset")
        dataset.add_dir(data_dir)
        store.log_artifact(dataset, aliases=["golden"])

    model_dir = work / "model"
    model_dir.mkdir()
    rng = np.random.default_rng(3)
    tensors = {
        f"layer{k}.weight": rng.standard_normal((512, 1024)).astype(np.float32) for k in range(5)
    }  # 5 x 2 MiB: 10 MiB, over the 8 MiB that are stored in pieces
    safetensors_numpy.save_file(tensors, str(model_dir / "model.safetensors"))
    (model_dir / "config.json").write_text('{"hidden": 1024, "layers": 5}\n')

    run = artstore.init(
        project="vision",
        name="trainer",
        config={"lr": 0.001, "epochs": 3},
        store=url,
        capture_console=False,
        flush_interval=0.05,
    )
    run.use_artifact("dataset:v0")
    for step in range(STEPS):
        run.log({"train/loss": 1.0 / (step + 1), "val/loss": 1.2 / (step + 1)}, step=step)
    model = Artifact("model", type="model")
    model.add_dir(model_dir)
    run.log_artifact(model, aliases=["candidate"])
    run.finish()
    return run.id


# -- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback now (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def ui_server(ui_store: UiStore) -> Iterator[str]:
    """The UI over :func:`ui_store`, served by uvicorn on a free loopback port in a background
    thread of this test process; yields its base URL (``http://127.0.0.1:PORT``)."""
    pytest.importorskip("starlette")
    uvicorn = pytest.importorskip("uvicorn")
    from artstore.ui.app import create_app

    store = Store(ui_store.url, read_only=True)
    port = free_port()
    app = create_app(store, host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the UI server did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


# -- the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, launched once per test process through Playwright."""
    if not CHROMIUM.exists():
        require_service("chromium", f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require_service("chromium (playwright)", f"playwright does not import: {exc}")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class PageProblems:
    """What went wrong in a page: console errors, uncaught exceptions and failed requests
    (network failures and HTTP 4xx/5xx answers)."""

    found: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        """Record the problems of ``page`` from now on."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        where = message.location.get("url") or "?"
        if message.type == "error":
            self.found.append(f"console error: {message.text} ({where})")

    def _request_failed(self, request: Any) -> None:
        self.found.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.found.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def check(self) -> None:
        """Fail the current test if anything went wrong; a test that provokes an error on
        purpose calls :meth:`clear` after checking it."""
        if self.found:
            pytest.fail("the page had problems:\n  " + "\n  ".join(self.found), pytrace=False)

    def clear(self) -> None:
        """Forget the problems recorded so far."""
        self.found.clear()


@pytest.fixture
def page_problems() -> PageProblems:
    """The problems of this test's :func:`page` (checked when the test ends)."""
    return PageProblems()


@pytest.fixture
def page(browser: Any, page_problems: PageProblems) -> Iterator[Any]:
    """A fresh page in its own browser context; the test fails at teardown if the page logged a
    console error, threw, or had a request fail (see :class:`PageProblems`)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    fresh = context.new_page()
    fresh.set_default_timeout(READY_TIMEOUT_MS)
    page_problems.attach(fresh)
    yield fresh
    # Let events already queued (a late fetch answered with an error) reach the recorder.
    fresh.wait_for_timeout(50)
    context.close()
    page_problems.check()


def wait_ready(page: Any, timeout_ms: int = READY_TIMEOUT_MS) -> None:
    """Wait until the page's view shows its data (``<html data-ready="1">``).

    Polled from here: Playwright's ``wait_for_function`` evaluates a predicate given as a string
    with ``eval`` in the page, which the UI's CSP refuses (a page error, now and then).
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while page.evaluate("() => document.documentElement.dataset.ready") != "1":
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url} was not ready within {timeout_ms} ms")
        page.wait_for_timeout(20)


# Series are drawn in colour; uPlot's grid, ticks and labels are grey or black. A pixel counts as
# drawn when it is visible and its channels differ (a coloured stroke), so axes alone count 0.
_COLOURED_PIXELS_JS = """
(selector) => {
    const root = document.querySelector(selector);
    if (!root) return -1;
    const canvas = root.tagName === 'CANVAS' ? root : root.querySelector('canvas');
    if (!canvas || !canvas.width || !canvas.height) return -1;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
        const hi = Math.max(data[i], data[i + 1], data[i + 2]);
        const lo = Math.min(data[i], data[i + 1], data[i + 2]);
        if (data[i + 3] > 0 && hi - lo > 40) coloured++;
    }
    return coloured;
}
"""


def canvas_drawn(page: Any, selector: str) -> int:
    """The number of coloured pixels on the canvas at ``selector`` (a ``<canvas>`` or an element
    holding one, such as a ``.chart``): 0 for a blank chart or axes alone, -1 without a canvas."""
    count: int = page.evaluate(_COLOURED_PIXELS_JS, selector)
    return count


def screenshot(page: Any, name: str) -> Path | None:
    """Save the page as ``docs/images/ui/NAME.png`` when ``ARTSTORE_UI_SCREENSHOTS=1``."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return None
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its header."""
    with path.open("rb") as f:
        head = f.read(24)
    width, height = struct.unpack(">II", head[16:24])
    return width, height
