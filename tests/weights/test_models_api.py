"""`GET /api/models` and `POST /api/models/{name}/pull` with progress on the event log."""

from __future__ import annotations

import hashlib
import random
import time

from fastapi.testclient import TestClient
from tests.weights.fileserver import Behaviour, FileServer

from lipforge.api.app import create_app
from lipforge.config import Settings
from lipforge.events import events_since
from lipforge.weights.registry import ModelEntry, ModelFile, save_custom_entry

TOKEN = "models-api-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SIZE_BYTES = 2 * 1024 * 1024


def _wait_for(client: TestClient, name: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        model = client.get(f"/api/models/{name}", headers=AUTH).json()
        if model["pull"] and model["pull"]["status"] != "running":
            return model
        time.sleep(0.1)
    raise AssertionError(f"the pull of {name} did not finish")


def test_list_shows_the_registry_with_licences(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path, token=TOKEN))) as client:
        models = {m["name"]: m for m in client.get("/api/models", headers=AUTH).json()["models"]}
    assert models["wav2lip_gan"]["installed"] is False
    assert "NON-COMMERCIAL" in models["wav2lip_gan"]["licence"]
    assert models["wav2lip_gan"]["pinned"] and not models["wav2lip_gan_96"]["pinned"]


def test_unknown_model_is_404(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path, token=TOKEN))) as client:
        answer = client.post("/api/models/nope/pull", headers=AUTH)
    assert answer.status_code == 404 and "Known models" in answer.json()["message"]


def test_pull_on_the_server_publishes_progress_events(tmp_path):
    payload = random.Random(2).randbytes(SIZE_BYTES)
    settings = Settings(data=tmp_path, token=TOKEN)
    with FileServer(Behaviour(rate_bps_per_connection=512 * 1024)) as server:
        server.put("/tiny.onnx", payload)
        model_file = ModelFile(
            "tiny.onnx", server.url("/tiny.onnx"), sha256=hashlib.sha256(payload).hexdigest()
        )
        entry = ModelEntry("tiny", "custom", "test model", "test licence", (model_file,), True)
        save_custom_entry(settings.data_dir.models, entry)
        with TestClient(create_app(settings)) as client:
            started = client.post("/api/models/tiny/pull", headers=AUTH)
            assert started.status_code == 202 and started.json()["status"] == "running"
            again = client.post("/api/models/tiny/pull", headers=AUTH)
            assert again.json()["status"] == "running"
            model = _wait_for(client, "tiny")
            events = events_since(client.app.state.sessions, 0)
    assert model["pull"]["status"] == "done" and model["installed"] and model["verified"]
    kinds = [e.kind for e in events if e.payload.get("model") == "tiny"]
    assert kinds[0] == "model.pull_started" and kinds[-1] == "model.pulled"
    progress = [e.payload for e in events if e.kind == "model.progress"]
    assert any(0 < p["done_bytes"] < SIZE_BYTES for p in progress)
    assert kinds.count("model.pull_started") == 1  # the second POST joined the running pull


def test_a_failed_pull_says_why(tmp_path):
    settings = Settings(data=tmp_path, token=TOKEN)
    with FileServer() as server:
        server.put("/bad.onnx", b"x" * 1000)
        model_file = ModelFile("bad.onnx", server.url("/bad.onnx"), sha256="0" * 64)
        entry = ModelEntry("bad", "custom", "test model", "test licence", (model_file,), True)
        save_custom_entry(settings.data_dir.models, entry)
        with TestClient(create_app(settings)) as client:
            client.post("/api/models/bad/pull", headers=AUTH)
            model = _wait_for(client, "bad")
    assert model["pull"]["status"] == "failed" and "sha256" in model["pull"]["error"]
    assert not model["installed"]
