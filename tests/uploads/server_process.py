"""A real uvicorn server in a subprocess, for tests that need sockets, stalls and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.serving import free_port

HERE = Path(__file__).parent
START_TIMEOUT_S = 90.0  # importing the app takes seconds; more on a loaded machine


class ServerProcess:
    """`uvicorn app_factory:build` on a free loopback port with the given LIPFORGE_* env."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"uvicorn-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = dict(os.environ, LIPFORGE_DATA=str(self.data_dir))
        env.update({f"LIPFORGE_{key.upper()}": value for key, value in self.settings.items()})
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "app_factory:build",
            "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning",
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not answer /api/health in time")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
