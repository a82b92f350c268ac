"""Real processes for the deployment tests: Debian's nginx running deploy/nginx/lipforge.conf
(ports and certificate swapped for the test's own), and `lipforge serve` API processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.serving import free_port

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO / "deploy" / "nginx" / "lipforge.conf"
LIPFORGE = Path(sys.executable).parent / "lipforge"
TOKEN = "deploy-test-token-0123456789"
START_TIMEOUT_S = 90.0


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (clients trust it explicitly)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def substitute(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    """`re.sub` that insists the shipped file still has what the test swaps."""
    new, made = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert made == count, f"{SHIPPED_CONF.name}: expected {count} match(es) of {pattern!r}"
    return new


def render_site_conf(
    https_port: int, http_port: int, api_ports: list[int], cert: Path, key: Path
) -> str:
    """The shipped file with loopback listeners, the test's upstreams and certificate."""
    text = SHIPPED_CONF.read_text()
    text = substitute(text, r"^\s*listen \[::\]:\d+.*\n", "", count=2)
    text = substitute(text, r"listen 80;", f"listen 127.0.0.1:{http_port};")
    text = substitute(text, r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    text = substitute(text, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};")
    text = substitute(text, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};")
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in api_ports
    )
    return substitute(text, r"(    server 127\.0\.0\.1:786\d .*\n)+", servers)


@dataclass
class Nginx:
    prefix: Path
    site_conf: str
    https_port: int
    process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        (self.prefix / "lipforge.conf").write_text(self.site_conf)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.prefix / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.prefix}/nginx.pid;\n"
            f"error_log {self.prefix}/logs/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n"
            f"  client_body_temp_path {self.prefix}/client_body;\n"
            f"  proxy_temp_path {self.prefix}/proxy;\n"
            f"  include {self.prefix}/lipforge.conf;\n}}\n"
        )
        command = ["nginx", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen([*command, "-g", "daemon off;"])
        _wait_for_port(self.https_port, self.process, self.prefix / "logs" / "error.log")
        return self

    def stop(self) -> None:
        _stop(self.process)

    @property
    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""


@dataclass
class ApiProcess:
    """`lipforge serve --no-worker --behind-proxy` on a loopback port, with its own metrics dir."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        metrics_dir = self.data_dir.parent / f"metrics-{self.port}"
        env = {
            **os.environ,
            "LIPFORGE_TOKEN": TOKEN,
            "LIPFORGE_MIN_FREE_DISK_BYTES": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **self.env,
        }
        log = open(self.data_dir.parent / f"serve-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(LIPFORGE), "serve", "--no-worker", "--behind-proxy",
             "--port", str(self.port), "--data", str(self.data_dir)],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
        return self

    def wait_ready(self) -> ApiProcess:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "lipforge serve exited; see serve-*.log"
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"lipforge serve on port {self.port} did not start")

    def metric(self, name: str) -> float:
        """The sum of a metric's samples, read from this process directly."""
        text = httpx.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        _stop(self.process)


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text() if log.exists() else "nginx exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nginx did not listen on {port}")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def nginx_available() -> bool:
    return shutil.which("nginx") is not None
