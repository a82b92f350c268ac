"""Fixtures for the tus server tests: an in-process app client and a real uvicorn server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.config import Settings

from .server_process import ServerProcess

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
UPLOADS = "/api/uploads/"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data=tmp_path / "data", min_free_disk_bytes=0)


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a started TestClient for Settings(data=tmp/data, **overrides)."""
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        values = {"data": tmp_path / "data", "min_free_disk_bytes": 0, **overrides}
        client = TestClient(create_app(Settings(**values)))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api) -> TestClient:
    return make_api()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server per test module (starting one takes seconds)."""
    root = tmp_path_factory.mktemp("live")
    server = ServerProcess(root / "data", min_free_disk_bytes="0").start()
    yield server
    server.stop()


def create(api: TestClient, length: int | None = None, **headers: str):
    """POST a new upload; the response (Location in headers)."""
    sent = dict(TUS)
    if length is not None:
        sent["Upload-Length"] = str(length)
    sent.update({key.replace("_", "-"): value for key, value in headers.items()})
    return api.post(UPLOADS, headers=sent)


def patch(api: TestClient, url: str, offset: int, data: bytes, **headers: str):
    sent = {**OCTETS, "Upload-Offset": str(offset)}
    sent.update({key.replace("_", "-"): value for key, value in headers.items()})
    return api.patch(url, content=data, headers=sent)


def upload_path(response) -> str:
    """The path part of a Location header."""
    location = response.headers["location"]
    return location[location.index("/api/uploads/") :]
