"""The app with Starlette's TestClient: every runs route answers 200, a missing thing is a 404
that names it, other methods 405, hostile paths never escape, every response carries the CSP,
the Host check holds on loopback, and errors are one line, never a traceback; `art ui`."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from artstore.artifacts import Store
from artstore.cli import cli
from artstore.ui import web
from artstore.ui.app import create_app
from artstore.ui.security import CSP, is_loopback
from artstore.ui.server import bind, no_login_warning, url_of
from tests.ui.conftest import UiStore

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402


@pytest.fixture(scope="module")
def store(ui_store: UiStore):
    opened = Store(ui_store.url, read_only=True)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(store):
    return TestClient(create_app(store), base_url="http://127.0.0.1")


def page_routes(ui: UiStore) -> list[str]:
    run = ui.media_run
    return [
        "/",
        "/projects/vision",
        "/projects/vision?sort=metric.train/loss.min&order=asc&col=metric.train/loss.min",
        "/projects/vision?filter=config.lr%3E%3D0.001&limit=1&offset=1",
        f"/compare?runs={','.join(ui.runs['vision'][:3])}",
        f"/compare?runs={run}&keys=train/loss",
        f"/runs/{run}",
        f"/runs/{ui.trainer}",
        "/sweeps",
    ]


def api_routes(ui: UiStore) -> list[str]:
    run = ui.media_run
    return [
        "/api/projects",
        "/api/sweeps",
        "/api/runs?project=vision",
        "/api/runs?project=vision&columns=config.lr,metric.val/acc.max&sort=config.lr",
        f"/api/runs/{run}",
        f"/api/runs/{run}/keys",
        f"/api/keys?runs={run},{ui.trainer}",
        f"/api/series?runs={run}&key=train/loss",
        f"/api/series?runs={run}&key=train/loss&x=time&points=10",
        f"/api/series?runs={run}&key=train/loss&x=wall&after=100",
        f"/api/runs/{run}/console",
        f"/api/runs/{run}/console?q=step&after=0",
        f"/api/runs/{run}/media",
    ]


def media_and_file_routes(client, ui: UiStore) -> list[str]:
    run = ui.media_run
    routes = []
    media = client.get(f"/api/runs/{run}/media").json()["media"]
    for key in media:
        for item in client.get(f"/api/runs/{run}/media", params={"key": key}).json()["items"]:
            if "url" in item:
                routes.append(item["url"])
    files = client.get(f"/api/runs/{run}").json()["files"]
    routes += [f"/runs/{run}/files/{quote(f['name'])}" for f in files]
    return routes


def test_every_runs_route_answers_with_the_csp(client, ui_store):
    routes = page_routes(ui_store) + api_routes(ui_store)
    routes += media_and_file_routes(client, ui_store)
    assert any("/media/" in r for r in routes) and any("/files/" in r for r in routes)
    for route in routes:
        response = client.get(route)
        assert response.status_code == 200, (route, response.text[:200])
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        if route.startswith("/api/"):
            json.loads(response.text)
        elif "/media/" not in route and "/files/" not in route:
            assert "<script>" not in response.text and " style=" not in response.text


def test_api_documents(client, ui_store):
    run = ui_store.media_run
    table = client.get("/api/runs", params={"project": "vision", "columns": "metric.val/acc.max"})
    document = table.json()
    assert document["total"] == len(ui_store.runs["vision"])
    assert document["columns"] == ["metric.val/acc.max"]
    assert {r["id"] for r in document["runs"]} == set(ui_store.runs["vision"])
    assert all(set(r["values"]) == {"metric.val/acc.max"} for r in document["runs"])
    offered = document["available"]["summary"]
    assert "summary.best_val_acc" in offered
    assert not any("_type" in c or "samples" in c for c in offered), "media are not columns"
    series = client.get("/api/series", params={"runs": run, "key": "train/loss", "points": 10})
    (only,) = series.json()["series"]
    assert only["downsampled"] == {"points": 120, "buckets": 5}
    assert only["points"] <= 10 and only["x"] == sorted(only["x"])
    newer = client.get(
        "/api/series", params={"runs": run, "key": "train/loss", "after": 117}
    ).json()
    assert newer["series"][0]["x"] == [118, 119]
    console = client.get(f"/api/runs/{run}/console").json()
    assert console["lines"] and console["last_position"] == console["lines"][-1]["position"]


@pytest.mark.parametrize(
    ("route", "named"),
    [
        ("/projects/nowhere", "nowhere"),
        ("/api/runs?project=nowhere", "nowhere"),
        ("/runs/zzzzzzzz", "zzzzzzzz"),
        ("/api/runs/zzzzzzzz", "zzzzzzzz"),
        ("/api/runs/zzzzzzzz/console", "zzzzzzzz"),
        ("/api/series?runs=zzzzzzzz&key=loss", "zzzzzzzz"),
        ("/compare?runs=zzzzzzzz", "zzzzzzzz"),
        ("/no/such/page", "/no/such/page"),
        ("/api/nothing", "/api/nothing"),
        ("/static/nothing.js", "/static/nothing.js"),
    ],
)
def test_a_missing_thing_is_a_404_naming_it(client, route, named):
    response = client.get(route)
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == CSP
    text = response.json()["error"] if route.startswith("/api/") else response.text
    assert named in text
    assert "Traceback" not in response.text


def test_missing_files_and_media_are_404s(client, ui_store):
    run = ui_store.media_run
    assert "no file" in client.get(f"/runs/{run}/files/nothing.txt").text
    assert client.get(f"/runs/{run}/media/nothing/0/0").status_code == 404
    response = client.get(f"/api/runs/{run}/media", params={"key": "nothing"})
    assert response.status_code == 404 and "nothing" in response.json()["error"]


@pytest.mark.parametrize(
    "route",
    [
        "/api/runs?project=vision&sort=bogus",
        "/api/runs?project=vision&order=up",
        "/api/runs?project=vision&limit=0",
        "/api/runs?project=vision&offset=-1",
        "/api/runs?project=vision&filter=bogus",
        "/api/runs?project=vision&filter=%7B%22%24or%22%3A1%7D",
        "/api/runs",
        "/api/series?key=loss",
        "/api/series?runs=abc",
        "/api/series?runs=RUN&key=loss&x=sideways",
        "/api/series?runs=RUN&key=loss&points=1",
        "/api/series?runs=RUN&key=loss&points=10001",
        "/api/series?runs=RUN" + ",RUN" * 20 + "&key=loss&points=10000",
        "/api/runs/..%2F..%2Fetc/console",
    ],
)
def test_bad_input_is_a_one_line_400(client, ui_store, route):
    response = client.get(route.replace("RUN", ui_store.media_run))
    assert response.status_code in (400, 404), response.text
    error = response.json()["error"]
    assert "\n" not in error and error
    assert response.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("route", ["/", "/api/projects", "/api/series", "/runs/abc"])
def test_other_methods_are_405(client, method, route):
    response = client.request(method, route)
    assert response.status_code == 405
    assert response.headers["content-security-policy"] == CSP


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/vendor/../../security.py",
        "/runs/RUN/files/../../catalog.db",
        "/runs/RUN/files/%2e%2e/%2e%2e/catalog.db",
        "/runs/RUN/files//etc/passwd",
        "/runs/RUN/media/..%2f..%2fcatalog.db/0/0",
    ],
)
def test_hostile_paths_reach_nothing(client, ui_store, path):
    response = client.get(path.replace("RUN", ui_store.media_run))
    assert response.status_code in (400, 404)
    assert b"SQLite format" not in response.content and b"import" not in response.content


def test_the_host_header_must_name_this_machine_on_loopback(store):
    app = create_app(store, host="127.0.0.1")
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200
    refused = TestClient(app, base_url="http://evil.example:8765").get("/")
    assert refused.status_code == 400
    assert refused.headers["content-security-policy"] == CSP
    anywhere = create_app(store, host="0.0.0.0")
    assert TestClient(anywhere, base_url="http://my-box:8765").get("/").status_code == 200


def test_a_bug_is_a_one_line_500_with_the_headers(store, monkeypatch):
    from artstore.ui import runs

    def broken(store):
        raise RuntimeError("boom")

    monkeypatch.setattr(runs, "projects_data", broken)
    client = TestClient(
        create_app(store), base_url="http://127.0.0.1", raise_server_exceptions=False
    )
    response = client.get("/api/projects")
    assert response.status_code == 500
    assert "boom" not in response.text and "Traceback" not in response.text
    assert response.headers["content-security-policy"] == CSP


def test_template_filters():
    assert web.cell(None) == "" and web.cell(0.123456) == "0.1235" and web.cell(True) == "true"
    assert web.cell("x" * 100, 10) == "x" * 9 + "…"
    assert web.cell({"a": [1, 2]}) == '{"a":[1,2]}'
    assert web.cell({"_type": "image", "width": 2, "height": 3, "digest": "x"}) == "<image 2x3>"
    assert web.column_label("metric.train/loss.min") == (
        "metric.train/loss.min",
        "train/loss (min)",
    )
    assert web.column_label("config.opt.lr") == ("config.opt.lr", "opt.lr")
    assert [web.duration(s) for s in (5, 65, 3725)] == ["5s", "1m 05s", "1h 02m"]
    assert [web.filesize(s) for s in (10, 2048, 3 * 1024**3)] == ["10 B", "2.0 KiB", "3.0 GiB"]


def test_loopback_and_the_no_login_warning():
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert all(is_loopback(h) for h in ("127.1", "0x7f.1", "2130706433"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "example.com", "::"))
    assert "no login" in no_login_warning("0.0.0.0")
    assert "web page" in no_login_warning("0.0.0.0") and "DNS rebinding" in no_login_warning("::")


def test_bind_refuses_a_port_in_use_in_one_line():
    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        assert url_of(taken) == f"http://127.0.0.1:{port}/"
        from artstore.errors import ConfigError

        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1 port {port}"):
            bind("127.0.0.1", port)
    finally:
        taken.close()


def test_art_ui_without_the_extra_exits_2_in_one_line(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    result = CliRunner().invoke(cli, ["--store", str(tmp_path), "ui"])
    assert result.exit_code == 2
    assert result.output.strip() == "art: art ui needs the ui extra: pip install 'artstore[ui]'"


def test_art_ui_serves_the_store_read_only(monkeypatch, ui_store):
    from artstore.ui import server

    seen = {}

    def fake_run(self, sockets):
        seen["url"] = url_of(sockets[0])
        seen["store"] = self.config.app.state.store
        for s in sockets:
            s.close()

    monkeypatch.setattr(server.uvicorn.Server, "run", fake_run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(
        cli, ["--store", ui_store.url, "ui", "--port", str(port), "--host", "0.0.0.0"]
    )
    assert result.exit_code == 0, result.output
    assert "has no login" in result.output
    assert seen["store"].repository.read_only
    assert f":{port}/" in seen["url"]


def test_run_files_download_verified_and_large_ones_stream(tmp_path):
    import artstore

    url = str(tmp_path / "store")
    Store.init(url).close()
    work = tmp_path / "work"
    work.mkdir()
    big = bytes(range(256)) * (5 * 4096 + 7)  # over 4 MiB: streamed
    (work / "big.bin").write_bytes(big)
    (work / "small.txt").write_bytes(b"hello\n")
    run = artstore.init(project="files", store=url, capture_console=False)
    run.save(str(work / "*"), base_path=str(work), policy="now")
    run.finish()
    store = Store(url, read_only=True)
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    response = client.get(f"/runs/{run.id}/files/big.bin")
    assert response.status_code == 200 and response.content == big
    assert response.headers["content-length"] == str(len(big))
    assert "attachment" in response.headers["content-disposition"]
    small = client.get(f"/runs/{run.id}/files/small.txt")
    assert small.content == b"hello\n"
    from artstore.storage import Digest, Kind
    from artstore.storage.layout import key_for

    (kept,) = [
        f for f in client.get(f"/api/runs/{run.id}").json()["files"] if f["name"] == "small.txt"
    ]
    blob = tmp_path / "store" / key_for(Kind.BLOB, Digest.parse(kept["digest"]))
    blob.chmod(0o644)
    blob.write_bytes(b"HELLO\n")
    damaged = client.get(f"/runs/{run.id}/files/small.txt")
    assert damaged.status_code == 500
    assert "small.txt" in damaged.text and "Traceback" not in damaged.text
    store.close()


def test_text_is_compressed_downloads_and_images_are_not(client, ui_store):
    script = client.get("/static/vendor/uPlot.iife.min.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["content-security-policy"] == CSP
    run = ui_store.media_run
    (image,) = [r for r in media_and_file_routes(client, ui_store) if "/media/samples/" in r][:1]
    assert "content-encoding" not in client.get(image).headers
    (kept,) = client.get(f"/api/runs/{run}").json()["files"][:1]
    download = client.get(f"/runs/{run}/files/{quote(kept['name'])}")
    assert "content-encoding" not in download.headers
    assert download.headers["content-length"] == str(kept["size"])


def test_the_ui_filter_takes_no_regex_and_answers_fast(client):
    # (a+)+$ on a long run of a's takes exponential time: the UI never runs a pattern.
    slow = json.dumps({"name": {"$regex": "(a+)+$"}})
    nested = json.dumps({"$or": [{"config.x": {"$regex": "(a+)+$"}}]})
    for text in (slow, nested):
        started = time.monotonic()
        response = client.get("/api/runs", params={"project": "vision", "filter": text})
        assert response.status_code == 400
        assert "takes no $regex" in response.json()["error"]
        assert time.monotonic() - started < 2
    plain = client.get("/api/runs", params={"project": "vision", "filter": "name=$regex"})
    assert plain.status_code == 200


def test_a_deeply_nested_filter_is_a_400_here_and_a_user_error_in_the_cli():
    from artstore.artifacts.runs import parse_filters
    from artstore.errors import UserError

    deep = "{" + '"$and": [{' * 3000 + "}]" * 3000 + "}"
    with pytest.raises(UserError, match="nested too deeply"):
        parse_filters([deep])
    with pytest.raises(UserError, match="nested too deeply"):
        parse_filters(["config.x=" + "[" * 3000 + "]" * 3000])


def test_a_deeply_nested_filter_is_a_one_line_400(client):
    deep = '{"config.x": ' + "[" * 3000 + "]" * 3000 + "}"
    response = client.get("/api/runs", params={"project": "vision", "filter": deep})
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


def test_another_site_may_link_to_pages_but_not_fetch(client):
    site = {"Sec-Fetch-Site": "cross-site"}
    image = {**site, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
    refused = client.get("/api/projects", headers=image)
    assert refused.status_code == 403 and refused.headers["content-security-policy"] == CSP
    assert client.get("/", headers={**image, "Sec-Fetch-Site": "same-site"}).status_code == 403
    link = {**site, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert client.get("/", headers=link).status_code == 200
    assert client.get("/api/projects", headers=link).status_code == 403
    own = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    response = client.get("/api/projects", headers=own)
    assert response.status_code == 200
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


@pytest.mark.parametrize(
    "route",
    [
        "/api/series?runs=RUN&key=loss&after=99999999999999999999999",
        "/api/runs/RUN/console?after=99999999999999999999999",
        "/runs/RUN/media/KEY/99999999999999999999999/0",
        "/runs/RUN/media/KEY/0/99999999999999999999999",
    ],
)
def test_an_oversized_integer_is_a_400(client, ui_store, route):
    key = quote(media_key(client, ui_store), safe="")
    response = client.get(route.replace("RUN", ui_store.media_run).replace("KEY", key))
    assert response.status_code == 400, response.text
    assert "at most 9223372036854775807" in response.text


def media_key(client, ui: UiStore) -> str:
    media = client.get(f"/api/runs/{ui.media_run}/media").json()["media"]
    return sorted(media)[0]


def test_a_head_of_a_download_reads_no_blob(client, ui_store, monkeypatch):
    from artstore.storage import BlobStore

    files = client.get(f"/api/runs/{ui_store.media_run}").json()["files"]
    route = f"/runs/{ui_store.media_run}/files/{quote(files[0]['name'])}"
    whole = client.get(route)

    def unread(*args, **kwargs):
        raise AssertionError("a HEAD opened the blob")

    monkeypatch.setattr(BlobStore, "open_chunks", unread)
    head = client.head(route)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))


def test_a_page_answering_fragments_varies_on_hx_request(client):
    response = client.get("/projects/vision")
    assert response.status_code == 200 and "HX-Request" in response.headers["vary"]


def test_compare_charts_at_most_200_keys(client, ui_store):
    keys = ",".join(f"k{i}" for i in range(201))
    response = client.get(f"/compare?runs={ui_store.media_run}&keys={keys}")
    assert response.status_code == 400 and "at most 200 keys" in response.text


def test_a_runs_keys_say_its_state(client, ui_store):
    document = client.get(f"/api/runs/{ui_store.media_run}/keys").json()
    assert document["state"] == "finished" and document["keys"]


def test_media_above_the_whole_read_limit_stream_the_same_bytes(client, ui_store, monkeypatch):
    from artstore.ui import web

    routes = [r for r in media_and_file_routes(client, ui_store) if "/media/" in r]
    whole = {route: client.get(route) for route in routes}
    streams = []

    class Counted(web.StreamingResponse):
        def __init__(self, *args, **kwargs):
            streams.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(web, "WHOLE_READ", 0)
    monkeypatch.setattr(web, "StreamingResponse", Counted)
    assert routes
    for route, first in whole.items():
        streamed = client.get(route)
        assert streamed.status_code == 200 and streamed.content == first.content
        assert streamed.headers["content-length"] == str(len(first.content))
        assert streamed.headers["content-disposition"] == first.headers["content-disposition"]
    assert len(streams) == len(routes)


def test_an_index_past_a_single_media_value_is_a_404(client, ui_store):
    routes = [r for r in media_and_file_routes(client, ui_store) if "/media/" in r]
    single = next(r for r in routes if r.endswith("/0") and r[:-1] + "1" not in routes)
    assert client.get(single).status_code == 200
    assert client.get(single[:-1] + "1").status_code == 404
