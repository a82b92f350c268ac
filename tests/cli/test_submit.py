"""`lipforge submit` and `lipforge watch` as a user runs them, and the batch follower behind them.

The end-to-end tests run a real `lipforge serve` (API + worker process) and the real
CLI as subprocesses on short clips. The follower's reconnect and polling fallback are
tested against a fake server at the transport level (`httpx.MockTransport`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx
import pytest
from tests.support.serving import free_port

from lipforge.cli.remote import follow_batch

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 60.0
SUBMIT_TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real `lipforge serve` with its worker process, on loopback; yields its base URL."""
    tmp_path = tmp_path_factory.mktemp("served")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [LIPFORGE, "serve", "--data", str(tmp_path / "server-data"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(process, url, tmp_path / "serve.log")
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for_health(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("serve did not answer /api/health in time")


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "client-state"), "COLUMNS": "160"}
    return subprocess.run(
        [LIPFORGE, *args], capture_output=True, text=True, timeout=SUBMIT_TIMEOUT_S, env=env
    )


def playable_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.streams.video and container.streams.audio
        return float(container.duration) / av.time_base


@pytest.mark.slow
def test_submit_renders_downloads_and_reports_the_failure(
    served, tmp_path, speech_en_wav, talking_head_512, no_face_video
):
    out = tmp_path / "results"
    result = run_cli(
        tmp_path,
        "submit",
        "--server", served,
        "--audio", str(speech_en_wav),
        "--video", str(talking_head_512), str(no_face_video),
        "--out", str(out),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert sorted(p.name for p in out.iterdir()) == ["head_512-speech_en.mp4"]
    assert playable_seconds(out / "head_512-speech_en.mp4") > 1.0
    assert re.search(r"failed\s+coffee-speech_en\.mp4: no face found", output), output
    assert "1 of 2 job(s) succeeded" in output

    batch_id = re.search(r"Batch ([0-9a-f]{32})", output).group(1)
    watched = run_cli(tmp_path, "watch", batch_id, "--server", served)
    assert watched.returncode == 1
    assert "coffee-speech_en.mp4: no face found" in watched.stdout


@pytest.mark.slow
def test_submit_exits_zero_when_everything_succeeds(
    served, tmp_path, speech_en_wav, make_talking_head
):
    clip = make_talking_head(tmp_path / "short.mp4", 1.0, (256, 256))
    out = tmp_path / "results"
    result = run_cli(
        tmp_path, "submit", "--server", served, "--audio", str(speech_en_wav),
        "--video", str(clip), "--fit", "loop", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert playable_seconds(out / "short-speech_en.mp4") > 1.0  # looped to the audio's length

    again = run_cli(
        tmp_path, "submit", "--server", served, "--audio", str(speech_en_wav),
        "--video", str(clip), "--fit", "loop", "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "on server short.mp4" in again.stdout and "upload short.mp4" not in again.stdout


def test_submit_refuses_a_missing_file_before_uploading(tmp_path):
    result = run_cli(
        tmp_path, "submit", "--server", "http://127.0.0.1:9", "--audio", str(tmp_path / "nope.wav"),
        "--video", str(tmp_path / "nope.mp4"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "nope.wav" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_watch_of_an_unreachable_server_says_so(tmp_path):
    result = run_cli(tmp_path, "watch", "0" * 32, "--server", f"http://127.0.0.1:{free_port()}")
    assert result.returncode != 0 and "Cannot reach the server" in result.stderr


# --- the follower against a fake server -----------------------------------------------------


def snapshot(status: str, frames_done: int, last_event_id: int = 5) -> dict:
    job = {
        "id": "j1",
        "status": status,
        "output_name": "out.mp4",
        "frames_done": frames_done,
        "frames_total": 100,
        "error_message": None,
    }
    return {"id": "b1", "last_event_id": last_event_id, "jobs": [job]}


def sse(*events: tuple[int, str, dict]) -> bytes:
    import json

    text = "".join(
        f"event: {kind}\nid: {event_id}\ndata: {json.dumps(data)}\n\n"
        for event_id, kind, data in events
    )
    return (": ping\n\n" + text).encode()


def test_follower_resumes_the_stream_with_last_event_id():
    seen_last_ids: list[str | None] = []
    progress = {"job": {"id": "j1", "status": "running", "frames_done": 40}}
    done = {"job": {"id": "j1", "status": "succeeded", "frames_done": 100}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/batches/b1":
            if len(seen_last_ids) >= 2:
                return httpx.Response(200, json=snapshot("succeeded", 100))
            return httpx.Response(200, json=snapshot("queued", 0))
        seen_last_ids.append(request.headers.get("last-event-id"))
        if len(seen_last_ids) == 1:  # the stream drops after one event
            body = sse((5, "stream.open", {}), (6, "job.progress", progress))
        else:
            body = sse((6, "stream.open", {}), (7, "job.succeeded", done))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    updates: list[dict] = []
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        final = follow_batch(client, "b1", lambda b: updates.append(_copy_job(b)), 0.01, 0.01)
    assert seen_last_ids == ["5", "6"]
    frames_seen = [u["frames_done"] for u in updates]
    assert sorted(set(frames_seen)) == [0, 40, 100] and frames_seen == sorted(frames_seen)
    assert final["jobs"][0]["status"] == "succeeded"


def test_follower_falls_back_to_polling_when_the_stream_is_broken():
    polls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/events":
            return httpx.Response(502, json={"message": "bad gateway"})
        polls.append(request.url.path)
        state = "succeeded" if len(polls) > 3 else "running"
        return httpx.Response(200, json=snapshot(state, 100 if state == "succeeded" else 10))

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        final = follow_batch(client, "b1", lambda _b: None, 0.01, 0.01)
    assert final["jobs"][0]["status"] == "succeeded" and len(polls) >= 4


def _copy_job(batch: dict) -> dict:
    return dict(batch["jobs"][0])


@pytest.mark.slow
def test_submit_sends_what_the_audio_says_and_the_worker_follows_it(
    served, tmp_path, speech_zh_wav, make_talking_head
):
    clip = make_talking_head(tmp_path / "short.mp4", 1.0, (256, 256))
    said = tmp_path / "said.txt"
    said.write_text("大家好。今天我们学习月亮和星星。\n", encoding="utf-8")
    result = run_cli(
        tmp_path, "submit", "--server", served, "--audio", str(speech_zh_wav),
        "--transcript", str(said), "--video", str(clip), "--out", str(tmp_path / "results"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    batch_id = re.search(r"Batch ([0-9a-f]{32})", result.stdout).group(1)
    (job,) = httpx.get(f"{served}/api/batches/{batch_id}").json()["jobs"]
    audio = httpx.get(f"{served}/api/assets/{job['audio_asset_id']}").json()
    assert audio["transcript"] == "大家好。今天我们学习月亮和星星。"
    log = httpx.get(f"{served}/api/jobs/{job['id']}/log").text
    assert "words: the audio's transcript" in log


def test_upload_keeps_the_transcript_with_its_audio(served, tmp_path, speech_en_wav):
    said = tmp_path / "said.txt"
    said.write_text("Hello everyone. Today we will talk about the moon.", encoding="utf-8")
    result = run_cli(
        tmp_path, "upload", str(speech_en_wav), "--transcript", str(said), "--server", served
    )
    assert result.returncode == 0, result.stdout + result.stderr
    asset_id = re.search(r"asset ([0-9a-f]{32}) \(with its transcript\)", result.stdout).group(1)
    asset = httpx.get(f"{served}/api/assets/{asset_id}").json()
    assert asset["transcript"] == "Hello everyone. Today we will talk about the moon."


def test_more_transcripts_than_audios_is_refused_before_uploading(tmp_path, speech_en_wav):
    said = tmp_path / "said.txt"
    said.write_text("hello", encoding="utf-8")
    result = run_cli(
        tmp_path, "upload", str(speech_en_wav), "--transcript", str(said),
        "--transcript", str(said), "--server", "http://127.0.0.1:9",
    )  # fmt: skip
    assert result.returncode == 2 and "one transcript per audio" in result.stderr
    assert "Traceback" not in result.stderr
