"""`GET /metrics`: Prometheus text format for this machine's LipForge processes and the queue.

The token guards it like every route (open on loopback, the bearer token beyond it); a
Prometheus that scrapes over the network sends the token (`authorization` in its scrape
config) or scrapes the `--metrics-port` listener. What is measured: `lipforge/metrics/`.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lipforge.jobs.readings import read_queue_figures
from lipforge.metrics.exposition import METRICS_CONTENT_TYPE, METRICS_PATH, render_metrics

router = APIRouter()

METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Metrics in the Prometheus text exposition format (version 0.0.4).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get(
    METRICS_PATH,
    response_class=Response,
    responses=METRICS_RESPONSES,
    summary="Prometheus metrics",
    tags=["metrics"],
)
async def metrics(request: Request) -> Response:
    sessions = getattr(request.app.state, "sessions", None)
    read_queue = partial(read_queue_figures, sessions) if sessions is not None else None
    body = await asyncio.to_thread(render_metrics, read_queue)
    return Response(body, media_type=METRICS_CONTENT_TYPE)
