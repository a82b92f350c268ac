"""A refused upload says why with a stable code and the values it names, so the browser can
translate the reason (GET /api/uploads/{id}: error_code, error_params with the user's file name)."""

from __future__ import annotations

import base64
import time

from fastapi.testclient import TestClient

from lipforge.api.app import create_app

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
INGEST_WAIT_S = 30.0


def test_a_refused_upload_keeps_its_code_and_params(settings) -> None:
    data = b"not a video at all\n" * 100
    metadata = "filename " + base64.b64encode("讲座 garbage.mp4".encode()).decode()
    with TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/uploads/",
            headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata},
        )
        url = created.headers["location"]
        patched = client.patch(url, content=data, headers=CHUNK)
        assert patched.status_code == 204
        deadline = time.monotonic() + INGEST_WAIT_S
        while (status := client.get(url, headers=TUS).json())["state"] == "processing":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert status["state"] == "refused"
    assert status["error_code"] == "not_media"
    assert status["error_params"] == {"file": "讲座 garbage.mp4"}
    assert status["error"].startswith("讲座 garbage.mp4 is not an audio or video file")
