"""Download one audio_url / video_url into a staging file with the project's downloader.

`lipforge.weights.download` does the work (byte ranges over a few connections when the
server offers them, else one stream; retries with backoff; the file renamed into place
when complete), given `netguard.GuardedTransport` as its transport: every connection,
redirect included, is checked after DNS resolution, and sizes above the limit are
refused; the download's `limits` hold it to an overall deadline and a minimum rate, so a
URL that trickles ends with a reason. No sha256 is known
for a client's file, so none is checked. The guard's
refusals pass through unchanged; the downloader's own errors become `FetchFailedError`.
This module does not probe media (the asset library does).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from lipforge.heygem.errors import FetchFailedError
from lipforge.heygem.netguard import AddressPolicy, GuardedTransport
from lipforge.transfer import TransferLimitError, TransferLimits
from lipforge.weights.download import download
from lipforge.weights.errors import DownloadError
from lipforge.weights.request import DownloadRequest

CONNECTIONS = 4
MAX_ATTEMPTS = 3
READ_TIMEOUT_S = 60.0
FETCH_DEADLINE_S = 3600.0  # a whole audio_url / video_url download, retries included
FETCH_MIN_RATE_BPS = 16 * 1024
RATE_WINDOW_S = 30.0
DEFAULT_FETCH_LIMITS = TransferLimits(FETCH_DEADLINE_S, FETCH_MIN_RATE_BPS, RATE_WINDOW_S)


def fetch_limits(deadline_s: float, min_rate_bps: float) -> TransferLimits:
    """The bounds of one download: the rate is measured over windows of at most a third of
    the deadline, so a short deadline still sees a trickle before it ends."""
    return TransferLimits(deadline_s, min_rate_bps, min(RATE_WINDOW_S, deadline_s / 3))


def fetch_url(
    url: str,
    dest: Path,
    policy: AddressPolicy,
    max_bytes: int,
    limits: TransferLimits = DEFAULT_FETCH_LIMITS,
) -> int:
    """Write the body of `url` to `dest`; returns its size in bytes."""
    guarded = GuardedTransport(policy, max_bytes, limits=httpx.Limits(max_connections=8))
    request = DownloadRequest(
        url=url,
        dest=dest,
        connections=CONNECTIONS,
        max_attempts=MAX_ATTEMPTS,
        read_timeout_s=READ_TIMEOUT_S,
        transport=guarded,
        limits=limits,
    )
    try:
        return download(request).size_bytes
    except TransferLimitError as exc:
        raise FetchFailedError(f"Could not download {url}: {exc}.", url=url) from exc
    except DownloadError as exc:
        raise FetchFailedError(f"Could not download {url}: {exc}", url=url) from exc
    except httpx.HTTPError as exc:
        raise FetchFailedError(f"Could not download {url}: {exc}.", url=url) from exc
