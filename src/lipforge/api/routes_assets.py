"""Routes for assets: list (filter by kind, paging, newest first), get, delete, content with Range.

Assets are made by `assets.library.ingest_file` (tus uploads, the inbox, `lipforge
import`); there is no route that creates one directly.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request, Response

from lipforge.api.downloads import object_response
from lipforge.assets.library import (
    ASSET_KINDS,
    asset_key,
    delete_asset,
    get_asset,
    list_assets,
)
from lipforge.assets.table import Asset
from lipforge.errors import InvalidRequestError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SHA256_HEX = re.compile(r"[0-9a-f]{64}")

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
        "content_url": f"/api/assets/{asset.id}/content",
    }


@router.get("/api/assets")
async def list_assets_route(
    request: Request,
    kind: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
    sha256: str | None = None,
) -> dict:
    if kind is not None and kind not in ASSET_KINDS:
        raise InvalidRequestError(f"kind={kind!r} is not one of: {', '.join(ASSET_KINDS)}.")
    if sha256 is not None and not SHA256_HEX.fullmatch(sha256):
        raise InvalidRequestError(f"sha256={sha256!r} is not 64 lowercase hex digits.")
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise InvalidRequestError(
            f"limit={limit}, offset={offset}: limit must be 1..{MAX_PAGE_SIZE}, offset >= 0."
        )
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


@router.get("/api/assets/{asset_id}")
async def get_asset_route(request: Request, asset_id: str) -> dict:
    asset = await asyncio.to_thread(get_asset, request.app.state.sessions, asset_id)
    return asset_json(asset)


@router.delete("/api/assets/{asset_id}", status_code=204)
async def delete_asset_route(request: Request, asset_id: str) -> Response:
    state = request.app.state
    await asyncio.to_thread(delete_asset, state.sessions, state.settings, asset_id)
    return Response(status_code=204)


@router.api_route("/api/assets/{asset_id}/content", methods=["GET", "HEAD"])
async def asset_content_route(request: Request, asset_id: str) -> Response:
    state = request.app.state
    asset = await asyncio.to_thread(get_asset, state.sessions, asset_id)
    return await object_response(request, state.settings, asset_key(asset), asset.original_name)
