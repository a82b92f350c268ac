"""Download one audio_url / video_url into a staging file, through the guarded transport.

One GET streamed to disk (HeyGem's inputs are media files of minutes, fetched once while
the client waits for its submit answer), retried with backoff on network errors and 5xx,
each try from byte 0. Every connection, redirect included, goes through
`netguard.GuardedTransport` (address checks after DNS resolution, size cap). Env proxies
are ignored: a proxy would make the connection for us and bypass the address check.
httpx errors are translated here into `FetchFailedError`; the guard's own refusals pass
through unchanged. This module does not probe media (the asset library does).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from lipforge import __version__
from lipforge.heygem.errors import FetchFailedError
from lipforge.heygem.netguard import AddressPolicy, GuardedTransport
from lipforge.weights.fetch import backoff_s
from lipforge.weights.remote import IDENTITY_HEADERS

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
MAX_ATTEMPTS = 3
MAX_REDIRECTS = 5
CHUNK_BYTES = 1024 * 1024


def fetch_url(url: str, dest: Path, policy: AddressPolicy, max_bytes: int) -> int:
    """Write the body of `url` to `dest`; returns its size in bytes."""
    last: Exception | None = None
    with _client(policy, max_bytes) as client:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return _fetch_once(client, url, dest)
            except (httpx.TransportError, _RetryableStatus) as exc:
                last = exc
            dest.unlink(missing_ok=True)
            if attempt < MAX_ATTEMPTS:
                time.sleep(backoff_s(attempt))
    raise FetchFailedError(
        f"Could not download {url} after {MAX_ATTEMPTS} attempts: {last}.", url=url
    ) from last


class _RetryableStatus(Exception):
    pass


def _client(policy: AddressPolicy, max_bytes: int) -> httpx.Client:
    return httpx.Client(
        transport=GuardedTransport(policy, max_bytes),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        headers={"User-Agent": f"lipforge/{__version__}", **IDENTITY_HEADERS},
    )


def _fetch_once(client: httpx.Client, url: str, dest: Path) -> int:
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise _RetryableStatus(f"{url} answered HTTP {response.status_code}")
            if response.status_code != 200:
                raise FetchFailedError(
                    f"{url} answered HTTP {response.status_code}; expected 200 with the file.",
                    url=url,
                    status=response.status_code,
                )
            written = 0
            with open(dest, "wb") as handle:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    handle.write(chunk)
                    written += len(chunk)
            return written
    except httpx.TooManyRedirects as exc:
        message = f"{url} redirects more than {MAX_REDIRECTS} times."
        raise FetchFailedError(message, url=url) from exc
    except httpx.InvalidURL as exc:
        raise FetchFailedError(f"{url} is not a valid URL: {exc}.", url=url) from exc
