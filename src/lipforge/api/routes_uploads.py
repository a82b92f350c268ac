"""Routes for uploads: the tus 1.0 server at /api/uploads/ (see `lipforge.uploads.router`)."""

from __future__ import annotations

from lipforge.uploads.router import router

__all__ = ["router"]
