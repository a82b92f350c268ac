"""Slow URLs: a download has an overall deadline and a minimum rate; /easy/submit answers at
once and downloads in the background, and a download that fails is status 3 with its reason."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from heygem_files import serve_files

from lipforge.api.app import create_app
from lipforge.config import Settings
from lipforge.heygem.errors import FetchFailedError
from lipforge.heygem.fetcher import fetch_limits, fetch_url
from lipforge.heygem.netguard import AddressPolicy, parse_networks

ALLOW_127_0_0_2 = AddressPolicy(parse_networks(["127.0.0.2/32"], "test"))
DEADLINE_S = 3.0
SUBMITS = 8  # more than asyncio's default thread pool had free on the two-core test machine
ANSWER_S = 5.0  # a loaded two-core machine; the trickle itself lasts 120 s


def test_a_trickling_url_ends_at_its_deadline_with_a_reason(tmp_path):
    with serve_files(tmp_path) as base:
        started = time.monotonic()
        with pytest.raises(FetchFailedError, match="minimum|deadline"):
            fetch_url(
                f"{base}/trickle", tmp_path / "got", ALLOW_127_0_0_2, 10**6,
                fetch_limits(DEADLINE_S, min_rate_bps=1000),
            )  # fmt: skip
    assert time.monotonic() - started < DEADLINE_S + 2.0


@pytest.fixture
def face(tmp_path, talking_head_512):
    temp = tmp_path / "data" / "heygem" / "temp"
    temp.mkdir(parents=True)
    (temp / "face.mp4").write_bytes(talking_head_512.read_bytes())


def test_submit_answers_at_once_and_a_slow_download_fails_as_status_3(tmp_path, face):
    settings = Settings(
        data=tmp_path / "data",
        heygem_fetch_allow=("127.0.0.2/32",),
        heygem_fetch_deadline_s=DEADLINE_S,
        heygem_fetch_min_rate_bps=1000,
    )
    with serve_files(tmp_path) as base, TestClient(create_app(settings)) as api:
        for number in range(SUBMITS):
            body = {"code": f"slow-{number}", "audio_url": f"{base}/trickle",
                    "video_url": "face.mp4"}  # fmt: skip
            started = time.monotonic()
            answer = api.post("/easy/submit", content=json.dumps(body)).json()
            assert answer["code"] == 10000, answer
            assert time.monotonic() - started < ANSWER_S, "the submit waited for the download"
        started = time.monotonic()
        assert api.get("/api/assets").status_code == 200  # thread-backed routes still answer
        assert api.get("/easy/query", params={"code": "slow-0"}).json()["data"]["status"] == 1
        assert time.monotonic() - started < ANSWER_S
        ended = wait_for_status(api, f"slow-{SUBMITS - 1}", 3, 4 * DEADLINE_S + 20)
    assert "audio_url" in ended["msg"] or "trickle" in ended["msg"], ended
    assert "minimum" in ended["msg"] or "deadline" in ended["msg"], ended


def wait_for_status(api, code: str, status: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = api.get("/easy/query", params={"code": code}).json()["data"]
        if data["status"] == status:
            return data
        time.sleep(0.5)
    pytest.fail(f"{code} never reached status {status}: {data}")
