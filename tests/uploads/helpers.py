"""Small helpers the upload tests share: send a whole file, wait for its asset, hash files."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

TUS = {"Tus-Resumable": "1.0.0"}
ASSET_WAIT_S = 30.0


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metadata_for(name: str) -> str:
    return f"filename {base64.b64encode(name.encode()).decode()}"


def send_file(client, path: Path, chunk_bytes: int = 64 * 1024, name: str | None = None) -> str:
    """Create an upload for `path` and PATCH it whole; its URL. `client` is httpx-like."""
    data = path.read_bytes()
    created = client.post(
        "/api/uploads/",
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_for(name or path.name),
        },
    )
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    for offset in range(0, len(data), chunk_bytes):
        response = client.patch(
            url,
            content=data[offset : offset + chunk_bytes],
            headers={
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert response.status_code == 204, response.text
    return url


def wait_for_result(client, url: str) -> dict:
    """Poll GET <upload> until the upload became an asset or was refused."""
    deadline = time.monotonic() + ASSET_WAIT_S
    while time.monotonic() < deadline:
        status = client.get(url).json()
        if status["state"] in ("done", "refused"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"upload {url} was not imported in {ASSET_WAIT_S} s: {status}")


def asset_sha256(client, asset_id: str) -> str:
    response = client.get(f"/api/assets/{asset_id}/content")
    assert response.status_code == 200
    return hashlib.sha256(response.content).hexdigest()
