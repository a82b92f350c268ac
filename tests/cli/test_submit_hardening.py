"""`lipforge submit`/`watch` against what an outside test found (issue 11): a refused file in a
batch, a server restart mid-batch, and the batch bar's progress.

End to end against a real `lipforge serve` (API + worker) restarted on the same port and
data dir; the follower and the meter alone against fakes (`httpx.MockTransport`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.serving import free_port

from lipforge.cli.remote import BatchMeter, Reconnector, ServerUnreachableError, follow_batch

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 90.0


class Served:
    """`lipforge serve` on a fixed port and data dir that a test can stop and start again."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Served:
        log = (self.root / "serve.log").open("a")
        command = [LIPFORGE, "serve", "--data", str(self.root / "data"), "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.root / "serve.log").read_text()
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("serve did not answer /api/health in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture()
def served(tmp_path):
    server = Served(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def lipforge(tmp_path: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "client-state"), "COLUMNS": "160"}
    return subprocess.Popen(
        [LIPFORGE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def finish(process: subprocess.Popen, timeout_s: float = 300) -> str:
    output, _ = process.communicate(timeout=timeout_s)
    return output


@pytest.mark.slow
def test_a_refused_file_is_listed_and_the_others_still_render(
    served, tmp_path, speech_en_wav, make_talking_head, broken_garbage
):
    clip = make_talking_head(tmp_path / "good.mp4", 1.0, (256, 256))
    out = tmp_path / "results"
    process = lipforge(
        tmp_path, "submit", "--server", served.url, "--audio", str(speech_en_wav),
        "--video", str(clip), str(broken_garbage), "--fit", "loop", "--out", str(out),
    )  # fmt: skip
    output = finish(process)
    assert process.returncode == 1, output
    assert re.search(rf"refused\s+{re.escape(broken_garbage.name)} was refused: ", output), output
    assert "1 of 1 job(s) succeeded; 1 file(s) refused" in output
    assert sorted(p.name for p in out.iterdir()) == ["good-speech_en.mp4"]


@pytest.mark.slow
def test_submit_rides_out_a_restart_and_watch_collects_a_batch_that_ended_meanwhile(
    served, tmp_path, speech_en_wav, make_talking_head
):
    clips = [make_talking_head(tmp_path / f"c{i}.mp4", 1.0, (256, 256)) for i in range(2)]
    out = tmp_path / "results"
    process = lipforge(
        tmp_path, "submit", "--server", served.url, "--audio", str(speech_en_wav), "--video",
        *map(str, clips), "--fit", "loop", "--out", str(out), "--reconnect-s", "120",
    )  # fmt: skip
    _wait_for_batch(served.url)
    served.stop()
    time.sleep(3.0)  # the client meets a dead server for a while
    served.start()
    output = finish(process)
    assert process.returncode == 0, output
    assert "Trying again in" in output and "Reconnected to the server." in output
    saved = sorted(p.name for p in out.iterdir())  # the clips are alike: one asset, two jobs
    assert len(saved) == 2 and all(n.startswith("c0-speech_en") for n in saved), saved

    gave_up = lipforge(
        tmp_path, "submit", "--server", served.url, "--audio", str(speech_en_wav), "--video",
        str(clips[0]), "--fit", "trim", "--out", str(tmp_path / "x"), "--reconnect-s", "2",
    )  # fmt: skip
    batch_id = _wait_for_batch(served.url, skip=1)
    served.stop()
    output = finish(gave_up)
    assert gave_up.returncode == 7, output
    assert f"lipforge watch {batch_id} --out" in output and "Traceback" not in output

    served.start()  # the batch finishes while nobody watches
    later = tmp_path / "later"
    watched = lipforge(tmp_path, "watch", batch_id, "--server", served.url, "--out", str(later))
    output = finish(watched)
    assert watched.returncode == 0, output
    assert [p.name[:12] for p in later.iterdir()] == ["c0-speech_en"]  # the server's name


def _wait_for_batch(url: str, skip: int = 0) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        items = httpx.get(f"{url}/api/batches", timeout=5).json()["items"]
        if len(items) > skip:
            return items[0]["id"]
        time.sleep(0.2)
    raise AssertionError("no batch was created")


# --- the follower and the meter against fakes ------------------------------------------------


def _job(job_id: str, status: str, done: int = 0, total: int | None = None) -> dict:
    return {"id": job_id, "status": status, "output_name": f"{job_id}.mp4", "frames_done": done,
            "frames_total": total, "error_message": None}  # fmt: skip


def test_the_follower_waits_out_an_unreachable_server_and_says_so():
    calls: list[str] = []
    said: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/events":
            raise httpx.ConnectError("connection refused")
        if 2 <= len(calls) <= 6:  # the server restarts
            raise httpx.ConnectError("connection refused")
        status = "succeeded" if len(calls) > 6 else "running"
        batch = {"id": "b1", "last_event_id": 1, "frames_total": 10}
        return httpx.Response(200, json={**batch, "jobs": [_job("j1", status, 10, 10)]})

    reconnector = Reconnector(patience_s=60, on_wait=said.append, sleep=lambda _s: None)
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        final = follow_batch(client, "b1", lambda _b: None, 0.0, 0.0, reconnector=reconnector)
    assert final["jobs"][0]["status"] == "succeeded"
    assert any("Trying again in" in message for message in said)
    assert said[-1] == "Reconnected to the server."


def test_the_follower_gives_up_after_its_patience_with_exit_code_7():
    clock = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    reconnector = Reconnector(patience_s=5, sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    reconnector.reached = True
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        with pytest.raises(ServerUnreachableError) as caught:
            reconnector.call(lambda: follow_batch(client, "b1", lambda _b: None))
    assert caught.value.exit_code == 7 and "Gave up after trying for 5 s" in str(caught.value)


def test_the_batch_bar_shows_the_servers_weighted_progress_and_never_goes_back():
    meter = BatchMeter()
    batch = {"id": "b", "frames_total": 300, "progress": 0.3, "jobs": [
        _job("a", "running", 90, 100), _job("b", "queued"), _job("c", "queued")]}  # fmt: skip
    assert meter.update(batch) == pytest.approx(batch["progress"])  # not 90 %: queued jobs weigh

    batch["jobs"][0].update(status="succeeded", frames_done=100)
    batch["jobs"][1].update(status="running", frames_total=1000)  # far longer than estimated
    assert meter.update(batch) == pytest.approx(0.3)  # (100 + 0) / 1200 would go backwards
    batch["jobs"][1]["frames_done"] = 1000
    assert meter.update(batch) == pytest.approx(1100 / 1200)
