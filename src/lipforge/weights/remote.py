"""What a server says about a file before we fetch it: size, validators, range support.

`probe_remote` sends one `GET` with `Range: bytes=0-0` (a HEAD is often refused by
signed URLs, and a 206 proves range support in the same round trip) and follows
redirects, remembering where they led. Validators: a strong ETag, else Last-Modified,
is what `If-Range` may carry; a weak ETag never is. This module fetches no body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from lipforge.transfer import TransferLimitError
from lipforge.weights.errors import DownloadError, DownloadLimitError, RetryableFetchError

IDENTITY_HEADERS = {"Accept-Encoding": "identity"}
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
RE_RESOLVE_STATUSES = frozenset({401, 403, 410})


@dataclass(frozen=True)
class RemoteFile:
    """One source of a file as probed: where it resolved, how big, which version."""

    url: str
    resolved_url: str
    size_bytes: int | None
    etag: str | None
    last_modified: str | None
    accepts_ranges: bool
    content_encoding: str | None

    @property
    def redirected(self) -> bool:
        return self.resolved_url != self.url

    @property
    def strong_etag(self) -> str | None:
        return self.etag if self.etag and not self.etag.startswith(("W/", "w/")) else None

    @property
    def if_range(self) -> str | None:
        """The validator `If-Range` may carry: a strong ETag, else Last-Modified, else none."""
        return self.strong_etag or self.last_modified

    def validators(self) -> dict[str, str | None]:
        return {"etag": self.etag, "last_modified": self.last_modified}

    def matches(self, headers: httpx.Headers) -> bool:
        """False when a response's ETag or Last-Modified shows another version of the file."""
        etag, modified = headers.get("etag"), headers.get("last-modified")
        if self.etag and etag and etag != self.etag:
            return False
        return not (self.last_modified and modified and modified != self.last_modified)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total) of a `Content-Range: bytes first-last/total` header, else None."""
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not match:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


def encoding_of(headers: httpx.Headers) -> str | None:
    value = headers.get("content-encoding", "").strip().lower()
    return None if value in ("", "identity") else value


def probe_remote(client: httpx.Client, url: str) -> RemoteFile:
    """Probe `url`; raises DownloadError for answers no retry fixes, RetryableFetchError else."""
    headers = {**IDENTITY_HEADERS, "Range": "bytes=0-0"}
    try:
        with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
            return _remote_from(url, response)
    except TransferLimitError as exc:  # past the deadline or under the rate: no retry helps
        raise DownloadLimitError.of(url, exc) from exc
    except httpx.TransportError as exc:
        raise RetryableFetchError(f"{url}: {type(exc).__name__}: {exc}") from exc


def _remote_from(url: str, response: httpx.Response) -> RemoteFile:
    status = response.status_code
    if status >= 500 or status == 429:
        raise RetryableFetchError(f"{url} answered HTTP {status}")
    if status not in (200, 206):
        raise DownloadError(
            f"{url} answered HTTP {status} when probed. Check the URL, or pass a --mirror."
        )
    size = None
    content_range = parse_content_range(response.headers.get("content-range"))
    if status == 206 and content_range:
        size = content_range[2]
    elif status == 200 and response.headers.get("content-length"):
        size = int(response.headers["content-length"])
    return RemoteFile(
        url=url,
        resolved_url=str(response.url),
        size_bytes=size,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        accepts_ranges=status == 206 and size is not None,
        content_encoding=encoding_of(response.headers),
    )
