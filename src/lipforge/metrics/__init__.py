"""Prometheus metrics: what LipForge counts, how several processes add up, and the exposition.

`instruments.py` holds the counters and histograms and the small `record_*` functions the
rest of the code calls (`record_storage_error(operation)` for the storage layer, job ends
for the worker, bytes for uploads and downloads); `multiproc.py` the per-run directory in
which every process of one run (API, its worker, ...) writes its values; `collectors.py`
the readings taken at scrape time (jobs by state and queue depth from the database,
worker heartbeats, GPU gauges named as NVIDIA's DCGM exporter names them); `exposition.py`
the text answer and the `--metrics-port` server. The `GET /metrics` route is
`api/routes_metrics.py`, the per-route HTTP counters `api/http_metrics.py`.
"""

from lipforge.metrics.instruments import (
    record_download_bytes,
    record_http_request,
    record_job_ended,
    record_storage_error,
    record_upload_bytes,
    record_worker_heartbeat,
)

__all__ = [
    "record_download_bytes",
    "record_http_request",
    "record_job_ended",
    "record_storage_error",
    "record_upload_bytes",
    "record_worker_heartbeat",
]
