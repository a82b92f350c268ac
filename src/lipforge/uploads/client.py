"""The tus client behind `lipforge upload` and `lipforge submit`: resumable, checksummed, patient.

`upload_file(server, token, path, progress)` sends one file in chunks (8 MiB by
default) with a sha1 checksum each, retries network errors and 5xx answers with
exponential backoff and jitter (the budget resets whenever bytes get through),
remembers the upload URL by file fingerprint in the user's data dir so a later run
resumes where a killed one stopped, then waits for the server to turn the upload
into an asset and returns its id. Not here: progress display (the CLI's).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx
from filelock import FileLock

from lipforge.errors import AuthError, LipforgeError

CHUNK_BYTES = 8 * 1024 * 1024
FINGERPRINT_SAMPLE_BYTES = 1024 * 1024
MAX_ATTEMPTS_WITHOUT_PROGRESS = 8
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
ASSET_POLL_INTERVAL_S = 0.5
ASSET_WAIT_S = 900.0
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RESUME_FILE_NAME = "upload-urls.json"
TUS_VERSION = "1.0.0"
GONE_STATUSES = (403, 404, 410)

ProgressCallback = Callable[[int, int], None]


class UploadFailedError(LipforgeError):
    """Raised when an upload cannot go on: the server keeps failing or rejects the request."""

    code = "upload_failed"
    exit_code = 7


class UploadRefusedError(LipforgeError):
    """Raised when every byte arrived but the server refused the file as media (with its reason)."""

    code = "upload_refused"
    http_status = 422
    exit_code = 3


class _RetryableError(Exception):
    """A network error or 5xx answer: wait and try again."""


class _UploadGoneError(Exception):
    """The server no longer knows the upload (expired, terminated): start a new one."""


@dataclass(frozen=True)
class _Chunk:
    offset_bytes: int
    data: bytes
    sha1_base64: str


def _read_chunk(fd: int, offset_bytes: int, chunk_bytes: int) -> _Chunk:
    data = os.pread(fd, chunk_bytes, offset_bytes)
    return _Chunk(offset_bytes, data, base64.b64encode(hashlib.sha1(data).digest()).decode())


class _ChunkReader:
    """Reads and hashes the next chunk in a thread while the current one is being sent."""

    def __init__(self, fd: int, chunk_bytes: int, size_bytes: int, pool: ThreadPoolExecutor):
        self.fd, self.chunk_bytes, self.size_bytes, self.pool = fd, chunk_bytes, size_bytes, pool
        self.ahead: Future | None = None

    def take(self, offset_bytes: int) -> _Chunk:
        chunk = self.ahead.result() if self.ahead is not None else None
        if chunk is None or chunk.offset_bytes != offset_bytes:
            chunk = _read_chunk(self.fd, offset_bytes, self.chunk_bytes)
        next_offset = offset_bytes + len(chunk.data)
        self.ahead = None
        if next_offset < self.size_bytes:
            self.ahead = self.pool.submit(_read_chunk, self.fd, next_offset, self.chunk_bytes)
        return chunk


def default_state_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lipforge"


def fingerprint(path: Path) -> str:
    """Identifies a file version cheaply: size, mtime and the sha256 of its first and last MiB."""
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_SAMPLE_BYTES))
        handle.seek(max(stat.st_size - FINGERPRINT_SAMPLE_BYTES, 0))
        digest.update(handle.read(FINGERPRINT_SAMPLE_BYTES))
    return digest.hexdigest()


@dataclass
class ResumeStore:
    """Upload URLs by (server, fingerprint), in one JSON file shared by concurrent runs."""

    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / RESUME_FILE_NAME

    def _update(self, change: Callable[[dict], None]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            entries = self._read()
            change(entries)
            temp = self.path.with_suffix(".tmp")
            temp.write_text(json.dumps(entries, indent=1))
            os.replace(temp, self.path)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def put(self, key: str, url: str) -> None:
        self._update(lambda entries: entries.__setitem__(key, url))

    def forget(self, key: str) -> None:
        self._update(lambda entries: entries.pop(key, None))


@dataclass
class TusUploader:
    """One server; uploads files one after another. `transport` lets tests fake the network."""

    server: str
    token: str | None = None
    chunk_bytes: int = CHUNK_BYTES
    state_dir: Path = field(default_factory=default_state_dir)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        headers = {"Tus-Resumable": TUS_VERSION}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.endpoint = self.server.rstrip("/") + "/api/uploads/"
        self.http = httpx.Client(headers=headers, timeout=REQUEST_TIMEOUT, transport=self.transport)
        self.resume = ResumeStore(self.state_dir)

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path, progress: ProgressCallback | None = None) -> str:
        """Send `path` (resuming an earlier run's upload) and return the asset id."""
        report = progress or (lambda _done, _total: None)
        key = f"{self.endpoint}|{fingerprint(path)}"
        try:
            url = self._send(path, key, report)
        except _UploadGoneError:
            self.resume.forget(key)
            url = self._send(path, key, report)
        self.resume.forget(key)
        return self._await_asset(url, path)

    def _send(self, path: Path, key: str, report: ProgressCallback) -> str:
        size = path.stat().st_size
        url = self.resume.get(key)
        offset = self._retrying(lambda: self._offset(url)) if url else None
        if url is None or offset is None:
            url = self._retrying(lambda: self._create(path, size))
            self.resume.put(key, url)
            offset = 0
        report(offset, size)
        with open(path, "rb") as handle, ThreadPoolExecutor(1) as reader:
            chunks = _ChunkReader(handle.fileno(), self.chunk_bytes, size, reader)
            failures = 0
            while offset < size:
                try:
                    new_offset = self._patch(url, chunks.take(offset))
                except _RetryableError as exc:
                    failures = self._back_off(failures, exc)
                    new_offset = self._retrying(lambda: self._offset(url))
                    if new_offset is None:
                        raise _UploadGoneError from exc
                if new_offset > offset:
                    failures = 0
                offset = new_offset
                report(offset, size)
        return url

    def _back_off(self, failures: int, exc: Exception) -> int:
        failures += 1
        if failures > MAX_ATTEMPTS_WITHOUT_PROGRESS:
            raise UploadFailedError(
                f"Gave up after {failures - 1} failed attempts without progress: {exc}. "
                "Run the same command again to resume."
            ) from exc
        delay_s = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
        self.sleep(delay_s * random.uniform(0.5, 1.5))
        return failures

    def _retrying(self, action: Callable[[], object]):
        failures = 0
        while True:
            try:
                return action()
            except _RetryableError as exc:
                failures = self._back_off(failures, exc)

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise _RetryableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 423:
            raise _RetryableError(f"{method} answered {response.status_code}")
        if response.status_code == 401:
            raise AuthError(f"{self.server} refused the token; pass --token or set LIPFORGE_TOKEN.")
        return response

    def _offset(self, url: str) -> int | None:
        """The server's offset for `url`, or None when the upload no longer exists."""
        response = self._request("HEAD", url, headers={"Cache-Control": "no-store"})
        if response.status_code in GONE_STATUSES:
            return None
        self._expect(response, 200, "HEAD")
        return int(response.headers["Upload-Offset"])

    def _create(self, path: Path, size: int) -> str:
        name = base64.b64encode(path.name.encode()).decode()
        headers = {"Upload-Length": str(size), "Upload-Metadata": f"filename {name}"}
        response = self._request("POST", self.endpoint, headers=headers)
        self._expect(response, 201, "POST")
        return urljoin(self.endpoint, response.headers["Location"])

    def _patch(self, url: str, chunk: _Chunk) -> int:
        headers = {
            "Upload-Offset": str(chunk.offset_bytes),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha1 {chunk.sha1_base64}",
        }
        response = self._request("PATCH", url, content=chunk.data, headers=headers)
        if response.status_code in (409, 460):
            raise _RetryableError(f"PATCH answered {response.status_code}")
        if response.status_code in GONE_STATUSES:
            raise _UploadGoneError
        self._expect(response, 204, "PATCH")
        return int(response.headers["Upload-Offset"])

    def _await_asset(self, url: str, path: Path) -> str:
        deadline = time.monotonic() + ASSET_WAIT_S
        while time.monotonic() < deadline:
            response = self._retrying(lambda: self._request("GET", url))
            self._expect(response, 200, "GET")
            status = response.json()
            if status.get("asset_id"):
                return status["asset_id"]
            if status.get("error"):
                raise UploadRefusedError(f"{path.name} was refused: {status['error']}")
            self.sleep(ASSET_POLL_INTERVAL_S)
        raise UploadFailedError(
            f"{path.name} was uploaded but not imported within {ASSET_WAIT_S:g} s."
        )

    @staticmethod
    def _expect(response: httpx.Response, status: int, method: str) -> None:
        if response.status_code == status:
            return
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = response.text[:200]
        raise UploadFailedError(
            f"The server answered {method} with {response.status_code}: {message or 'no reason'}"
        )


def upload_file(
    server: str, token: str | None, path: Path, progress: ProgressCallback | None = None
) -> str:
    """Upload `path` to `server` with tus (resuming an earlier attempt); its asset id."""
    uploader = TusUploader(server, token)
    try:
        return uploader.upload(Path(path), progress)
    finally:
        uploader.close()
