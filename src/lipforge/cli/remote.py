"""A client of a LipForge server's batch API: create a batch, follow it live, fetch outputs.

`follow_batch` keeps a local copy of the batch snapshot up to date from the SSE stream
(`GET /api/events?batch=ID`), reconnecting with `Last-Event-ID` when the stream drops,
and falls back to polling `GET /api/batches/{id}` when the stream keeps failing (a
proxy that buffers or cuts it). While the server cannot be reached (restarting, a link
down) a `Reconnector` keeps trying with backoff for a while, and says so. `BatchMeter`
turns snapshots into the server's weighted batch progress, never going backwards.
Every request is held to `transfer` limits by a `transfer.BudgetClient` (httpx still picks
the proxy from the environment): an API call must end within `API_DEADLINE_S` with at most
`API_MAX_BYTES` of answer, an output download within `OUTPUT_DEADLINE_S` at no less than
`MIN_RATE_BPS` over a minute; the event stream is exempt (it is meant to stay open between
pings, and three missed pings end it). Passing a limit is a `RemoteLimitError`.
Uploads are not here (`lipforge.uploads.client`), nor any terminal display (`cli/submit.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from lipforge.cli.exits import EXIT_AUTH, EXIT_DISK_FULL, EXIT_USAGE
from lipforge.errors import LipforgeError
from lipforge.retry import NO_JITTER, Backoff, RetryBudget
from lipforge.transfer import (
    BUDGET_EXTENSION,
    BudgetClient,
    TransferBudget,
    TransferLimitError,
    TransferLimits,
)

REQUEST_TIMEOUT_S = 30.0
DEFAULT_RECONNECT_S = 600.0  # how long submit/watch keep trying a server that is away
RECONNECT_FIRST_DELAY_S = 1.0
RECONNECT_MAX_DELAY_S = 30.0
RECONNECT_BACKOFF = Backoff(RECONNECT_FIRST_DELAY_S, RECONNECT_MAX_DELAY_S, jitter=NO_JITTER)
UNREACHABLE_STATUSES = frozenset({502, 503, 504})  # a proxy in front of a restarting server
STREAM_READ_TIMEOUT_S = 45.0  # the server pings every 15 s; three missed pings = dead stream
SSE_FAILURES_BEFORE_POLLING = 3
RECONNECT_DELAY_S = 1.0
POLL_INTERVAL_S = 1.0
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
API_DEADLINE_S = 120.0  # one API call, its answer included
API_MAX_BYTES = (
    64 * 1024 * 1024
)  # the largest JSON answer (a batch of thousands of jobs) is far less
MIN_RATE_BPS = 1024.0  # what an answer must bring once it flows, averaged over RATE_WINDOW_S
RATE_WINDOW_S = 60.0
OUTPUT_DEADLINE_S = 6 * 3600.0  # one output video
OUTPUT_MAX_BYTES = 64 * 1024**3
API_LIMITS = TransferLimits(API_DEADLINE_S, MIN_RATE_BPS, RATE_WINDOW_S, API_MAX_BYTES)
OUTPUT_LIMITS = TransferLimits(OUTPUT_DEADLINE_S, MIN_RATE_BPS, RATE_WINDOW_S, OUTPUT_MAX_BYTES)
OPEN_EVENT = "stream.open"  # the server's first event on every connection
DELETED_EVENT = "batch.deleted"
PAUSE_EVENTS = ("worker.paused", "worker.resumed")
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
REFUSAL_EXIT_CODES = {401: EXIT_AUTH, 403: EXIT_AUTH, 507: EXIT_DISK_FULL}  # else 2 (usage)
T = TypeVar("T")


class RemoteError(LipforgeError):
    """Raised when the server refuses a request or cannot be reached; carries its message."""

    code = "remote_error"
    exit_code = 7


class ServerUnreachableError(RemoteError):
    """Raised when the server does not answer at all (connection refused or cut, a gateway
    error): worth trying again, unlike a refusal."""

    code = "server_unreachable"


class RemoteRefusedError(RemoteError):
    """Raised when the server answered but refused (an unknown id, a name taken, a bad token):
    exits as that refusal would here (2 usage, 5 token, 6 disk), never as "cannot reach" (7)."""

    code = "remote_refused"


class RemoteLimitError(RemoteError):
    """Raised when an answer passes its deadline, comes under the minimum rate or is too long.
    Params: reason (deadline, too_slow, too_large), host, and the limit passed."""

    code = "transfer_limit"

    @classmethod
    def of(cls, what: str, exc: TransferLimitError) -> RemoteLimitError:
        return cls(f"{what}: {exc}.", **exc.params)


class StreamBrokenError(Exception):
    """The event stream cannot be used (a proxy cut or refused it); polling takes over."""


@dataclass(frozen=True)
class SseEvent:
    """One event of the stream: its sequence number, its kind and its JSON data."""

    id: int | None
    kind: str
    data: dict


def open_client(
    server_url: str, token: str | None, limits: TransferLimits = API_LIMITS
) -> httpx.Client:
    """A client of the server whose every request has its own `limits` (see the module text)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return BudgetClient(
        limits,
        each_request=True,
        base_url=server_url.rstrip("/"),
        headers=headers,
        timeout=REQUEST_TIMEOUT_S,
    )


def call_api(client: httpx.Client, method: str, path: str, **kwargs) -> dict:
    """Send one request and answer its JSON; a refusal becomes a RemoteError with its message."""
    try:
        response = client.request(method, path, **kwargs)
    except TransferLimitError as exc:
        raise RemoteLimitError.of(f"{method} {path} on {client.base_url}", exc) from exc
    except httpx.TransportError as exc:
        raise ServerUnreachableError(
            f"Cannot reach the server at {client.base_url}: {exc or type(exc).__name__}."
        ) from exc
    if response.status_code in UNREACHABLE_STATUSES:
        raise ServerUnreachableError(
            f"The server at {client.base_url} answered {response.status_code} (restarting?)."
        )
    _raise_for_refusal(response)
    return response.json() if response.content else {}


@dataclass
class Reconnector:
    """Runs a call again while the server is unreachable: after 1 s, then doubling up to
    30 s, for `patience_s` in all; `on_wait` hears each wait and the reconnection. A server
    that never answered in this run (a mistyped URL) is not waited for."""

    patience_s: float = DEFAULT_RECONNECT_S
    on_wait: Callable[[str], None] = lambda _message: None
    sleep: Callable[[float], None] = time.sleep
    reached: bool = False

    def call(self, action: Callable[[], T]) -> T:
        budget = RetryBudget(RECONNECT_BACKOFF, patience_s=self.patience_s)
        while True:
            try:
                result = action()
            except ServerUnreachableError as exc:
                if not self.reached:
                    raise
                self._wait(budget, exc)
                continue
            if budget.failures:
                self.on_wait("Reconnected to the server.")
            self.reached = True
            return result

    def _wait(self, budget: RetryBudget, exc: ServerUnreachableError) -> None:
        wait_s = budget.next_delay_s()
        if wait_s is None:
            raise ServerUnreachableError(
                f"{exc} Gave up after trying for {self.patience_s:g} s "
                "(--reconnect-s, LIPFORGE_RECONNECT_S).",
                seconds=self.patience_s,
            ) from exc
        left_s = budget.left_s()
        self.on_wait(f"{exc} Trying again in {wait_s:.0f} s (for {left_s:.0f} s more).")
        self.sleep(wait_s)


class BatchMeter:
    """The batch's progress weighted by frames, as `GET /api/batches/{id}` computes it, from
    snapshots and live job events; what it shows never goes backwards while the batch runs,
    and once it has ended it is the server's own `progress`.

    A job whose frame count is not known yet weighs the server's estimate: the first
    snapshot's `frames_total` less the known jobs' frames, shared among the unknown ones.
    """

    def __init__(self) -> None:
        self.estimates: dict[str, float] = {}
        self.shown = 0.0

    def update(self, batch: dict) -> float:
        jobs = batch["jobs"]
        unknown = [
            j["id"] for j in jobs if not j.get("frames_total") and j["id"] not in self.estimates
        ]
        if unknown and batch.get("frames_total"):
            known = sum(job.get("frames_total") or 0 for job in jobs)
            share = max(1.0, (batch["frames_total"] - known) / len(unknown))
            self.estimates.update(dict.fromkeys(unknown, share))
        if is_finished(batch) and batch.get("progress") is not None:
            self.shown = float(batch["progress"])  # the end agrees with the server's figure
            return self.shown
        weights = [job.get("frames_total") or self.estimates.get(job["id"], 1.0) for job in jobs]
        done = sum(w * _job_fraction(job) for w, job in zip(weights, jobs, strict=True))
        fraction = done / sum(weights) if weights else 0.0
        self.shown = max(self.shown, fraction)
        return self.shown


def _job_fraction(job: dict) -> float:
    if job["status"] == "succeeded":
        return 1.0
    if not job.get("frames_total"):
        return 0.0
    return min(1.0, (job.get("frames_done") or 0) / job["frames_total"])


def _raise_for_refusal(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json().get("message") or response.text
    except ValueError:
        message = response.text
    if response.status_code == 401:
        message = f"{message} (pass --token or set LIPFORGE_TOKEN)"
    if response.status_code >= 500 and response.status_code != 507:
        raise RemoteError(f"The server failed at {response.request.url.path}: {message}")
    refused = RemoteRefusedError(
        f"The server refused {response.request.url.path}: {message}",
        status=response.status_code,
    )
    refused.exit_code = REFUSAL_EXIT_CODES.get(response.status_code, EXIT_USAGE)
    raise refused


def create_batch(
    client: httpx.Client,
    audio_ids: list[str],
    video_ids: list[str],
    engine: str,
    fit: str,
    scripts: list[dict] | None = None,
    transcripts: dict[str, str] | None = None,
    asset_names: dict[str, str] | None = None,
) -> dict:
    """`scripts`: [{"text", "voice", "name"}] for the server to speak, beside the audios;
    `transcripts`: what audios say, by asset id; `asset_names`: the local file name of each
    asset id (outputs are named after them)."""
    body = {
        "audio_asset_ids": audio_ids,
        "video_asset_ids": video_ids,
        "scripts": scripts or [],
        "asset_names": asset_names or {},
        "engine": engine,
        "fit": fit,
    }
    if transcripts:
        body["transcripts"] = transcripts
    return call_api(client, "POST", "/api/batches", json=body)


def set_asset_transcript(client: httpx.Client, asset_id: str, text: str) -> dict:
    return call_api(client, "PATCH", f"/api/assets/{asset_id}", json={"transcript": text})


def find_asset_by_sha256(client: httpx.Client, sha256: str) -> dict | None:
    """The server's asset with these bytes, or None if it has none."""
    page = call_api(client, "GET", "/api/assets", params={"sha256": sha256, "limit": 1})
    return page["items"][0] if page["items"] else None


def get_batch(client: httpx.Client, batch_id: str) -> dict:
    return call_api(client, "GET", f"/api/batches/{batch_id}")


def is_finished(batch: dict) -> bool:
    return all(job["status"] in TERMINAL_STATES for job in batch["jobs"])


def read_batch_failures(batch: dict) -> list[tuple[dict, str]]:
    """The jobs that failed or were cancelled, each with its plain-language reason."""
    return [
        (job, job.get("error_message") or job["status"])
        for job in batch["jobs"]
        if job["status"] in {"failed", "cancelled"}
    ]


def read_events(
    client: httpx.Client, batch_id: str, last_event_id: int | None
) -> Iterator[SseEvent]:
    """Yield the events of one SSE connection until the server or the network ends it."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, read=STREAM_READ_TIMEOUT_S)
    with client.stream(
        "GET", "/api/events", params={"batch": batch_id}, headers=headers, timeout=timeout,
        extensions={BUDGET_EXTENSION: None},  # exempt: open for the batch's life
    ) as response:  # fmt: skip
        if response.status_code >= 500 or response.status_code == 404:
            raise StreamBrokenError(f"the event stream answered {response.status_code}")
        if response.status_code >= 400:
            response.read()
            _raise_for_refusal(response)
        yield from parse_sse_lines(response.iter_lines())


def parse_sse_lines(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Turn `text/event-stream` lines into events; comments (pings) are skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields or "event" in fields:
                yield _to_event(fields)
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = (
                f"{fields[name]}\n{value}" if name == "data" and name in fields else value
            )


def _to_event(fields: dict[str, str]) -> SseEvent:
    event_id = fields.get("id")
    data = json.loads(fields["data"]) if fields.get("data") else {}
    return SseEvent(
        id=int(event_id) if event_id and event_id.isdigit() else None,
        kind=fields.get("event", "message"),
        data=data if isinstance(data, dict) else {"value": data},
    )


def apply_event(batch: dict, event: SseEvent) -> None:
    """Fold one event into the local batch snapshot (job fields, batch progress)."""
    job_data = event.data.get("job")
    if isinstance(job_data, dict):
        for job in batch["jobs"]:
            if job["id"] == job_data.get("id"):
                job.update(job_data)
    if event.kind in PAUSE_EVENTS:
        reason = event.data.get("reason")
        batch["paused_reasons"] = [reason] if event.kind == "worker.paused" and reason else []
    batch_data = event.data.get("batch")
    if isinstance(batch_data, dict) and batch_data.get("id") == batch["id"]:
        batch.update({k: v for k, v in batch_data.items() if k != "jobs"})


def follow_batch(
    client: httpx.Client,
    batch_id: str,
    on_update: Callable[[dict], None],
    reconnect_delay_s: float = RECONNECT_DELAY_S,
    poll_interval_s: float = POLL_INTERVAL_S,
    reconnector: Reconnector | None = None,
) -> dict:
    """Follow a batch until every job has ended; answers the final snapshot from the server.

    A connection that brings nothing (refused, cut, buffered by a proxy) counts as a
    failure and the snapshot is polled once; after a few in a row, polling takes over.
    While the server is unreachable, `reconnector` keeps trying (10 min by default).
    """
    patient = reconnector or Reconnector()

    def fetch() -> dict:
        batch = patient.call(lambda: get_batch(client, batch_id))
        on_update(batch)
        return batch

    batch = fetch()
    last_event_id = batch.get("last_event_id")
    failures = 0
    while not is_finished(batch) and failures < SSE_FAILURES_BEFORE_POLLING:
        last_event_id, received = _follow_stream(client, batch, last_event_id, on_update)
        failures = 0 if received else failures + 1
        if not received and not is_finished(batch):
            time.sleep(reconnect_delay_s)
            batch = fetch()
    while not is_finished(batch):
        time.sleep(poll_interval_s)
        batch = fetch()
    return fetch()


def _follow_stream(
    client: httpx.Client, batch: dict, last_event_id: int | None, on_update: Callable[[dict], None]
) -> tuple[int | None, int]:
    """Fold one connection's events into `batch`; answers the last id and how many events came."""
    received = 0
    try:
        for event in read_events(client, batch["id"], last_event_id):
            received += event.kind != OPEN_EVENT
            if event.kind == DELETED_EVENT:
                raise RemoteError(f"Batch {batch['id']} was deleted on the server.")
            last_event_id = event.id if event.id is not None else last_event_id
            apply_event(batch, event)
            on_update(batch)
            if event.kind.startswith("job.") and is_finished(batch):
                break
    except (httpx.TransportError, httpx.StreamError, StreamBrokenError):
        pass
    return last_event_id, received


def download_output(
    client: httpx.Client, job: dict, out_dir: Path, limits: TransferLimits = OUTPUT_LIMITS
) -> Path:
    """Fetch a succeeded job's output into `out_dir` (via a `.part` file renamed when complete)."""
    target = out_dir / Path(job["output_name"]).name
    partial = target.with_name(target.name + ".part")
    try:
        output_url = f"/api/jobs/{job['id']}/output"  # a bucket may redirect to a presigned URL
        budget = {BUDGET_EXTENSION: TransferBudget(limits)}
        with client.stream("GET", output_url, follow_redirects=True, extensions=budget) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_refusal(response)
            with partial.open("wb") as sink:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                    sink.write(chunk)
    except BaseException as exc:  # a broken link, Ctrl-C or SIGTERM: no half file is left
        partial.unlink(missing_ok=True)
        if isinstance(exc, TransferLimitError):
            raise RemoteLimitError.of(f"Download of {target.name}", exc) from exc
        if isinstance(exc, httpx.TransportError):
            raise ServerUnreachableError(f"Download of {target.name} broke off: {exc}.") from exc
        raise
    partial.replace(target)
    return target


def download_subtitles(client: httpx.Client, job: dict, video_path: Path) -> list[Path]:
    """A scripted job's .srt and .vtt beside its downloaded video; [] for an audio job."""
    if not job.get("subtitles_url"):
        return []
    saved = []
    for kind in ("srt", "vtt"):
        path = f"/api/jobs/{job['id']}/subtitles.{kind}"
        try:
            response = client.get(path)
        except TransferLimitError as exc:
            raise RemoteLimitError.of(f"GET {path} on {client.base_url}", exc) from exc
        _raise_for_refusal(response)
        target = video_path.with_suffix(f".{kind}")
        target.write_bytes(response.content)
        saved.append(target)
    return saved
