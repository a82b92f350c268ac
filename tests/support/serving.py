"""`lipforge serve` as a real subprocess on a free loopback port, for tests that need its
sockets, signals or start-up: started, waited for (/api/health), stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LIPFORGE = str(Path(sys.executable).parent / "lipforge")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def lipforge_serve(data: Path, *args: str, **env: str) -> Iterator[tuple[int, str]]:
    """`lipforge serve --no-worker --data DATA ARGS` with LIPFORGE_* settings from `env`
    (`header_timeout_s="1"` -> LIPFORGE_HEADER_TIMEOUT_S); yields (port, base URL)."""
    port = free_port()
    environment = dict(os.environ)
    environment.update({f"LIPFORGE_{key.upper()}": value for key, value in env.items()})
    command = [LIPFORGE, "serve", "--no-worker", "--data", str(data), "--port", str(port), *args]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"{base_url}/api/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield port, base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
