"""The sweep pages and ``/api/sweeps`` over a small grid sweep run by a function agent: the
ranked trials table, the two SVG charts, the JSON of ``art sweep ls|show --json``, errors,
escaping of parameter names and values with markup, and no write to the store."""

from __future__ import annotations

import itertools
import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import artstore
from artstore.artifacts import Store
from artstore.serialize import sweep_json, sweep_view_json
from artstore.sweeps import show_sweep
from tests.ui.artifact_store import CSP
from tests.ui.test_read_only import snapshot

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from artstore.ui.app import create_app  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
MARKUP = '<b>"bold"</b> & co'
CONFIG = {
    "method": "grid",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "lr": {"values": [0.001, 0.01, 0.1], "distribution": "categorical"},
        "optimizer": {"values": ["adam", MARKUP]},
        "model": {"parameters": {"width": {"values": [8, 32]}}},
        "epochs": {"value": 2},
    },
}
TRIALS = 12  # 3 x 2 x 2


@dataclass(frozen=True)
class SweepStore:
    url: str
    sweep_id: str


def _train() -> None:
    run = artstore.init()
    config = run.config
    width = config["model"]["width"]
    loss = config["lr"] * 10 + (0.5 if config["optimizer"] == "adam" else 1.0) + 1 / width
    for step in range(3):
        run.log({"val_loss": loss + 1 / (step + 1)}, step=step)
    run.finish()


def build(root: Path) -> SweepStore:
    url = str(root / "store")
    Store.init(url).close()
    with Store(url) as store:
        sweep_id = artstore.sweep(CONFIG, project="tuning", store=store)
        artstore.agent(sweep_id, function=_train, store=store)
    return SweepStore(url, sweep_id)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SweepStore:
    return build(tmp_path_factory.mktemp("ui-sweeps"))


@pytest.fixture(scope="module")
def client(built: SweepStore) -> Any:
    store = Store(built.url, read_only=True)
    with TestClient(create_app(store, host=None)) as test_client:
        yield test_client
    store.close()


def svgs_of(html: str) -> dict[str, ET.Element]:
    found, start = {}, 0
    while (start := html.find("<svg", start)) >= 0:
        end = html.index("</svg>", start) + len("</svg>")
        svg = ET.fromstring(html[start:end])
        found[svg.get("class", "").split()[-1]] = svg
        start = end
    return found


def test_the_sweeps_page_lists_the_sweep_with_its_best(client: Any, built: SweepStore) -> None:
    response = client.get("/sweeps")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith(CSP)
    html = response.text
    assert f'<tr data-sweep="{built.sweep_id}">' in html
    assert f'href="/sweeps/{built.sweep_id}"' in html
    assert "grid" in html and "val_loss" in html and f"finished: {TRIALS}" in html
    assert '<a href="/sweeps">Sweeps</a>' in html
    assert f'data-sweep="{built.sweep_id}"' in client.get("/sweeps?project=tuning").text
    assert "data-sweep=" not in client.get("/sweeps?project=other").text


def test_the_sweep_page_ranks_trials_and_links_runs(client: Any, built: SweepStore) -> None:
    response = client.get(f"/sweeps/{built.sweep_id}")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith(CSP)
    html = response.text
    assert "style=" not in html and "<script>" not in html
    with Store(built.url, read_only=True) as store:
        view = show_sweep(store, built.sweep_id)
    numbers = [int(n) for n in _attrs(html, 'tr data-trial="')]
    assert numbers == [t.number for t in view.trials]
    for trial in view.trials:
        assert f'href="/runs/{trial.run_id}"' in html
    assert view.best is not None and view.best.params["lr"] == 0.001
    assert "Best: trial" in html and "model.width" in html


def _attrs(html: str, prefix: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split(prefix)[1:]]


def test_the_charts_draw_one_line_per_finished_trial(client: Any, built: SweepStore) -> None:
    svgs = svgs_of(client.get(f"/sweeps/{built.sweep_id}").text)
    parallel, by_trial = svgs["parallel"], svgs["by-trial"]
    lines = list(parallel.iter(f"{SVG}polyline"))
    assert len(lines) == TRIALS and parallel.get("data-series") == str(TRIALS)
    names = [t.text for t in parallel.iter(f"{SVG}text") if t.get("class") == "axis-name"]
    assert names == ["lr", "optimizer", "model.width", "val_loss"]  # the constant is left out
    assert MARKUP in names or MARKUP in [t.text for t in parallel.iter(f"{SVG}text")]
    for line in lines:
        assert len(line.get("points", "").split()) == 4
    best = [p for p in by_trial.iter(f"{SVG}polyline") if p.get("class") == "best"]
    assert len(best) == 1 and len(list(by_trial.iter(f"{SVG}circle"))) == TRIALS
    ys = [float(point.split(",")[1]) for point in best[0].get("points", "").split()]
    assert all(a <= b for a, b in itertools.pairwise(ys))  # the lowest loss so far, drawn lower


def test_markup_in_parameters_is_escaped(client: Any, built: SweepStore) -> None:
    html = client.get(f"/sweeps/{built.sweep_id}").text
    assert MARKUP not in html and "<b>" not in html
    assert "&lt;b&gt;" in html


def test_the_api_is_the_cli_json(client: Any, built: SweepStore) -> None:
    with Store(built.url, read_only=True) as store:
        sweeps = store.repository.catalog.sweeps
        listed = [sweep_json(s, sweeps.trials(s.id)) for s in sweeps.newest_first()]
        shown = sweep_view_json(show_sweep(store, built.sweep_id))
    assert client.get("/api/sweeps").json() == json.loads(json.dumps(listed, default=str))
    document = client.get(f"/api/sweeps/{built.sweep_id}").json()
    assert document == json.loads(json.dumps(shown, default=str))
    assert document["best"]["params"]["lr"] == 0.001 and len(document["ranked"]) == TRIALS


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/sweeps/nosuchsweep", 404, "nosuchsweep"),
        ("/api/sweeps/nosuchsweep", 404, "nosuchsweep"),
        ("/sweeps/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404, "&lt;script&gt;"),
        ("/api/sweeps/..%2F..%2Fetc", 404, "etc"),
        ("/sweeps/a/b", 404, "no page"),
    ],
)
def test_errors_name_the_sweep(client: Any, url: str, status: int, words: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert words in response.text and "Traceback" not in response.text
    assert "<script>alert" not in response.text
    if url.startswith("/api/"):
        assert list(response.json()) == ["error"] and "\n" not in response.json()["error"]


@pytest.mark.parametrize("url", ["/sweeps", "/sweeps/x", "/api/sweeps", "/api/sweeps/x"])
def test_other_methods_are_refused(client: Any, url: str) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = client.request(method, url)
        assert response.status_code == 405
        assert response.headers["content-security-policy"].startswith(CSP)


def test_no_sweep_route_changes_a_byte_of_the_store(built: SweepStore, tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(built.url, root)
    before = snapshot(root)
    store = Store(str(root), read_only=True)
    try:
        with TestClient(create_app(store, host=None)) as reader:
            for url in (
                "/sweeps",
                f"/sweeps/{built.sweep_id}",
                "/api/sweeps",
                f"/api/sweeps/{built.sweep_id}",
                "/sweeps?project=tuning",
            ):
                assert reader.get(url).status_code == 200, url
    finally:
        store.close()
    assert snapshot(root) == before


def test_a_log_axis_places_values_by_their_logarithm() -> None:
    from artstore.ui.sweeps import Axis

    axis = Axis("lr", "log", (1e-4, 1e-3, 1e-2))
    assert [axis.position(v) for v in axis.values] == [0.0, 0.5, 1.0]
    linear = Axis("lr", "linear", (1e-4, 1e-3, 1e-2))
    assert linear.position(1e-3) < 0.1
    categorical = Axis("opt", "categorical", ("sgd", "adam", "sgd"))
    assert categorical.labels() == ["sgd", "adam"] and categorical.position("adam") == 1.0
