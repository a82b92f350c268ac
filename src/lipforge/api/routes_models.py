"""`GET /api/models` (the registry with install state) and `POST /api/models/{name}/pull`.

A pull runs on the server in a background thread (`weights/serverpull.py`); its
progress reaches browsers as `model.progress` events on `/api/events`, and
`GET /api/models/{name}` answers the same state for polling.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from lipforge.api.schema import error_responses
from lipforge.weights.pull import PullOptions
from lipforge.weights.registry import ModelEntry, get_model, known_models, model_status
from lipforge.weights.serverpull import ModelPulls

router = APIRouter()


def _pulls(request: Request) -> ModelPulls:
    state = request.app.state
    if getattr(state, "model_pulls", None) is None:
        settings = state.settings
        options = PullOptions(min_free_bytes=settings.min_free_disk_bytes)
        state.model_pulls = ModelPulls(state.sessions, settings.data_dir.models, options)
    return state.model_pulls


def _describe(request: Request, entry: ModelEntry) -> dict:
    status = model_status(request.app.state.settings.data_dir.models, entry)
    pull = _pulls(request).state(entry.name)
    return {
        "name": entry.name,
        "engine": entry.engine,
        "description": entry.description,
        "licence": entry.licence,
        "pinned": entry.pinned,
        "installed": status.installed,
        "verified": status.verified,
        "size_bytes": status.size_bytes if status.installed else None,
        "download_bytes": sum(f.size_bytes or 0 for f in entry.files) or None,
        "pull": pull.to_dict() if pull else None,
    }


@router.get("/api/models")
async def list_models_route(request: Request) -> dict:
    models_dir = request.app.state.settings.data_dir.models
    entries = await asyncio.to_thread(known_models, models_dir)
    described = [await asyncio.to_thread(_describe, request, e) for e in entries.values()]
    return {"models": described}


@router.get("/api/models/{name}", responses=error_responses(404))
async def get_model_route(request: Request, name: str) -> dict:
    entry = get_model(name, request.app.state.settings.data_dir.models)
    return await asyncio.to_thread(_describe, request, entry)


@router.post("/api/models/{name}/pull", status_code=202, responses=error_responses(404, 409, 507))
async def pull_model_route(request: Request, name: str) -> dict:
    state = await asyncio.to_thread(_pulls(request).start, name)
    return {"name": name, **state.to_dict()}
