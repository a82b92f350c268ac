"""The HeyGem companion apps: `--heygem-port` (the /easy/ routes only) and `--heygem-tts-port`
(/v1/invoke only), and the access guard in front of them.

Each is a small FastAPI app that shares the main app's state (database sessions,
settings: the main app's lifespan fills them) and has no lifespan of its own. Access
follows the main port's rule (open: only loopback Host names, no state change from a foreign
Origin; else the token as `Authorization: Bearer …`, failures throttled), plus
LIPFORGE_HEYGEM_ALLOW: client networks that may call these listeners without a token, since
most HeyGem clients cannot send a header (off by default; logged at start). Running them
beside the main port is `server.py`'s job; HeyGem's contract itself is `lipforge.heygem`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, State
from starlette.types import ASGIApp, Receive, Scope, Send

from lipforge.api.auth import UNAUTHORIZED_MESSAGE, error_json, request_access
from lipforge.api.bodydeadline import BodyDeadlineMiddleware
from lipforge.api.hosts import check_host
from lipforge.api.origins import check_origin
from lipforge.api.throttle import client_address, throttle_for
from lipforge.config import Settings
from lipforge.errors import AuthError, LipforgeError
from lipforge.heygem.netguard import IPNetwork, in_networks, parse_networks
from lipforge.logs import HttpErrorLogMiddleware, log_event


def allowed_networks(settings: Settings) -> tuple[IPNetwork, ...]:
    return parse_networks(settings.heygem_allow, "LIPFORGE_HEYGEM_ALLOW")


def companion_app(main_app: FastAPI, routers: Iterable[APIRouter], title: str) -> FastAPI:
    """An app serving only `routers`, sharing `main_app`'s state and access."""
    app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)
    app.state = main_app.state
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(LipforgeError, _error_response)
    settings: Settings = main_app.state.settings
    app.add_middleware(AllowListAccess, state=app.state, networks=allowed_networks(settings))
    app.add_middleware(BodyDeadlineMiddleware, deadline_s=settings.body_timeout_s)
    app.add_middleware(HttpErrorLogMiddleware)
    return app


async def _error_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LipforgeError)  # registered for LipforgeError only
    return JSONResponse(exc.to_json(), status_code=exc.http_status)


class AllowListAccess:
    """ASGI middleware: the main port's guard (Host and Origin checks when open, else the token,
    throttled), except that clients from LIPFORGE_HEYGEM_ALLOW need no token."""

    def __init__(self, app: ASGIApp, state: State, networks: tuple[IPNetwork, ...]) -> None:
        self.app, self.state, self.networks = app, state, networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.admit(scope, Headers(scope=scope))
        except LipforgeError as exc:
            await error_json(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def admit(self, scope: Scope, headers: Headers) -> None:
        settings: Settings = self.state.settings
        access = request_access(self.state, settings)
        if not access.required:
            check_host(scope, headers, settings)
            check_origin(scope, headers, settings, open_server=True)
            return
        if self._client_allowed(scope):
            check_origin(scope, headers, settings, open_server=True)
            return
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        throttle, address = throttle_for(self.state, settings), client_address(scope)
        throttle.check(address)
        if scheme.lower() != "bearer" or not access.matches_token(credentials.strip()):
            throttle.record_failure(address)
            raise AuthError(UNAUTHORIZED_MESSAGE)

    def _client_allowed(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.networks:
            return False
        try:
            return in_networks(ipaddress.ip_address(client[0]), self.networks)
        except ValueError:
            return False


def log_listeners(settings: Settings, ports: dict[str, int]) -> list[str]:
    """What `serve` prints about the HeyGem listeners (and logs as heygem.listen)."""
    lines = []
    for name, port in ports.items():
        lines.append(f"HeyGem {name} on http://{settings.host}:{port}")
    networks = [str(n) for n in allowed_networks(settings)]
    if networks:
        lines.append("HeyGem clients from " + ", ".join(networks) + " may call without a token.")
    log_event("heygem.listen", ports=ports, allow_without_token=networks)
    return lines


@dataclass(frozen=True)
class Companions:
    """The uvicorn configs of the HeyGem listeners asked for, and what to print about them."""

    configs: list[uvicorn.Config]
    announcements: list[str]


def heygem_configs(api, settings, heygem_port, tts_port, make_config) -> Companions:
    """Configs for `--heygem-port` / `--heygem-tts-port` (none when neither was given)."""
    from lipforge.api.routes_heygem import router as video_router
    from lipforge.api.routes_heygem_tts import router as tts_router

    parse_networks(settings.heygem_fetch_allow, "LIPFORGE_HEYGEM_FETCH_ALLOW")  # fail at start
    configs, ports = [], {}
    if heygem_port:
        app = companion_app(api, [video_router], "LipForge HeyGem API")
        configs.append(make_config(app, settings, heygem_port, "off"))
        ports["video API (/easy/)"] = heygem_port
    if tts_port:
        app = companion_app(api, [tts_router], "LipForge HeyGem TTS")
        configs.append(make_config(app, settings, tts_port, "off"))
        ports["TTS (/v1/invoke)"] = tts_port
    return Companions(configs, log_listeners(settings, ports) if ports else [])
