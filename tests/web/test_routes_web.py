"""`/` and `/ui/*`: the built UI is served, an unbuilt one says how to build it, and no path
outside the build can be read."""

from __future__ import annotations

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
