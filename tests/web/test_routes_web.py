"""`/` and `/ui/*`: the built UI is served, an unbuilt one says how to build it, and no path
outside the build can be read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lipforge.api import routes_web
from lipforge.api.app import create_app
from lipforge.config import Settings


@pytest.fixture()
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dist"
    monkeypatch.setattr(routes_web, "WEB_DIST_DIR", folder)
    return folder


@pytest.fixture()
def client(tmp_path: Path):
    with TestClient(create_app(Settings(data=tmp_path / "data"))) as test_client:
        yield test_client


def test_unbuilt_ui_says_how_to_build_it(dist: Path, client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "npm ci &amp;&amp; npm run build" in response.text


def test_built_ui_and_its_assets_are_served(dist: Path, client: TestClient) -> None:
    (dist / "ui").mkdir(parents=True)
    (dist / "index.html").write_text('<script src="/ui/app-1234.js"></script>')
    (dist / "ui" / "app-1234.js").write_text("console.log('lipforge')")
    page = client.get("/")
    assert page.text.startswith("<script") and page.headers["cache-control"] == "no-cache"
    script = client.get("/ui/app-1234.js")
    assert script.text == "console.log('lipforge')"
    assert "javascript" in script.headers["content-type"]
    assert "immutable" in script.headers["cache-control"]
    assert client.get("/ui/missing.js").status_code == 404


def test_no_file_outside_the_build_is_served(dist: Path, client: TestClient) -> None:
    (dist / "ui").mkdir(parents=True)
    (dist / "secret.txt").write_text("not for the web")
    for path in ("/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui/..%2fsecret.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "not for the web" not in response.text


def test_built_files_go_out_precompressed_as_the_browser_asks(
    dist: Path, client: TestClient
) -> None:
    """Issue 21: the build's .br/.gz copies, `Vary`, the long cache kept, Range still works."""
    source = ("export const greeting = '你好';\n" * 400).encode()
    (dist / "ui").mkdir(parents=True)
    (dist / "ui" / "main-AB12.js").write_bytes(source)
    (dist / "ui" / "main-AB12.js.gz").write_bytes(gzip.compress(source))
    (dist / "ui" / "main-AB12.js.br").write_bytes(b"brotli stand-in")
    url = "/ui/main-AB12.js"
    brotli = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert brotli.headers["content-encoding"] == "br" and brotli.content == b"brotli stand-in"
    assert "javascript" in brotli.headers["content-type"]
    assert "immutable" in brotli.headers["cache-control"]
    assert brotli.headers["vary"] == "Accept-Encoding"
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, br;q=0"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == source  # decoded
    assert int(zipped.headers["content-length"]) < len(source) / 4
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == source
    ranged = client.get(url, headers={"Accept-Encoding": "identity", "Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == source[:10]
    assert client.get("/ui/main-AB12.js.gz").status_code == 404  # only as an encoding


def test_json_is_gzipped_on_the_fly_and_event_streams_are_not(client: TestClient) -> None:
    spec = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip"
    assert int(spec.headers["content-length"]) < len(spec.content) / 3
    assert spec.json()["openapi"].startswith("3.")
    plain = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
