"""Readings taken when Prometheus scrapes: the queue from the database, and the GPUs.

`QueueCollector(read_queue)` reports jobs by state, the queue depth and each live worker's
last heartbeat and slots from `read_queue()`, a reader the caller hands in
(`jobs.readings.read_queue_figures`: this room does not import the jobs room); these are
true for the whole deployment, whichever API process answers. `GpuCollector` reports this
machine's NVIDIA GPUs under the names NVIDIA's DCGM exporter uses (DCGM_FI_DEV_*, labelled
gpu, UUID, device, modelName, Hostname), from `gpus.read_gpus()`; with no GPU it reports
nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from lipforge.gpus import GpuReading, read_gpus
from lipforge.logs import log_event

MIB = 1024 * 1024
GPU_LABELS = ["gpu", "UUID", "device", "modelName", "Hostname"]
QUEUED_STATE = "queued"  # the state whose count is the queue depth


@dataclass(frozen=True)
class WorkerFigures:
    """One live worker as the metrics page shows it."""

    id: str
    hostname: str
    heartbeat_at: datetime
    slots: int


@dataclass(frozen=True)
class QueueFigures:
    """Jobs by state (every state, 0 included) and the live workers."""

    counts: dict[str, int]
    workers: list[WorkerFigures]


QueueReader = Callable[[], QueueFigures]


class QueueCollector:
    """Jobs by state, queue depth and worker heartbeats, read at scrape time."""

    def __init__(self, read_queue: QueueReader) -> None:
        self.read_queue = read_queue

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self.read_queue()
        except SQLAlchemyError:
            log_event("metrics.database_unreadable", logging.WARNING, exc_info=True)
            return
        jobs = GaugeMetricFamily(
            "lipforge_jobs", "Jobs in the database, by state.", labels=["state"]
        )
        for state, count in figures.counts.items():
            jobs.add_metric([state], float(count))
        yield jobs
        depth = figures.counts.get(QUEUED_STATE, 0)
        yield GaugeMetricFamily("lipforge_queue_depth", "Jobs waiting for a worker.", value=depth)
        yield from _worker_families(figures.workers)


def _worker_families(workers: list[WorkerFigures]) -> Iterator[Metric]:
    heartbeat = GaugeMetricFamily(
        "lipforge_worker_last_heartbeat_timestamp_seconds",
        "Unix time of each live worker's last heartbeat.",
        labels=["worker", "hostname"],
    )
    slots = GaugeMetricFamily(
        "lipforge_worker_slots",
        "Jobs each live worker runs at once.",
        labels=["worker", "hostname"],
    )
    for worker in workers:
        heartbeat.add_metric([worker.id, worker.hostname], worker.heartbeat_at.timestamp())
        slots.add_metric([worker.id, worker.hostname], float(worker.slots))
    yield heartbeat
    yield slots


GPU_GAUGES = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda g: g.utilization_percent),
    (
        "DCGM_FI_DEV_FB_USED",
        "Framebuffer memory used (in MiB).",
        lambda g: g.memory_used_bytes / MIB,
    ),
    (
        "DCGM_FI_DEV_FB_FREE",
        "Framebuffer memory free (in MiB).",
        lambda g: (g.memory_total_bytes - g.memory_used_bytes) / MIB,
    ),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", lambda g: g.temperature_c),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", lambda g: g.power_w),
)


class GpuCollector:
    """This machine's GPUs as DCGM-named gauges; nothing at all without a GPU."""

    def collect(self) -> Iterator[Metric]:
        readings = read_gpus()
        if not readings:
            return
        hostname = socket.gethostname()
        for name, documentation, read in GPU_GAUGES:
            family = GaugeMetricFamily(name, documentation, labels=GPU_LABELS)
            for gpu in readings:
                value = read(gpu)
                if value is not None:
                    family.add_metric(_gpu_labels(gpu, hostname), float(value))
            if family.samples:
                yield family


def _gpu_labels(gpu: GpuReading, hostname: str) -> list[str]:
    return [str(gpu.index), gpu.uuid, f"nvidia{gpu.index}", gpu.name, hostname]
