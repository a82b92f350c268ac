"""The counters and histograms every LipForge process may write, and the calls that write them.

Instruments are made on first use, after `multiproc.prepare_run_dir` has (or has not) named
a multiprocess directory: prometheus-client picks in-memory or file-backed values when a
metric is constructed, so nothing here is constructed at import time. Each `record_*`
function is cheap and never raises into its caller: a metric must not fail a request or
a job.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, values

from lipforge.logs import log_event

REQUEST_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_SECONDS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
RENDER_FPS_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 45.0, 60.0, 90.0, 120.0)

_lock = threading.Lock()


@dataclass(frozen=True)
class Instruments:
    registry: CollectorRegistry  # this process's own values (used when not in multiprocess mode)
    http_requests: Counter
    http_seconds: Histogram
    upload_bytes: Counter
    download_bytes: Counter
    job_seconds: Histogram
    render_fps: Histogram
    worker_heartbeats: Counter
    storage_errors: Counter


@cache
def instruments() -> Instruments:
    with _lock:
        values.ValueClass = values.get_value_class()  # the multiprocess dir may be set by now
        disable_created_metrics()  # no *_created series: they double the page for nothing
        registry = CollectorRegistry()
        return Instruments(
            registry=registry,
            http_requests=Counter(
                "lipforge_http_requests",
                "HTTP requests answered, by method, route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            http_seconds=Histogram(
                "lipforge_http_request_duration_seconds",
                "Time from a request's arrival to the end of its answer, by route template.",
                ["method", "route"],
                buckets=REQUEST_SECONDS_BUCKETS,
                registry=registry,
            ),
            upload_bytes=Counter(
                "lipforge_upload_bytes",
                "Bytes received in tus upload requests.",
                registry=registry,
            ),
            download_bytes=Counter(
                "lipforge_download_bytes",
                "Bytes sent for asset, output and archive downloads, by route template.",
                ["route"],
                registry=registry,
            ),
            job_seconds=Histogram(
                "lipforge_job_duration_seconds",
                "Wall time of one job attempt in a worker, by how it ended.",
                ["outcome"],
                buckets=JOB_SECONDS_BUCKETS,
                registry=registry,
            ),
            render_fps=Histogram(
                "lipforge_render_fps",
                "Frames rendered per second by a job attempt, by engine.",
                ["engine"],
                buckets=RENDER_FPS_BUCKETS,
                registry=registry,
            ),
            worker_heartbeats=Counter(
                "lipforge_worker_heartbeats",
                "Heartbeats a worker wrote to the database, by worker id.",
                ["worker"],
                registry=registry,
            ),
            storage_errors=Counter(
                "lipforge_storage_errors",
                "Failed operations on the asset and output storage (data dir or bucket).",
                ["operation"],
                registry=registry,
            ),
        )


def _quietly(record) -> None:
    try:
        record(instruments())
    except Exception:  # a metric never fails the work it counts
        log_event("metrics.record_failed", logging.WARNING, exc_info=True)


def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    def record(m: Instruments) -> None:
        m.http_requests.labels(method, route, str(status)).inc()
        m.http_seconds.labels(method, route).observe(seconds)

    _quietly(record)


def record_upload_bytes(count: int) -> None:
    if count > 0:
        _quietly(lambda m: m.upload_bytes.inc(count))


def record_download_bytes(route: str, count: int) -> None:
    if count > 0:
        _quietly(lambda m: m.download_bytes.labels(route).inc(count))


def record_job_ended(outcome: str, seconds: float, engine: str, fps: float | None) -> None:
    """One job attempt ended in a worker.

    `outcome`: succeeded, failed, stopped (cancelled, or given back at shutdown) or lost (the
    lease ran out before the output was published).
    """

    def record(m: Instruments) -> None:
        m.job_seconds.labels(outcome).observe(seconds)
        if fps:
            m.render_fps.labels(engine).observe(fps)

    _quietly(record)


def record_worker_heartbeat(worker_id: str) -> None:
    _quietly(lambda m: m.worker_heartbeats.labels(worker_id).inc())


def record_storage_error(operation: str) -> None:
    """Count one failed storage operation (`put`, `get`, `delete`, ...); for the storage layer."""
    _quietly(lambda m: m.storage_errors.labels(operation).inc())
