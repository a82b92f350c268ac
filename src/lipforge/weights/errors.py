"""Errors of model downloads: the user-facing ones, and the signals the download loop acts on.

DownloadError (LipforgeError, 502)   a file could not be fetched; the message names the URL
 +-- ChecksumMismatchError           the finished file's sha256 is not the expected one (deleted)
 +-- UnsupportedEncodingError        a server compressed a byte range despite identity
 +-- RemoteChangedError              the remote file changed more often than we restart
 +-- DownloadLimitError              a source passed the deadline, the minimum rate or the size

The private signals below never reach a user: the download loop catches them and
retries, re-resolves, restarts or falls back to one stream. HTTP-level failures of httpx
are translated into these in `fetch.py` only.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError
from lipforge.transfer import TransferLimitError


class DownloadError(LipforgeError):
    """Raised when a file cannot be fetched after every retry and mirror; names the URL."""

    code = "download_failed"
    http_status = 502
    exit_code = 7


class ChecksumMismatchError(DownloadError):
    """Raised when the downloaded file's sha256 differs from the expected one; the file is gone."""

    code = "checksum_mismatch"


class UnsupportedEncodingError(DownloadError):
    """Raised when a server compresses a byte range (compressed ranges cannot be joined)."""

    code = "unsupported_encoding"


class RemoteChangedError(DownloadError):
    """Raised when the remote file keeps changing while we download it."""

    code = "remote_changed"


class DownloadLimitError(DownloadError):
    """Raised when a source passes the download's overall deadline, falls under its minimum
    rate or sends more than its limit (`transfer.TransferLimitError`; no retry helps). Params:
    reason (deadline, too_slow, too_large), host, and the limit that was passed."""

    code = "transfer_limit"

    @classmethod
    def of(cls, url: str, exc: TransferLimitError) -> DownloadLimitError:
        return cls(f"{url}: {exc}.", **exc.params)


class RetryableFetchError(Exception):
    """A range request failed in a way another attempt may fix (timeout, reset, 5xx, short body)."""


class RangeIgnoredSignal(Exception):
    """The server answered a Range request with the whole file (200): fall back to one stream."""


class RangeUnusableSignal(RangeIgnoredSignal):
    """A 206 whose Content-Range contradicts the request or the file (another total, a span
    that misses the first byte asked for): its labels cannot be trusted, use one stream."""


class RemoteChangedSignal(Exception):
    """A response's validators differ from the ones the download started with: start over."""


class SignedUrlExpiredSignal(RetryableFetchError):
    """A redirect target answered 401/403/410: resolve the original URL again, then retry."""
