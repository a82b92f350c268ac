"""Routes for assets: list (filter by kind, paging, newest first), get, delete, content with Range,
and PATCH an audio's transcript (what it says).

Assets are made by `assets.library.ingest_file` (tus uploads, the inbox, `lipforge
import`); there is no route that creates one directly.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from lipforge.api.downloads import object_response
from lipforge.api.schema import MAX_PAGE_OFFSET, error_responses, file_responses
from lipforge.assets.library import (
    ASSET_KINDS,
    MAX_TRANSCRIPT_CHARS,
    asset_key,
    delete_asset,
    get_asset,
    list_assets,
    set_transcript,
)
from lipforge.assets.table import Asset

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SHA256_HEX = r"^[0-9a-f]{64}$"
AssetKind = Literal["audio", "video"]
assert get_args(AssetKind) == ASSET_KINDS, "AssetKind must list the library's ASSET_KINDS"
CONTENT_TYPES = ("video/*", "audio/*", "application/octet-stream")

router = APIRouter()


def asset_json(asset: Asset) -> dict:
    """The API's view of an asset (also used by routes that embed assets)."""
    return {
        "id": asset.id,
        "kind": asset.kind,
        "original_name": asset.original_name,
        "size_bytes": asset.size_bytes,
        "sha256": asset.sha256,
        "duration_s": asset.duration_s,
        "fps": asset.fps,
        "width": asset.width,
        "height": asset.height,
        "has_audio": asset.has_audio,
        "source": asset.source,
        "created_at": asset.created_at.isoformat(),
        "transcript": asset.transcript,
        "content_url": f"/api/assets/{asset.id}/content",
    }


@router.get("/api/assets", responses=error_responses(422))
async def list_assets_route(
    request: Request,
    kind: AssetKind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_PAGE_OFFSET)] = 0,
    sha256: Annotated[str | None, Query(pattern=SHA256_HEX)] = None,
) -> dict:
    """Assets, newest first; `kind=` and `sha256=` filter, `limit`/`offset` page."""
    sessions = request.app.state.sessions
    assets, total = await asyncio.to_thread(list_assets, sessions, kind, limit, offset, sha256)
    next_offset = offset + len(assets) if offset + len(assets) < total else None
    return {
        "items": [asset_json(asset) for asset in assets],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


@router.get("/api/assets/{asset_id}", responses=error_responses(404))
async def get_asset_route(request: Request, asset_id: str) -> dict:
    asset = await asyncio.to_thread(get_asset, request.app.state.sessions, asset_id)
    return asset_json(asset)


class AssetChange(BaseModel):
    """What a client may change on an asset: an audio's transcript (null or "" forgets it)."""

    model_config = ConfigDict(extra="forbid")

    transcript: Annotated[str | None, Field(max_length=MAX_TRANSCRIPT_CHARS)] = None


@router.patch("/api/assets/{asset_id}", responses=error_responses(404, 422))
async def patch_asset_route(request: Request, asset_id: str, change: AssetChange) -> dict:
    """Set what an audio says; the worker aligns its words to the audio (mouth shapes)."""
    sessions = request.app.state.sessions
    asset = await asyncio.to_thread(set_transcript, sessions, asset_id, change.transcript)
    return asset_json(asset)


@router.delete(
    "/api/assets/{asset_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404, 409),
)
async def delete_asset_route(request: Request, asset_id: str) -> Response:
    state = request.app.state
    await asyncio.to_thread(delete_asset, state.sessions, state.settings, asset_id)
    return Response(status_code=204)


@router.get(
    "/api/assets/{asset_id}/content",
    response_class=Response,
    responses={**file_responses(*CONTENT_TYPES, redirect=True), **error_responses(404)},
)
@router.head(
    "/api/assets/{asset_id}/content",
    operation_id="asset_content_head",
    response_class=Response,
    responses={**file_responses(*CONTENT_TYPES, redirect=True), **error_responses(404)},
)
async def asset_content_route(request: Request, asset_id: str) -> Response:
    state = request.app.state
    asset = await asyncio.to_thread(get_asset, state.sessions, asset_id)
    return await object_response(request, state.settings, asset_key(asset), asset.original_name)
