"""The tus client behind `lipforge upload` and `lipforge submit`: resumable, checksummed, patient.

`upload_file(server, token, path, progress)` sends one file in chunks with a sha1
checksum each (8 MiB at first, growing on a fast link to what takes about a second to
send, at most 32 MiB, so a dropped connection costs little either way), retries network
errors and 5xx answers with exponential backoff and jitter (the budget resets whenever
bytes get through), remembers the upload URL by file fingerprint in the user's data dir
so a later run resumes where a killed one stopped, then waits for the server to turn the
upload into an asset and returns its id. The next chunk is read and hashed in a thread
while the current one is on the wire; a chunk goes out in 1 MiB slices, since httpcore
copies what is left of a buffer after each send (quadratic in the chunk's size). With
`parallel=N` the file is cut into N partial uploads sent at once over N connections and
joined with a final concatenation (tus `concatenation`, as tus-js-client's
`parallelUploads`); each part resumes on its own.
Every request is held to `transfer` limits by event hooks on the client (so httpx still picks
the proxy from the environment): a chunk must move at least 8 KiB/s over a minute and end
within what that rate allows plus two minutes, any other request within two minutes, no
answer above 1 MiB. Passing one ends the upload with `UploadLimitError` (no retry: the next
attempt would be as slow); the same command resumes it.
Not here: progress display (the CLI's).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx
from filelock import FileLock

from lipforge.errors import AuthError, LipforgeError
from lipforge.retry import HALF_JITTER, Backoff, RetryBudget
from lipforge.transfer import (
    BUDGET_EXTENSION,
    BudgetClient,
    TransferBudget,
    TransferLimitError,
    TransferLimits,
)

CHUNK_BYTES = 8 * 1024 * 1024  # the first chunk, and every chunk on a link below 8 MiB/s
MAX_CHUNK_BYTES = 32 * 1024 * 1024  # chunks grow on a fast link, up to this
CHUNK_TARGET_S = 1.0  # a grown chunk takes about this long to send
BODY_SLICE_BYTES = 1024 * 1024
MIN_PART_BYTES = 8 * 1024 * 1024  # a parallel upload's parts are never smaller than this
PARALLEL_THRESHOLD_BYTES = 64 * 1024 * 1024  # files above this go in parallel by default
DEFAULT_PARALLEL = 4
# Parts pay off where one TCP stream is the limit: a long round trip (a cross-country link:
# 50-200 ms; window / RTT caps a stream). On loopback or a LAN one stream fills the link and
# parts only cost the server a copy when it joins them.
LONG_LINK_RTT_S = 0.02
RTT_PROBES = 3
FINGERPRINT_SAMPLE_BYTES = 1024 * 1024
MAX_ATTEMPTS_WITHOUT_PROGRESS = 8
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
BACKOFF = Backoff(BACKOFF_FIRST_S, BACKOFF_MAX_S, jitter=HALF_JITTER)
ASSET_POLL_INTERVAL_S = 0.5
ASSET_WAIT_S = 900.0
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RESUME_FILE_NAME = "upload-urls.json"
TUS_VERSION = "1.0.0"
GONE_STATUSES = (403, 404, 410)
MIN_RATE_BPS = 8 * 1024  # what a chunk must move, averaged over RATE_WINDOW_S
RATE_WINDOW_S = 60.0
REQUEST_DEADLINE_S = 120.0  # a request other than PATCH; a chunk gets its time at MIN_RATE_BPS more
MAX_ANSWER_BYTES = 1024 * 1024  # tus answers and asset statuses are a few hundred bytes

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


class UploadLimitError(UploadFailedError):
    """Raised when a request to the server passes its deadline, moves under the minimum rate
    or gets too long an answer. Params: reason (deadline, too_slow, too_large), host, limit."""

    code = "transfer_limit"


@dataclass(frozen=True)
class UploadLimits:
    """The bounds of the upload client's requests (see the module text)."""

    min_rate_bps: float = MIN_RATE_BPS
    window_s: float = RATE_WINDOW_S
    request_deadline_s: float = REQUEST_DEADLINE_S
    max_answer_bytes: int = MAX_ANSWER_BYTES

    def request(self) -> TransferLimits:
        return TransferLimits(
            self.request_deadline_s, self.min_rate_bps, self.window_s, self.max_answer_bytes
        )

    def chunk(self, size_bytes: int) -> TransferLimits:
        deadline_s = self.request_deadline_s + size_bytes / self.min_rate_bps
        return TransferLimits(deadline_s, self.min_rate_bps, self.window_s, self.max_answer_bytes)


class _RetryableError(Exception):
    """A network error or 5xx answer: wait and try again."""


class _UploadGoneError(Exception):
    """The server no longer knows the upload (expired, terminated): start a new one."""


@dataclass(frozen=True)
class _Chunk:
    offset_bytes: int  # within its upload (a part starts at 0)
    data: memoryview  # into one of _ChunkReader's buffers
    sha1_base64: str


@dataclass(frozen=True)
class _Part:
    """A byte range of the file sent as its own upload (the whole file when not parallel)."""

    key: str  # where its URL is remembered
    first_byte: int
    size_bytes: int
    partial: bool  # created with Upload-Concat: partial


class _ChunkReader:
    """Reads and hashes the next chunk in a thread while the current one is being sent.

    Chunks are read into two buffers used in turn (the one being sent, the one being
    filled): a fresh 32 MiB allocation per chunk is mapped and zeroed by the kernel each
    time, about a third more client CPU per GiB.
    """

    def __init__(self, fd: int, chunk_bytes: int, part: _Part, pool: ThreadPoolExecutor):
        self.fd, self.chunk_bytes, self.part, self.pool = fd, chunk_bytes, part, pool
        self.ahead: Future | None = None
        self.buffers = [bytearray(), bytearray()]
        self.sending = 0  # the buffer of the chunk handed out last

    def _read(self, offset_bytes: int, index: int) -> _Chunk:
        length = min(self.chunk_bytes, self.part.size_bytes - offset_bytes)
        if len(self.buffers[index]) < length:  # chunks grew: a new buffer (views may remain)
            self.buffers[index] = bytearray(length)
        view = memoryview(self.buffers[index])[:length]
        start_bytes = self.part.first_byte + offset_bytes
        filled = 0
        while filled < length:
            count = os.preadv(self.fd, [view[filled:]], start_bytes + filled)
            if count == 0:
                break  # the file shrank: send what is there; the server will tell
            filled += count
        data = view[:filled]
        return _Chunk(offset_bytes, data, base64.b64encode(hashlib.sha1(data).digest()).decode())

    def take(self, offset_bytes: int) -> _Chunk:
        """The chunk at `offset_bytes`. The chunk handed out before must be done with: both
        buffers are reused."""
        chunk = self.ahead.result() if self.ahead is not None else None
        self.ahead = None
        if chunk is not None and chunk.offset_bytes == offset_bytes:
            self.sending = 1 - self.sending  # the read ahead went to the other buffer
        else:  # a retry or a jump: the last chunk's buffer is free again
            chunk = self._read(offset_bytes, self.sending)
        next_offset = offset_bytes + len(chunk.data)
        if next_offset < self.part.size_bytes:
            self.ahead = self.pool.submit(self._read, next_offset, 1 - self.sending)
        return chunk


def next_chunk_bytes(sent_bytes: int, seconds: float) -> int:
    """The next chunk's size after `sent_bytes` took `seconds`: about CHUNK_TARGET_S of
    sending at that rate, in whole MiB between CHUNK_BYTES and MAX_CHUNK_BYTES."""
    rate_bytes_s = sent_bytes / max(seconds, 1e-3)
    size_bytes = int(rate_bytes_s * CHUNK_TARGET_S) // BODY_SLICE_BYTES * BODY_SLICE_BYTES
    return max(CHUNK_BYTES, min(MAX_CHUNK_BYTES, size_bytes))


def _slices(data: memoryview) -> Iterator[memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), BODY_SLICE_BYTES):
        yield view[start : start + BODY_SLICE_BYTES]


def split_parts(key: str, size_bytes: int, parallel: int) -> list[_Part]:
    """One part for the whole file, or `parallel` nearly equal partial uploads in file order."""
    count = max(1, min(parallel, size_bytes // MIN_PART_BYTES))
    if count == 1:
        return [_Part(key, 0, size_bytes, partial=False)]
    bounds = [size_bytes * index // count for index in range(count + 1)]
    return [
        _Part(
            f"{key}|part {index + 1}/{count}",
            bounds[index],
            bounds[index + 1] - bounds[index],
            True,
        )
        for index in range(count)
    ]


def default_parallel(size_bytes: int, round_trip_s: float) -> int:
    """The parts a file goes in when the user does not say: 4 above 64 MiB over a long link
    (round trip of 20 ms or more), else 1."""
    if size_bytes <= PARALLEL_THRESHOLD_BYTES or round_trip_s < LONG_LINK_RTT_S:
        return 1
    return DEFAULT_PARALLEL


class _Tally:
    """Bytes on the server per part, summed into one progress report (from any thread)."""

    def __init__(self, count: int, size_bytes: int, report: ProgressCallback) -> None:
        self.done = [0] * count
        self.size_bytes, self.report, self.lock = size_bytes, report, threading.Lock()

    def start(self, offsets: list[int]) -> None:
        with self.lock:
            self.done = list(offsets)
            self.report(sum(self.done), self.size_bytes)

    def reporter(self, index: int) -> Callable[[int], None]:
        def report(offset: int) -> None:
            with self.lock:
                self.done[index] = offset
                self.report(sum(self.done), self.size_bytes)

        return report


def _metadata(path: Path) -> str:
    return f"filename {base64.b64encode(path.name.encode()).decode()}"


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

    def part_count(self, key: str) -> int:
        """The parts an unfinished parallel upload of `key` was cut into, 0 if none."""
        for entry in self._read():
            head, _, count = entry.rpartition("/")
            if head.startswith(f"{key}|part ") and count.isdigit():
                return int(count)
        return 0


@dataclass
class TusUploader:
    """One server; uploads files one after another. `transport` lets tests fake the network."""

    server: str
    token: str | None = None
    chunk_bytes: int | None = None  # None: CHUNK_BYTES, growing on fast links; else fixed
    state_dir: Path = field(default_factory=default_state_dir)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    limits: UploadLimits = field(default_factory=UploadLimits)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        headers = {"Tus-Resumable": TUS_VERSION}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.endpoint = self.server.rstrip("/") + "/api/uploads/"
        self.http = BudgetClient(
            self.limits.request(),
            each_request=True,
            headers=headers,
            timeout=REQUEST_TIMEOUT,
            transport=self.transport,
        )
        self.resume = ResumeStore(self.state_dir)

    def close(self) -> None:
        self.http.close()

    def set_transcript(self, asset_id: str, text: str) -> None:
        """Tell the server what an uploaded audio says (PATCH /api/assets/{id})."""
        url = f"{self.server.rstrip('/')}/api/assets/{asset_id}"
        response = self._retrying(lambda: self._request("PATCH", url, json={"transcript": text}))
        self._expect(response, 200, "PATCH")

    def upload(
        self, path: Path, progress: ProgressCallback | None = None, parallel: int | None = 1
    ) -> str:
        """Send `path` (resuming an earlier run's upload) in `parallel` parts; its asset id.
        `parallel=None` chooses (`choose_parallel`).

        `progress(done, total)` is first called with what the server already has.
        """
        report = progress or (lambda _done, _total: None)
        size = path.stat().st_size
        key = f"{self.endpoint}|{fingerprint(path)}"
        if parallel is None:
            parallel = self.choose_parallel(key, size)
        parts = split_parts(key, size, parallel)
        final_key = f"{key}|final"
        url = self.resume.get(final_key) if len(parts) > 1 else None
        if url is not None and self._retrying(functools.partial(self._offset, url)) is None:
            self.resume.forget(final_key)
            url = None
        if url is None:
            urls = self._send_parts(path, parts, size, report)
            url = urls[0] if len(parts) == 1 else self._join(path, urls, final_key)
        report(size, size)
        for part in parts:
            self.resume.forget(part.key)
        asset_id = self._await_asset(url, path)
        self.resume.forget(final_key)
        return asset_id

    def choose_parallel(self, key: str, size_bytes: int) -> int:
        """As many parts as an earlier run of this file used (so it resumes), else
        `default_parallel` for the round trip to the server."""
        if self.resume.get(f"{key}|final"):  # an earlier run joined its parts already
            return DEFAULT_PARALLEL
        if earlier := self.resume.part_count(key):
            return earlier
        if size_bytes <= PARALLEL_THRESHOLD_BYTES:
            return 1
        return default_parallel(size_bytes, self.round_trip_s())

    def round_trip_s(self) -> float:
        """The shortest of a few tus OPTIONS requests: about the network's round trip."""
        times_s = []
        for _ in range(RTT_PROBES):
            started_s = time.perf_counter()
            self._retrying(lambda: self._request("OPTIONS", self.endpoint))
            times_s.append(time.perf_counter() - started_s)
        return min(times_s)

    def _send_parts(
        self, path: Path, parts: list[_Part], size: int, report: ProgressCallback
    ) -> list[str]:
        """Each part's upload URL once all its bytes are on the server, sent at once."""
        if len(parts) == 1:
            url, offset = self._open_part(path, parts[0])
            report(offset, size)
            return [
                self._send_resuming(path, parts[0], url, offset, lambda done: report(done, size))
            ]
        tally = _Tally(len(parts), size, report)
        self._stop.clear()
        pool = ThreadPoolExecutor(len(parts), thread_name_prefix="tus-part")
        interrupted = False
        try:
            opened = list(pool.map(lambda part: self._open_part(path, part), parts))
            tally.start([offset for _url, offset in opened])
            futures = [
                pool.submit(self._send_resuming, path, part, url, offset, tally.reporter(index))
                for index, (part, (url, offset)) in enumerate(zip(parts, opened, strict=True))
            ]
            return [future.result() for future in futures]
        except BaseException as exc:
            self._stop.set()  # the other parts stop after the chunk they are sending
            if isinstance(exc, KeyboardInterrupt):  # do not wait for it: cut the connections
                interrupted = True
                self.http.close()
            raise
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)

    def _open_part(self, path: Path, part: _Part) -> tuple[str, int]:
        """The part's upload URL and the server's offset: an earlier run's, or a new upload."""
        url = self.resume.get(part.key)
        offset = self._retrying(functools.partial(self._offset, url)) if url else None
        if url is None or offset is None:
            url = self._retrying(lambda: self._create(path, part))
            self.resume.put(part.key, url)
            offset = 0
        return url, offset

    def _send_resuming(
        self, path: Path, part: _Part, url: str, offset: int, report: Callable[[int], None]
    ) -> str:
        try:
            return self._send(path, part, url, offset, report)
        except _UploadGoneError:
            self.resume.forget(part.key)
            url, offset = self._open_part(path, part)
            return self._send(path, part, url, offset, report)

    def _send(
        self, path: Path, part: _Part, url: str, offset: int, report: Callable[[int], None]
    ) -> str:
        adaptive = self.chunk_bytes is None
        with open(path, "rb") as handle, ThreadPoolExecutor(1) as reader:
            chunks = _ChunkReader(handle.fileno(), self.chunk_bytes or CHUNK_BYTES, part, reader)
            budget = self._budget()
            while offset < part.size_bytes:
                if self._stop.is_set():
                    raise UploadFailedError("Stopped. Run the same command again to resume.")
                chunk = chunks.take(offset)
                started_s = time.monotonic()
                try:
                    new_offset = self._patch(url, chunk)
                except _RetryableError as exc:
                    if adaptive:
                        chunks.chunk_bytes = CHUNK_BYTES
                    self._back_off(budget, exc)
                    new_offset = self._retrying(lambda: self._offset(url))
                    if new_offset is None:
                        raise _UploadGoneError from exc
                else:
                    if adaptive:
                        chunks.chunk_bytes = next_chunk_bytes(
                            len(chunk.data), time.monotonic() - started_s
                        )
                if new_offset > offset:
                    budget.progressed()
                offset = new_offset
                report(offset)
        return url

    def _join(self, path: Path, urls: list[str], final_key: str) -> str:
        """Create the final upload, the concatenation of the finished parts, in order."""
        headers = {
            "Upload-Concat": "final;" + " ".join(urls),
            "Upload-Metadata": _metadata(path),
        }
        response = self._retrying(lambda: self._request("POST", self.endpoint, headers=headers))
        self._expect(response, 201, "POST")
        url = urljoin(self.endpoint, response.headers["Location"])
        self.resume.put(final_key, url)
        return url

    @staticmethod
    def _budget() -> RetryBudget:
        """MAX_ATTEMPTS_WITHOUT_PROGRESS waits, then the next failure gives up."""
        return RetryBudget(BACKOFF, max_tries=MAX_ATTEMPTS_WITHOUT_PROGRESS + 1)

    def _back_off(self, budget: RetryBudget, exc: Exception) -> None:
        delay_s = budget.next_delay_s()
        if delay_s is None:
            raise UploadFailedError(
                f"Gave up after {budget.failures - 1} failed attempts without progress: {exc}. "
                "Run the same command again to resume."
            ) from exc
        self.sleep(delay_s)

    def _retrying(self, action: Callable[[], object]):
        budget = self._budget()
        while True:
            try:
                return action()
            except _RetryableError as exc:
                self._back_off(budget, exc)

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except TransferLimitError as exc:
            raise UploadLimitError(
                f"{method} {url}: {exc}. Run the same command again to resume.", **exc.params
            ) from exc
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

    def _create(self, path: Path, part: _Part) -> str:
        headers = {"Upload-Length": str(part.size_bytes), "Upload-Metadata": _metadata(path)}
        if part.partial:
            headers["Upload-Concat"] = "partial"
        response = self._request("POST", self.endpoint, headers=headers)
        self._expect(response, 201, "POST")
        return urljoin(self.endpoint, response.headers["Location"])

    def _patch(self, url: str, chunk: _Chunk) -> int:
        headers = {
            "Upload-Offset": str(chunk.offset_bytes),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha1 {chunk.sha1_base64}",
        }
        headers["Content-Length"] = str(len(chunk.data))
        budget = TransferBudget(self.limits.chunk(len(chunk.data)))
        response = self._request(
            "PATCH",
            url,
            content=_slices(chunk.data),
            headers=headers,
            extensions={BUDGET_EXTENSION: budget},
        )
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
    server: str,
    token: str | None,
    path: Path,
    progress: ProgressCallback | None = None,
    parallel: int | None = None,
) -> str:
    """Upload `path` to `server` with tus (resuming an earlier attempt); its asset id.
    `parallel` parts at once (default: 4 above 64 MiB over a long link, else 1)."""
    path = Path(path)
    uploader = TusUploader(server, token)
    try:
        return uploader.upload(path, progress, parallel)
    finally:
        uploader.close()
