"""A HeyGem client against a real `lipforge serve --heygem-port --heygem-tts-port` process.

One server (with its worker) for the module; the restart test stops and starts it again.
Media are short generated clips (256x256, ~2 s of espeak speech).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from heygem_client import HeyGemClient
from heygem_files import serve_files
from tests.support.serving import free_port

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 90.0
FILE_HOST = "127.0.0.2"  # a loopback address the server may fetch from; 127.0.0.1 stays refused


class ServerProcess:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.ports = {"main": free_port(), "heygem": free_port(), "tts": free_port()}
        self.process: subprocess.Popen | None = None
        self.output = ""

    @property
    def heygem_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['heygem']}"

    @property
    def tts_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['tts']}"

    def start(self) -> None:
        env = {**os.environ, "LIPFORGE_HEYGEM_FETCH_ALLOW": f"{FILE_HOST}/32"}
        command = [LIPFORGE, "serve", "--data", str(self.data), "--port", str(self.ports["main"]),
                   "--heygem-port", str(self.ports["heygem"]),
                   "--heygem-tts-port", str(self.ports["tts"])]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited early: {self.process.stdout.read()}")
            try:
                httpx.get(f"{self.heygem_url}/easy/query?code=probe", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        pytest.fail("the HeyGem port did not answer in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        self.output += output


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("heygem") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.output, server.output


@pytest.fixture(scope="module")
def media(tmp_path_factory, make_talking_head, make_speech, no_face_video):
    folder = tmp_path_factory.mktemp("heygem-media")
    return {
        "face": make_talking_head(folder / "face.mp4", 2.0, (256, 256)),
        "speech": make_speech(folder / "speech.wav", "Hello, this is a test.", "en-us"),
        "no_face": no_face_video,
    }


@pytest.fixture(scope="module")
def client(server, media) -> HeyGemClient:
    temp = server.data / "heygem" / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    for name in ("face", "speech", "no_face"):
        shutil.copyfile(media[name], temp / media[name].name)
    return HeyGemClient(server.heygem_url, server.data / "heygem")


def assert_mp4(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000, path
    assert path.read_bytes()[4:8] == b"ftyp"


def test_bad_submits_answer_10002_with_a_reason(client):
    cases = {
        b'{"code": "x", "audio_url":': "not JSON",
        json.dumps({"code": "x", "audio_url": "speech.wav"}).encode(): "video_url",
        json.dumps(
            {"code": "x", "audio_url": "../../../../etc/passwd", "video_url": "face.mp4"}
        ).encode(): "outside the HeyGem root",  # fmt: skip
        json.dumps(
            {"code": "x", "audio_url": "http://127.0.0.1:9/a.wav", "video_url": "face.mp4"}
        ).encode(): "loopback",  # fmt: skip
        json.dumps(
            {"code": "x", "audio_url": "file:///etc/passwd", "video_url": "face.mp4"}
        ).encode(): "file://",  # fmt: skip
    }
    for raw, reason in cases.items():
        answer = client.post_raw(raw)
        assert answer["code"] == 10002 and answer["success"] is False, answer
        assert reason in answer["msg"], answer
    assert client.query("never-submitted")["code"] == 10004


def test_three_jobs_at_once_all_finish_across_a_restart(server, client):
    codes = [f"three-{index}" for index in range(3)]
    answers: dict[str, dict] = {}

    def submit(code: str) -> None:
        answers[code] = client.submit(code, "speech.wav", "/code/data/temp/face.mp4")

    threads = [threading.Thread(target=submit, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answers[code]["code"] == 10000 for code in codes), answers

    wait_until_rendering(client, codes[0])  # then restart: one job mid-render, two queued
    server.stop()
    server.start()
    for code in codes:
        data = client.wait(code, JOB_TIMEOUT_S)
        assert data["status"] == 2, data
        assert data["result"] == f"/{code}-r.mp4" and data["progress"] == 100
        assert data["video_duration"] > 1000 and (data["width"], data["height"]) == (256, 256)
        assert_mp4(client.result_file(data))
    again = client.query(codes[0])["data"]  # a finished task keeps answering
    assert again["status"] == 2
    assert httpx.get(again["result_url"]).content == client.result_file(again).read_bytes()


def wait_until_rendering(client: HeyGemClient, code: str) -> None:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        data = client.query(code)["data"]
        if data["status"] == 2 or (data["status"] == 1 and data["progress"] >= 10):
            return
        time.sleep(0.2)
    raise AssertionError(f"{code} did not start rendering")


def test_a_video_without_a_face_ends_with_status_3_and_its_reason(client, media):
    assert client.submit("faceless", "speech.wav", media["no_face"].name)["code"] == 10000
    data = client.wait("faceless", JOB_TIMEOUT_S)
    assert data["status"] == 3 and "face" in data["msg"].lower(), data


def test_inputs_downloaded_from_an_allowed_http_server(client, media):
    with serve_files(media["face"].parent, FILE_HOST) as base:
        answer = client.submit(
            "downloaded", f"{base}/files/speech.wav", f"{base}/redirect?to={base}/files/face.mp4"
        )
        assert answer["code"] == 10000, answer
        data = client.wait("downloaded", JOB_TIMEOUT_S)  # downloaded after the answer
    assert data["status"] == 2, data
    assert_mp4(client.result_file(data))


def test_tts_text_to_wav_then_used_as_audio_url(server, client):
    body = {"speaker": "3f0c", "text": "你好，欢迎使用。", "format": "wav", "topP": 0.7,
            "reference_audio": "origin_audio/x.wav", "reference_text": "x"}  # fmt: skip
    assert httpx.get(f"{server.tts_url}/v1/health").json() == {"status": "ok"}
    response = httpx.post(f"{server.tts_url}/v1/invoke", json=body, timeout=120)
    assert response.status_code == 200, response.text
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    assert "reference_audio" in response.headers["x-lipforge-ignored"]
    (client.root / "temp" / "tts.wav").write_bytes(response.content)
    assert client.submit("spoken", "tts.wav", "face.mp4")["code"] == 10000
    data = client.wait("spoken", JOB_TIMEOUT_S)
    assert data["status"] == 2, data
    assert_mp4(client.result_file(data))
