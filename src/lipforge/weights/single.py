"""The fallback for servers that ignore ranges: one stream from byte 0, restarted from 0
on failure (nothing else is safe without ranges). A body sent with a Content-Encoding is
decoded here, since no range is stitched; the sha256 check after it decides.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from lipforge.errors import CancelledError
from lipforge.transfer import TransferLimitError
from lipforge.weights.errors import DownloadError, DownloadLimitError, RetryableFetchError
from lipforge.weights.fetch import BACKOFF, CHUNK_BYTES
from lipforge.weights.ratelimit import TokenBucket
from lipforge.weights.remote import IDENTITY_HEADERS, RemoteFile, encoding_of
from lipforge.weights.request import DownloadRun

PROGRESS_INTERVAL_S = 0.2


def fetch_stream(run: DownloadRun, remote: RemoteFile, part: Path) -> int:
    """Write the whole body of `remote.url` into `part`; returns its length in bytes."""
    error: Exception | None = None
    for attempt in range(1, run.request.max_attempts + 1):
        try:
            return _fetch_once(run, remote, part)
        except TransferLimitError as exc:  # past the deadline or under the rate: no retry helps
            raise DownloadLimitError.of(remote.url, exc) from exc
        except RetryableFetchError as exc:
            error = exc
        except httpx.TransportError as exc:
            error = exc
        if attempt < run.request.max_attempts:  # no wait after the last try
            time.sleep(BACKOFF.delay_s(attempt))
    raise DownloadError(
        f"Could not fetch {remote.url} in one stream after {run.request.max_attempts} "
        f"attempts: {error}. The server does not offer byte ranges, so it cannot resume."
    )


def _fetch_once(run: DownloadRun, remote: RemoteFile, part: Path) -> int:
    bucket = TokenBucket(run.request.limit_rate_bps) if run.request.limit_rate_bps else None
    with run.client.stream("GET", remote.url, headers=IDENTITY_HEADERS) as response:
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableFetchError(f"{remote.url} answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise DownloadError(f"{remote.url} answered HTTP {response.status_code}.")
        encoded = encoding_of(response.headers) is not None
        written = _write_body(run, response, part, bucket, remote.size_bytes)
    if not encoded and remote.size_bytes is not None and written != remote.size_bytes:
        size = remote.size_bytes
        raise RetryableFetchError(f"{remote.url} ended after {written} of {size} bytes")
    return written


def _write_body(run, response: httpx.Response, part: Path, bucket, total: int | None) -> int:
    written, reported_at = 0, 0.0
    with open(part, "wb") as handle:
        for chunk in response.iter_bytes(CHUNK_BYTES):
            run.received.add(len(chunk))
            if bucket is not None:
                bucket.take(len(chunk))
            handle.write(chunk)
            written += len(chunk)
            if time.monotonic() - reported_at >= PROGRESS_INTERVAL_S:
                reported_at = time.monotonic()
                run.report(written, total, "downloading")
                if run.cancelled():
                    raise CancelledError(f"Download of {run.request.dest.name} cancelled.")
    return written
