"""The primary URL and its mirrors for one download, probed lazily and kept consistent.

A mirror is used only if it reports the same size, honours ranges and sends no
Content-Encoding. A signed redirect target that expired is resolved again from the URL
it came from. Which bytes to fetch is not decided here (`spans.py`), nor how (`fetch.py`).
"""

from __future__ import annotations

import threading

import httpx

from lipforge.weights.errors import DownloadError, RemoteChangedSignal, RetryableFetchError
from lipforge.weights.remote import RemoteFile, probe_remote


class SourcePool:
    """Usable sources by index; index 0 is the one the download was planned on."""

    def __init__(self, client: httpx.Client, first: RemoteFile, mirrors: list[str]):
        self.client = client
        self.size_bytes = first.size_bytes
        self._remotes: list[RemoteFile | None] = [first, *([None] * len(mirrors))]
        self._urls = [first.url, *mirrors]
        self._unusable: set[int] = set()
        self._lock = threading.Lock()
        self.notes: list[str] = []

    def get(self, index: int) -> RemoteFile:
        with self._lock:
            remote = self._remotes[index]
        if remote is not None:
            return remote
        try:
            remote = probe_remote(self.client, self._urls[index])
        except DownloadError as exc:
            with self._lock:
                self._unusable.add(index)
                self.notes.append(f"mirror {self._urls[index]} skipped: {exc}")
            raise RetryableFetchError(str(exc)) from exc
        reason = self._unfit_reason(remote)
        with self._lock:
            if reason:
                self._unusable.add(index)
                self.notes.append(f"mirror {remote.url} skipped: {reason}")
                raise RetryableFetchError(f"mirror {remote.url} {reason}")
            self._remotes[index] = remote
        return remote

    def _unfit_reason(self, remote: RemoteFile) -> str | None:
        if remote.size_bytes != self.size_bytes:
            return f"reports {remote.size_bytes} bytes, expected {self.size_bytes}"
        if not remote.accepts_ranges:
            return "does not honour byte ranges"
        if remote.content_encoding:
            return f"sends Content-Encoding {remote.content_encoding}"
        return None

    def next_index(self, index: int) -> int:
        """The next usable source after `index`, round robin (`index` itself if alone)."""
        count = len(self._urls)
        for step in range(1, count + 1):
            candidate = (index + step) % count
            if candidate not in self._unusable:
                return candidate
        return 0

    def refresh(self, index: int, expired: RemoteFile) -> None:
        """Resolve an expired signed redirect again; the file behind it must be the same version."""
        with self._lock:
            current = self._remotes[index]
            if current is not None and current.resolved_url != expired.resolved_url:
                return
            fresh = probe_remote(self.client, expired.url)
            if fresh.size_bytes != expired.size_bytes or not expired.matches(_headers_of(fresh)):
                raise RemoteChangedSignal(f"{expired.url} now serves another version")
            self._remotes[index] = fresh


def _headers_of(remote: RemoteFile) -> httpx.Headers:
    headers = httpx.Headers()
    if remote.etag:
        headers["etag"] = remote.etag
    if remote.last_modified:
        headers["last-modified"] = remote.last_modified
    return headers
