"""The FastAPI application factory: state, error mapping and the routers.

`create_app(settings)` wires the database and the routers; it never runs a pipeline
(the worker does). Each route module owns one resource; this module owns no route
except through them.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lipforge import __version__
from lipforge.api import routes_health
from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory
from lipforge.errors import LipforgeError


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.ensure()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        migrate(settings.effective_database_url)
        engine = create_db_engine(settings.effective_database_url)
        app.state.db_engine = engine
        app.state.sessions = session_factory(engine)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="LipForge", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_exception_handler(LipforgeError, _lipforge_error_response)
    app.include_router(routes_health.router)
    return app


async def _lipforge_error_response(_request: Request, exc: LipforgeError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.http_status)
