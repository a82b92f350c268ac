"""Download one file: segmented over parallel Range requests, resumable, verified, atomic.

`download(request)` holds a file lock for the destination, probes the sources, resumes
from the control file when the remote file is still the same version (else starts over
cleanly), fetches the missing spans over `connections` connections (or one stream when
the server ignores ranges), checks the sha256 of the whole file and renames it into
place. Nothing is reported as done before the hash is checked. The whole download is held
to `transfer.TransferLimits` (`download_limits`: a model may take a day, but no connection
may bring less than 1 KiB/s over a minute) by a `transfer.BudgetClient`, so httpx still picks
the proxy from `--proxy` or the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).
The per-connection loop lives in `fetch.py`; this module owns the sequence and the files.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from filelock import FileLock, Timeout

from lipforge import __version__
from lipforge.disk import ensure_free_space
from lipforge.errors import CancelledError
from lipforge.transfer import BudgetClient, TransferLimits
from lipforge.weights.control import ControlState, load_control, save_control
from lipforge.weights.errors import (
    ChecksumMismatchError,
    DownloadError,
    DownloadLimitError,
    RangeIgnoredSignal,
    RemoteChangedError,
    RemoteChangedSignal,
    RetryableFetchError,
)
from lipforge.weights.fetch import BACKOFF, FetchContext, run_connection
from lipforge.weights.hasher import PrefixHasher
from lipforge.weights.ratelimit import TokenBucket
from lipforge.weights.remote import RemoteFile, probe_remote
from lipforge.weights.request import (
    DEFAULT_CONNECTIONS,
    DownloadProgress,
    DownloadRequest,
    DownloadResult,
    DownloadRun,
    ProgressCallback,
)
from lipforge.weights.single import fetch_stream
from lipforge.weights.sources import SourcePool
from lipforge.weights.spans import SpanPlan
from lipforge.weights.store import (
    control_path,
    lock_path,
    part_path,
    recorded_sha256,
    remove_quietly,
    sha256_file,
    write_record,
)

CONNECT_TIMEOUT_S = 15.0
MAX_RESTARTS = 2
PROGRESS_INTERVAL_S = 0.1
CONTROL_SAVE_INTERVAL_S = 0.1
DEADLINE_S = 24 * 3600.0  # a whole model download, every retry and restart included
MIN_RATE_BPS = 1024.0  # what each connection must bring, averaged over RATE_WINDOW_S
RATE_WINDOW_S = 60.0
MAX_BYTES = 32 * 1024**3  # read in all, retries included: far above any model (~4 GB at most)


def download(
    request: DownloadRequest,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> DownloadResult:
    """Fetch `request.url` to `request.dest`, verified; raises DownloadError subclasses."""
    request.dest.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(request.dest))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_progress is not None:
            on_progress(DownloadProgress(0, None, "waiting"))
        lock.acquire()
    try:
        installed = _installed_result(request)
        if installed is not None:
            return installed
        with _open_client(request) as client:
            return _download_locked(DownloadRun(request, client, on_progress, should_cancel))
    finally:
        lock.release()


def _installed_result(request: DownloadRequest) -> DownloadResult | None:
    dest = request.dest
    if not dest.is_file():
        return None
    digest = recorded_sha256(dest) or sha256_file(dest)
    if request.sha256 and digest != request.sha256.lower():
        return None
    write_record(dest, digest)
    size = dest.stat().st_size
    return DownloadResult(dest, size, digest, pinned=bool(request.sha256), already_installed=True)


def download_limits(request: DownloadRequest) -> TransferLimits:
    """The request's own limits, else a model's: a day in all, 1 KiB/s per connection (a
    quarter of each connection's share of `--limit-rate` when that is lower), 32 GiB."""
    if request.limits is not None:
        return request.limits
    min_rate_bps = MIN_RATE_BPS
    if request.limit_rate_bps:
        share_bps = request.limit_rate_bps / max(1, request.connections)
        min_rate_bps = min(min_rate_bps, share_bps / 4)
    return TransferLimits(DEADLINE_S, min_rate_bps, RATE_WINDOW_S, MAX_BYTES)


def _open_client(request: DownloadRequest) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=CONNECT_TIMEOUT_S, read=request.read_timeout_s, write=30.0, pool=None
    )
    pool = request.connections + 4
    return BudgetClient(
        download_limits(request),
        proxy=request.proxy,
        transport=request.transport,
        trust_env=request.transport is None,
        timeout=timeout,
        follow_redirects=True,
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        headers={"User-Agent": f"lipforge/{__version__}"},
    )


def _download_locked(run: DownloadRun) -> DownloadResult:
    request = run.request
    for _restart in range(MAX_RESTARTS + 1):
        first, mirrors = _probe_first_source(run)
        try:
            return _attempt(run, first, mirrors)
        except RemoteChangedSignal as exc:
            run.notes.append(f"the remote file changed ({exc}); started over")
            remove_quietly(part_path(request.dest), control_path(request.dest))
    raise RemoteChangedError(
        f"{request.url} changed {MAX_RESTARTS + 1} times while it was being downloaded. "
        "Try again later, or pass a --mirror that serves a stable copy."
    )


def _probe_first_source(run: DownloadRun) -> tuple[RemoteFile, list[str]]:
    """The first source that answers, and the other URLs as its mirrors."""
    urls = [run.request.url, *run.request.mirrors]
    last: Exception | None = None
    for attempt in range(1, run.request.max_attempts + 1):
        retryable = False
        for url in urls:
            try:
                return probe_remote(run.client, url), [u for u in urls if u != url]
            except RetryableFetchError as exc:
                last, retryable = exc, True
            except DownloadError as exc:
                last = exc
        if not retryable:
            break
        if attempt < run.request.max_attempts:  # no wait after the last try
            time.sleep(BACKOFF.delay_s(attempt))
    if isinstance(last, DownloadLimitError):  # the budget is spent for every source
        raise last
    raise DownloadError(f"No source of {run.request.dest.name} answered: {last}") from last


def _attempt(run: DownloadRun, first: RemoteFile, mirrors: list[str]) -> DownloadResult:
    request, part = run.request, part_path(run.request.dest)
    ranged = first.accepts_ranges and not first.content_encoding and request.connections >= 1
    if ranged:
        control = _resumable_control(request, first)
        check_free_disk(request, first.size_bytes - _allocated_bytes(part))
        try:
            hasher = _fetch_ranges(run, control, SourcePool(run.client, first, mirrors))
            return _install(run, first.size_bytes, hasher)
        except RangeIgnoredSignal as exc:
            run.notes.append(f"{exc}: fetched as one stream instead")
            remove_quietly(part, control_path(request.dest))
    else:
        reason = (
            f"Content-Encoding {first.content_encoding}"
            if first.content_encoding
            else ("no byte ranges")
        )
        run.notes.append(f"{first.url} offers {reason}: fetched as one stream")
        remove_quietly(control_path(request.dest))
    check_free_disk(request, first.size_bytes or 0)
    fetch_stream(run, first, part)
    return _install(run, None if first.content_encoding else first.size_bytes)


def _resumable_control(request: DownloadRequest, first: RemoteFile) -> ControlState:
    """The saved state if it describes this very file; else a fresh one (old bytes removed).

    Without a validator and without a sha256 nothing could tell two versions apart, so
    such a download is never resumed.
    """
    part, control_file = part_path(request.dest), control_path(request.dest)
    saved = load_control(control_file)
    same = (
        saved is not None
        and (first.if_range is not None or request.sha256 is not None)
        and part.is_file()
        and saved.size_bytes == first.size_bytes
        and saved.sha256 == request.sha256
        and saved.validators.get(first.url, first.validators()) == first.validators()
    )
    if same:
        saved.validators[first.url] = first.validators()
        return saved
    remove_quietly(part, control_file)
    return ControlState(first.size_bytes, request.sha256, {first.url: first.validators()})


def _allocated_bytes(path: Path) -> int:
    try:
        return path.stat().st_blocks * 512
    except OSError:
        return 0


def check_free_disk(request: DownloadRequest, needed_bytes: int) -> None:
    ensure_free_space(request.dest.parent, needed_bytes, request.min_free_bytes)


def _fetch_ranges(run: DownloadRun, control: ControlState, sources: SourcePool) -> PrefixHasher:
    """Fetch every missing span; returns the hasher that followed the finished prefix."""
    request, size = run.request, control.size_bytes
    plan = SpanPlan(
        size, control.done, request.connections, request.min_split_bytes, request.max_request_bytes
    )
    run.resumed_bytes = control.done_bytes
    fd = os.open(part_path(request.dest), os.O_RDWR | os.O_CREAT, 0o644)
    hasher, connections_running = None, False
    try:
        _preallocate(fd, size)
        hasher = PrefixHasher(part_path(request.dest), plan.prefix_bytes).start()
        ctx = FetchContext(
            run.client, plan, fd, sources,
            TokenBucket(request.limit_rate_bps) if request.limit_rate_bps else None,
            threading.Event(), request.max_attempts, run.received, request.max_request_bytes,
        )  # fmt: skip
        connections_running = True
        errors = _run_connections(run, ctx, control, request.connections)
        connections_running = False
        _checkpoint(fd, control, plan, control_path(request.dest))
        run.notes.extend(sources.notes)
        if errors:
            raise errors[0]
        if not plan.complete:
            raise DownloadError(f"{request.url}: the download stopped with bytes missing.")
        return hasher
    except BaseException:
        if hasher is not None:
            hasher.close()
        raise
    finally:
        if not connections_running:  # else a connection may still write: fd must stay valid
            os.close(fd)


def _preallocate(fd: int, size_bytes: int) -> None:
    if os.fstat(fd).st_size != size_bytes:
        os.ftruncate(fd, size_bytes)
    if hasattr(os, "posix_fallocate") and size_bytes:
        try:
            os.posix_fallocate(fd, 0, size_bytes)
        except OSError:
            pass


def _run_connections(run: DownloadRun, ctx: FetchContext, control: ControlState, count: int):
    errors: list[BaseException] = []
    finished = threading.Semaphore(0)

    def connection() -> None:
        try:
            run_connection(ctx)
        except BaseException as exc:  # noqa: BLE001 - handed to the coordinating thread
            errors.append(exc)
            ctx.stop.set()
        finally:
            finished.release()

    threads = [threading.Thread(target=connection, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        _watch_connections(run, ctx, control, finished, len(threads), errors)
    except BaseException:  # Ctrl-C: stop the connections, keep what is on disk
        ctx.stop.set()
        _checkpoint(ctx.fd, control, ctx.plan, control_path(run.request.dest))
        raise
    return errors


def _watch_connections(
    run: DownloadRun, ctx, control, finished, running: int, errors: list
) -> None:
    """Report progress and save the control file until every connection has ended."""
    saved_at = time.monotonic()
    while running:
        while running and finished.acquire(timeout=PROGRESS_INTERVAL_S):
            running -= 1
        if not ctx.stop.is_set() and run.cancelled():
            ctx.stop.set()
            errors.append(CancelledError(f"Download of {run.request.dest.name} cancelled."))
        run.report(ctx.plan.done_bytes(), ctx.plan.size_bytes, "downloading")
        if time.monotonic() - saved_at >= CONTROL_SAVE_INTERVAL_S:
            _checkpoint(ctx.fd, control, ctx.plan, control_path(run.request.dest))
            saved_at = time.monotonic()


def _checkpoint(fd: int, control: ControlState, plan: SpanPlan, path: Path) -> None:
    """Sync the .part, then record what is in it: the control never claims unsynced bytes."""
    done = plan.done_spans()
    os.fdatasync(fd)
    control.done = done
    save_control(path, control)


def _install(
    run: DownloadRun, size_bytes: int | None, hasher: PrefixHasher | None = None
) -> DownloadResult:
    request, part = run.request, part_path(run.request.dest)
    actual = part.stat().st_size
    run.report(actual, size_bytes, "verifying")
    if size_bytes is not None and actual != size_bytes:
        if hasher is not None:
            hasher.close()
        remove_quietly(part, control_path(request.dest))
        raise DownloadError(f"{request.url}: got {actual} bytes, expected {size_bytes}.")
    digest = hasher.finish() if hasher is not None else sha256_file(part)
    if request.sha256 and digest != request.sha256.lower():
        remove_quietly(part, control_path(request.dest))
        raise ChecksumMismatchError(
            f"{request.dest.name} from {request.url} has sha256 {digest}, expected "
            f"{request.sha256.lower()}. The download was deleted and nothing was installed; "
            "the server or a mirror serves another file. Try again or pass another --mirror."
        )
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, request.dest)
    write_record(request.dest, digest)
    remove_quietly(control_path(request.dest))
    run.report(actual, actual, "done")
    return DownloadResult(
        request.dest,
        actual,
        digest,
        pinned=bool(request.sha256),
        resumed_bytes=run.resumed_bytes,
        fetched_bytes=run.received.value,
        notes=tuple(run.notes),
    )


__all__ = [
    "DEFAULT_CONNECTIONS",
    "DownloadProgress",
    "DownloadRequest",
    "DownloadResult",
    "download",
]
