"""A HeyGem client written the way the public ones are (ComfyUI node, Duix.Avatar, schedulers).

It posts the JSON body as raw bytes without a Content-Type (as `requests.post(url, data=
json.dumps(...))` does), reads the body after any HTTP 200, polls `/easy/query` every second
until status 2 or 3, then opens `<root>/temp/<code>-r.mp4` itself. It never imports lipforge.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

POLL_INTERVAL_S = 1.0
SERVICE_DICT = {
    9999: "System abnormality",
    10000: "Succeeded",
    10001: "Engaged in another task",
    10002: "Parameter exception",
    10003: "Get lock exception",
    10004: "Task does not exist",
}


class HeyGemClient:
    def __init__(self, base_url: str, root: Path) -> None:
        self.base_url = base_url.rstrip("/")
        self.root = root

    def submit(self, code: str, audio_url: str, video_url: str, **options) -> dict:
        body = {"audio_url": audio_url, "video_url": video_url, "code": code, "pn": 1,
                "watermark_switch": 0, "digital_auth": 0, "chaofen": 0, **options}  # fmt: skip
        return self.post_raw(json.dumps(body).encode())

    def post_raw(self, raw: bytes) -> dict:
        response = httpx.post(f"{self.base_url}/easy/submit", content=raw, timeout=120)
        assert response.status_code == 200, f"broken server: HTTP {response.status_code}"
        return response.json()

    def query(self, code: str) -> dict:
        response = httpx.get(f"{self.base_url}/easy/query", params={"code": code}, timeout=30)
        assert response.status_code == 200, f"broken server: HTTP {response.status_code}"
        return response.json()

    def wait(self, code: str, timeout_s: float, on_poll=None) -> dict:
        """Poll every second until status 2 or 3 (ComfyUI's loop); the last `data`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                answer = self.query(code)
            except httpx.TransportError:  # the server is restarting: try again
                time.sleep(POLL_INTERVAL_S)
                continue
            assert answer["code"] == 10000, SERVICE_DICT.get(answer["code"], answer)
            if on_poll is not None:
                on_poll(answer["data"])
            if answer["data"]["status"] in (2, 3):
                return answer["data"]
            time.sleep(POLL_INTERVAL_S)
        raise AssertionError(f"task {code} did not end within {timeout_s} s")

    def result_file(self, data: dict) -> Path:
        """Where HeyGem clients open the result: `data.result` under `<root>/temp`."""
        return self.root / "temp" / data["result"].lstrip("/")
