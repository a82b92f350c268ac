"""One connection of a segmented download: fetch a segment with Range requests, check each
answer, write the bytes where they belong, retry with backoff, move to a mirror.

Every 206 must carry a consistent Content-Range: the file's total, and a span that covers
the first byte asked for (RFC 9110 lets a server start earlier or stop sooner: the bytes
before the one asked for are skipped, a shorter answer is followed by the next request).
An inconsistent one, like a 200 to a Range request, is never written (the caller falls back
to one stream);
a changed ETag/Last-Modified means the file changed (the caller starts over). httpx
errors are translated here and nowhere else.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import httpx

from lipforge.retry import FULL_JITTER, Backoff, RetryBudget, pause
from lipforge.transfer import TransferLimitError
from lipforge.weights.errors import (
    DownloadError,
    DownloadLimitError,
    RangeIgnoredSignal,
    RangeUnusableSignal,
    RemoteChangedSignal,
    RetryableFetchError,
    SignedUrlExpiredSignal,
    UnsupportedEncodingError,
)
from lipforge.weights.ratelimit import TokenBucket
from lipforge.weights.remote import (
    IDENTITY_HEADERS,
    RE_RESOLVE_STATUSES,
    RemoteFile,
    encoding_of,
    parse_content_range,
)
from lipforge.weights.request import ByteCounter
from lipforge.weights.sources import SourcePool
from lipforge.weights.spans import Segment, SpanPlan

CHUNK_BYTES = 64 * 1024
BACKOFF = Backoff(first_delay_s=1.0, max_delay_s=15.0, jitter=FULL_JITTER)  # between tries


@dataclass
class FetchContext:
    """What every connection of one download shares."""

    client: httpx.Client
    plan: SpanPlan
    fd: int
    sources: SourcePool
    bucket: TokenBucket | None
    stop: threading.Event
    max_attempts: int
    received: ByteCounter
    max_request_bytes: int


def run_connection(ctx: FetchContext) -> None:
    """Take segments (or halves of others') until none is left or the download stops."""
    source_index = 0
    while not ctx.stop.is_set():
        segment = ctx.plan.next_segment()
        if segment is None:
            return
        try:
            source_index = fetch_segment(ctx, segment, source_index)
        finally:
            ctx.plan.finish(segment)


def fetch_segment(ctx: FetchContext, segment: Segment, source_index: int) -> int:
    """Fetch `segment` to its end; returns the source index that worked last."""
    budget = RetryBudget(BACKOFF, max_tries=ctx.max_attempts)
    while segment.written < segment.end and not ctx.stop.is_set():
        before = segment.written
        try:
            remote = ctx.sources.get(source_index)
            fetch_once(ctx, segment, remote)
            budget.progressed()
            continue
        except SignedUrlExpiredSignal as exc:
            error: Exception = exc
            expired = True
        except RetryableFetchError as exc:
            error, expired = exc, False
        ctx.plan.rewind(segment)
        if segment.written > before:  # bytes arrived before the failure: a fresh budget
            budget.progressed()
        delay_s = budget.next_delay_s()
        if delay_s is None:
            raise DownloadError(
                f"Could not fetch bytes {segment.written}-{segment.end - 1} after "
                f"{budget.failures} attempts: {error}. Run the same pull again to resume, "
                "or add a --mirror."
            )
        if expired:  # a fresh signature is used at once: waiting would let it expire too
            _refresh_quietly(ctx, source_index, remote)
            continue
        source_index = ctx.sources.next_index(source_index)
        pause(delay_s, ctx.stop)
    return source_index


def _refresh_quietly(ctx: FetchContext, index: int, remote: RemoteFile) -> None:
    try:
        ctx.sources.refresh(index, remote)
    except RetryableFetchError:
        pass


def fetch_once(ctx: FetchContext, segment: Segment, remote: RemoteFile) -> None:
    first = segment.written
    last = min(segment.end, first + ctx.max_request_bytes) - 1
    headers = {**IDENTITY_HEADERS, "Range": f"bytes={first}-{last}"}
    if remote.if_range:
        headers["If-Range"] = remote.if_range
    try:
        with ctx.client.stream("GET", remote.resolved_url, headers=headers) as response:
            answered_first, answered_last = check_range_response(response, remote, first, last)
            stream_into(ctx, segment, response, skip_bytes=first - answered_first)
    except TransferLimitError as exc:  # past the deadline or under the rate: no retry helps
        raise DownloadLimitError.of(remote.resolved_url, exc) from exc
    except httpx.TransportError as exc:
        raise RetryableFetchError(f"{remote.resolved_url}: {type(exc).__name__} {exc}") from exc
    if segment.written <= min(last, answered_last, segment.end - 1) and not ctx.stop.is_set():
        raise RetryableFetchError(
            f"{remote.resolved_url} closed the body at byte {segment.written}, before byte {last}"
        )


def check_range_response(
    response: httpx.Response, remote: RemoteFile, first: int, last: int
) -> tuple[int, int]:
    """The (first, last) bytes a usable 206 for byte `first` of the same file labels; raises
    for anything else (a RangeUnusableSignal when its Content-Range cannot be trusted)."""
    status, url = response.status_code, remote.resolved_url
    if status == 200 and not remote.matches(response.headers):
        raise RemoteChangedSignal(f"{url} answered 200 with another version of the file")
    if status == 200:
        raise RangeIgnoredSignal(f"{url} ignored the Range header")
    if status == 416:
        raise RemoteChangedSignal(f"{url} answered 416: the file is shorter now")
    if status in RE_RESOLVE_STATUSES and remote.redirected:
        raise SignedUrlExpiredSignal(f"{url} answered HTTP {status} (expired signed URL?)")
    if status >= 500 or status == 429:
        raise RetryableFetchError(f"{url} answered HTTP {status}")
    if status != 206:
        raise DownloadError(f"{url} answered HTTP {status} for bytes {first}-{last}.")
    if encoding := encoding_of(response.headers):
        raise UnsupportedEncodingError(
            f"{url} sent bytes {first}-{last} with Content-Encoding {encoding} although "
            "identity was asked; compressed ranges cannot be joined. Use another --mirror."
        )
    if not remote.matches(response.headers):
        raise RemoteChangedSignal(f"{url} now serves another version")
    got = parse_content_range(response.headers.get("content-range"))
    if got is None or got[2] != remote.size_bytes or not got[0] <= first <= got[1]:
        raise RangeUnusableSignal(
            f"{url} answered bytes {first}-{last} with Content-Range "
            f"{response.headers.get('content-range')!r} (the file has {remote.size_bytes} bytes)"
        )
    return got[0], got[1]


def stream_into(
    ctx: FetchContext, segment: Segment, response: httpx.Response, skip_bytes: int = 0
) -> None:
    """Write the body at the segment's position, after dropping `skip_bytes` it began with."""
    for chunk in response.iter_raw(CHUNK_BYTES):
        if ctx.stop.is_set():
            return
        ctx.received.add(len(chunk))
        if ctx.bucket is not None:
            ctx.bucket.take(len(chunk))
        if skip_bytes:
            dropped = min(skip_bytes, len(chunk))
            chunk, skip_bytes = chunk[dropped:], skip_bytes - dropped
            if not chunk:
                continue
        offset, count = ctx.plan.reserve(segment, len(chunk))
        if count:
            os.pwrite(ctx.fd, memoryview(chunk)[:count], offset)
            ctx.plan.commit(segment, count)
        if count < len(chunk) or segment.written >= segment.end:
            return
