"""`lipforge serve` as a real subprocess: it answers /api/health and guards access."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
from tests.support.serving import free_port

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 30.0


def start_server(data: Path, *args: str, worker: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    no_worker = [] if worker else ["--no-worker"]
    process = subprocess.Popen(
        [LIPFORGE, "serve", "--data", str(data), "--port", str(port), *no_worker, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.stdout.read()}")
        try:
            if httpx.get(f"{base_url}/api/health", timeout=1.0).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("serve did not answer /api/health in time")


def stop_server(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    return output


def test_serve_on_loopback_answers_health_and_runs_open(tmp_path):
    process, base_url = start_server(tmp_path / "data")
    try:
        assert httpx.get(f"{base_url}/api/health").json()["status"] == "ok"
        assert httpx.get(f"{base_url}/api/assets").status_code == 200
    finally:
        output = stop_server(process)
    assert process.returncode in (0, 130) and "Traceback" not in output, output
    assert "Access: open" in output
    assert (tmp_path / "data" / "lipforge.db").exists()


def test_serve_starts_a_worker_process_and_stops_it_on_exit(tmp_path):
    process, base_url = start_server(tmp_path / "data", worker=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        children: list[psutil.Process] = []
        while not children and time.monotonic() < deadline:
            children = psutil.Process(process.pid).children(recursive=True)
            time.sleep(0.2)
        assert children, "serve started no worker process"
        assert httpx.get(f"{base_url}/api/health").status_code == 200
    finally:
        output = stop_server(process)
    assert "Traceback" not in output, output
    _, still_running = psutil.wait_procs(children, timeout=20)
    assert still_running == []


def test_serve_beyond_loopback_prints_a_token_once_and_requires_it(tmp_path):
    data = tmp_path / "data"
    process, base_url = start_server(data, "--host", "0.0.0.0")
    try:
        token = (data / "access_token").read_text().strip()
        assert httpx.get(f"{base_url}/api/assets").status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base_url}/api/assets", headers=bearer).status_code == 200
    finally:
        first_output = stop_server(process)
    assert token in first_output
    process, base_url = start_server(data, "--host", "0.0.0.0")
    second_output = stop_server(process)
    assert token not in second_output and "access_token" in second_output


def test_serve_refuses_a_weak_token_beyond_loopback(tmp_path):
    result = subprocess.run(
        [LIPFORGE, "serve", "--data", str(tmp_path), "--host", "0.0.0.0", "--no-worker"],
        capture_output=True,
        text=True,
        env={**os.environ, "LIPFORGE_TOKEN": "1234"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "at least 16" in result.stderr and "Traceback" not in result.stderr


def _open_stream(url: str, opened: threading.Event, ended: list[str]) -> None:
    """Read an event stream until the server ends it; note how it ended."""
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(30.0)) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    opened.set()
        ended.append("closed by the server")
    except httpx.HTTPError as exc:
        ended.append(f"{type(exc).__name__}")


def test_live_event_streams_end_at_once_when_serve_stops(tmp_path):
    """Browsers keep two streams open (jobs, machine); a restart must not wait for them: they
    are ended cleanly (the browser resumes with Last-Event-ID), not cut by a timeout."""
    process, base_url = start_server(tmp_path / "data")
    streams = []
    for path in ("/api/events", "/api/machine/events"):
        opened, ended = threading.Event(), []
        thread = threading.Thread(target=_open_stream, args=(base_url + path, opened, ended))
        thread.start()
        assert opened.wait(20), f"{path} sent no event"
        streams.append((path, thread, ended))
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    for path, thread, ended in streams:
        thread.join(10)
        assert ended == ["closed by the server"], (path, ended)
    assert process.returncode in (0, 130, -signal.SIGTERM), output
    assert "graceful shutdown exceeded" not in output and "Traceback" not in output, output
