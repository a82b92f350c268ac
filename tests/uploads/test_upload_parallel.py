"""`lipforge upload` over long, thin links: parallel parts joined by concatenation, each part
resuming on its own after an interruption; the CLI's resume and interrupt messages.

A real server (uvicorn, `live_server`) behind an in-process proxy that paces each connection
(`throttle.py`), so an interruption reliably lands mid-upload.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import httpx
import pytest

from lipforge.uploads.client import MIN_PART_BYTES, PARALLEL_THRESHOLD_BYTES, TusUploader

from .throttle import ThrottledProxy

MIB = 1024 * 1024
LIPFORGE = [sys.executable, "-c", "from lipforge.launcher import main; main()"]


def write_noise_wav(path: Path, size_bytes: int) -> Path:
    """A valid WAV (48 kHz stereo, 16 bit) of random samples, about `size_bytes` long."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(os.urandom(size_bytes - size_bytes % 4))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CountingTransport(httpx.HTTPTransport):
    """Counts PATCH body bytes and Upload-Concat POSTs."""

    def __init__(self, round_trip_s: float = 0.0) -> None:
        super().__init__()
        self.patched_bytes, self.partial_posts, self.final_posts = 0, 0, 0
        self.round_trip_s = round_trip_s  # added to every request: a distant server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.round_trip_s)
        if request.method == "PATCH":
            self.patched_bytes += len(request.read())
        concat = request.headers.get("upload-concat", "")
        self.partial_posts += concat == "partial"
        self.final_posts += concat.startswith("final;")
        return super().handle_request(request)


def wait_for_file(path: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Until the upload has been created (its URL is remembered): start-up is over."""
    deadline = time.monotonic() + timeout_s
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), "the upload did not start"


def asset_sha256(server_url: str, asset_id: str) -> str:
    content = httpx.get(f"{server_url}/api/assets/{asset_id}/content", timeout=60).content
    return hashlib.sha256(content).hexdigest()


def test_parallel_parts_resume_each_on_their_own_and_join(live_server, tmp_path):
    source = write_noise_wav(tmp_path / "noise.wav", 3 * MIN_PART_BYTES + 12_345)
    size = source.stat().st_size
    reports: list[int] = []

    def stop_half_way(done: int, _total: int) -> None:
        reports.append(done)
        if done > size // 2:
            raise KeyboardInterrupt

    with ThrottledProxy(live_server.port, 8 * MIB) as proxy:  # uploads are kept per server URL
        first = TusUploader(proxy.url, state_dir=tmp_path / "state", chunk_bytes=MIB)
        with pytest.raises(KeyboardInterrupt):
            first.upload(source, stop_half_way, parallel=3)
        first.close()
        sent_before = max(reports)

        counting = CountingTransport()
        again = TusUploader(
            proxy.url, state_dir=tmp_path / "state", chunk_bytes=MIB, transport=counting
        )
        resumed: list[int] = []
        # without --parallel: a rerun takes the parts the killed run left
        asset_id = again.upload(source, lambda done, _total: resumed.append(done), parallel=None)
        again.close()

    assert resumed[0] >= sent_before - 3 * MIB  # each part lost at most its chunk in flight
    assert counting.partial_posts == 0 and counting.final_posts == 1  # the parts were resumed
    assert counting.patched_bytes <= size - resumed[0]
    assert asset_sha256(live_server.url, asset_id) == sha256_of(source)


def test_a_small_file_goes_in_one_upload(live_server, tmp_path, talking_head_512):
    counting = CountingTransport()
    uploader = TusUploader(live_server.url, state_dir=tmp_path / "s", transport=counting)
    asset_id = uploader.upload(talking_head_512, parallel=4)  # far under 4 parts' minimum
    uploader.close()
    assert counting.partial_posts == 0 and counting.final_posts == 0
    assert asset_sha256(live_server.url, asset_id) == sha256_of(talking_head_512)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_interrupted_says_how_to_resume_and_the_rerun_resumes(
    live_server, tmp_path, stop_signal
):
    source = write_noise_wav(tmp_path / "talk.wav", 24 * MIB)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), COLUMNS="200")
    with ThrottledProxy(live_server.port, 2 * MIB) as proxy:
        command = [*LIPFORGE, "upload", str(source), "--server", proxy.url, "--chunk-mib", "1"]
        process = subprocess.Popen(
            [*command, "--parallel", "1"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_file(tmp_path / "xdg" / "lipforge" / "upload-urls.json", process)
        time.sleep(1.5)  # a few MiB at 2 MiB/s
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stdout + stderr
        assert "run the same command again to resume" in stdout + stderr
        assert "Traceback" not in stdout + stderr

        proxy.rate_bps = 256 * MIB  # the link is back (the URL is the same: it resumes)
        rerun = subprocess.run(
            [*command, "--parallel", "1"], env=env, capture_output=True, text=True, timeout=120
        )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "talk.wav: resuming at " in rerun.stdout, rerun.stdout
    assert " MiB of 24.0 MiB" in rerun.stdout


@pytest.mark.parametrize(("round_trip_s", "parts"), [(0.0, 1), (0.03, 4)])
def test_by_default_a_big_file_goes_in_parts_only_to_a_distant_server(
    live_server, tmp_path, round_trip_s, parts
):
    """One stream fills loopback or a LAN (parts would only cost the server a copy); across
    a country the round trip caps a stream, and 4 parts go 4 times as fast."""
    source = write_noise_wav(tmp_path / "noise.wav", PARALLEL_THRESHOLD_BYTES + 12_345)
    counting = CountingTransport(round_trip_s)
    uploader = TusUploader(live_server.url, state_dir=tmp_path / "s", transport=counting)
    asset_id = uploader.upload(source, parallel=None)
    uploader.close()
    assert counting.partial_posts == (parts if parts > 1 else 0)
    assert counting.final_posts == (1 if parts > 1 else 0)
    assert asset_sha256(live_server.url, asset_id) == sha256_of(source)
