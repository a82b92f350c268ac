"""JSON-lines logs: structured events, rotation, and the 4xx/5xx middleware on a real app."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from lipforge.logs import HttpErrorLogMiddleware, configure_logging, log_event


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_log_event_writes_one_json_object_per_line(tmp_path):
    log_path = configure_logging(tmp_path / "logs")
    log_event("inbox.imported", asset_id="abc", size_bytes=12)
    log_event("inbox.refused", logging.WARNING, name="x.mp4", reason="not media")
    entries = read_lines(log_path)
    assert [e["event"] for e in entries] == ["inbox.imported", "inbox.refused"]
    assert entries[0]["asset_id"] == "abc" and entries[0]["size_bytes"] == 12
    assert entries[1]["level"] == "warning" and entries[1]["reason"] == "not media"


def test_log_file_rotates_by_size(tmp_path):
    log_path = configure_logging(tmp_path, max_bytes=2000)
    for index in range(100):
        log_event("filler", index=index, text="x" * 50)
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert "lipforge.log.1" in rotated
    assert log_path.stat().st_size <= 2000


def test_reconfiguring_moves_the_log_to_the_new_dir(tmp_path):
    configure_logging(tmp_path / "a")
    second = configure_logging(tmp_path / "b")
    log_event("after.move")
    assert not (tmp_path / "a" / "lipforge.log").exists()
    assert read_lines(second)[0]["event"] == "after.move"


@pytest.fixture
def logged_app(tmp_path):
    app = FastAPI()

    @app.get("/api/ok")
    async def ok() -> dict:
        return {}

    @app.patch("/api/uploads/{upload_id}")
    async def conflict(upload_id: str) -> dict:
        raise HTTPException(status_code=409)

    @app.get("/api/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    app.add_middleware(HttpErrorLogMiddleware)
    return app, configure_logging(tmp_path)


def test_errors_are_logged_with_method_path_status_and_upload_id(logged_app):
    app, log_path = logged_app
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/ok").status_code == 200
        assert client.patch("/api/uploads/u123?x=1").status_code == 409
        assert client.get("/api/boom").status_code == 500
    entries = read_lines(log_path)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("PATCH", "/api/uploads/u123", 409),
        ("GET", "/api/boom", 500),
    ]
    assert entries[0]["upload_id"] == "u123"
    assert "kaput" in entries[1]["exception"]
