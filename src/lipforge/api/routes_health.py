"""`GET /api/health`: answers at once, never touches a lock an upload or job may hold."""

from __future__ import annotations

from fastapi import APIRouter

from lipforge import __version__

router = APIRouter()


@router.get("/api/health")
async def health() -> dict:
    return {"status": "ok", "version": __version__}
