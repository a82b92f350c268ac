"""The FastAPI application factory: state, error mapping and the routers.

`create_app(settings)` wires the database and the routers; it never runs a pipeline
(the worker does). Each route module owns one resource; this module owns no route
except through them.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lipforge import __version__
from lipforge.api import (
    routes_assets,
    routes_batches,
    routes_events,
    routes_health,
    routes_heygem,
    routes_machine,
    routes_metrics,
    routes_models,
    routes_uploads,
    routes_voice_preview,
    routes_voices,
    routes_web,
)
from lipforge.api.auth import OPEN_PATHS, install_auth
from lipforge.api.bodydeadline import BodyDeadlineMiddleware
from lipforge.api.dberrors import install_db_error_handlers
from lipforge.api.http_metrics import HttpMetricsMiddleware
from lipforge.api.login import router as login_router
from lipforge.api.refusals import install_refusals
from lipforge.api.schema import install_openapi
from lipforge.assets.inbox import watch_inbox
from lipforge.config import Settings
from lipforge.db import create_db_engine, migrate, session_factory
from lipforge.errors import LipforgeError
from lipforge.events import event_bus_service
from lipforge.heygem.results import heygem_publisher
from lipforge.logs import HttpErrorLogMiddleware, configure_logging
from lipforge.uploads.cleaner import upload_cleaner
from lipforge.weights.serverpull import model_pulls_service

ROUTE_MODULES = (
    routes_health,
    routes_uploads,
    routes_assets,
    routes_batches,
    routes_events,
    routes_models,
    routes_machine,
    routes_metrics,
    routes_heygem,
    routes_voices,
    routes_voice_preview,
    routes_web,
)

# Long-running companions of the API process (inbox watcher, upload cleaner, retention,
# the worker process...): each is an async function `service(app) -> None` started as a
# task after migrations and cancelled at shutdown. Add yours to this tuple.
BACKGROUND_SERVICES: tuple = (
    event_bus_service,
    upload_cleaner,
    watch_inbox,
    model_pulls_service,
    heygem_publisher,
)


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.ensure()
    configure_logging(settings.data_dir.logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        migrate(settings.effective_database_url)
        engine = create_db_engine(settings.effective_database_url)
        app.state.db_engine = engine
        app.state.sessions = session_factory(engine)
        tasks = [asyncio.create_task(service(app)) for service in BACKGROUND_SERVICES]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            engine.dispose()

    app = FastAPI(title="LipForge", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_exception_handler(LipforgeError, _lipforge_error_response)
    app.add_exception_handler(RequestValidationError, _validation_error_response)
    install_db_error_handlers(app)
    install_refusals(app)
    for module in ROUTE_MODULES:
        app.include_router(module.router)
    # The token check and the 4xx/5xx log wrap every route; middleware added after these
    # lines (CORS) sits outside them, so preflights and 401s get CORS headers.
    app.include_router(login_router)
    install_auth(app, settings)
    app.add_middleware(BodyDeadlineMiddleware, deadline_s=settings.body_timeout_s)
    app.add_middleware(HttpErrorLogMiddleware)
    app.add_middleware(HttpMetricsMiddleware)  # outermost: counts 401s and 421s too
    install_openapi(app, OPEN_PATHS)
    return app


async def _lipforge_error_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LipforgeError)  # registered for LipforgeError only
    return JSONResponse(exc.to_json(), status_code=exc.http_status)


async def _validation_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """A malformed body or query answered in the project's shape, naming each bad field."""
    assert isinstance(exc, RequestValidationError)  # registered for it only
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    message = "The request is not valid: " + "; ".join(problems) + "."
    body = {"error": "bad_request", "message": message, "params": {"problems": "; ".join(problems)}}
    return JSONResponse(body, status_code=422)
