"""The login page and its cookie: `/login` for browsers, `/api/login` and `/api/logout` for the UI.

A right token opens a session (`sessions.py`); the cookie is HttpOnly and SameSite=Strict
and holds the session's random secret, never the token. Logout ends the session on the
server, so a copied cookie stops working too. Wrong tokens count against the client's
address (`throttle.py`): past the limit every attempt answers 429 with Retry-After.
After a login the browser goes back to the page it came from (a local path only, never
another site). Checking requests is `auth.py`'s job; this module hands out and ends sessions.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from lipforge.api.auth import (
    COOKIE_NAME,
    Access,
    error_json,
    request_access,
    session_cookie,
    unauthorized_response,
)
from lipforge.api.errors import TooManyFailuresError
from lipforge.api.loginpage import login_page_html, page_language, say
from lipforge.api.schema import error_responses
from lipforge.api.sessions import close_session, open_session
from lipforge.api.throttle import client_address, throttle_for
from lipforge.logs import log_event

MAX_TOKEN_CHARS = 1024
LOGIN_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


router = APIRouter()


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request, next_path: str, error: str = "", status_code: int = 200
) -> HTMLResponse:
    page = login_page_html(request, _safe_next(next_path), error)
    return HTMLResponse(page, status_code=status_code, headers=LOGIN_PAGE_HEADERS)


async def _start_session(response: Response, request: Request, access: Access) -> None:
    settings = request.app.state.settings
    secret = await asyncio.to_thread(
        open_session,
        request.app.state.sessions,
        access.token_id,
        settings.session_max_age_s,
        client_address(request.scope),
    )
    response.set_cookie(
        COOKIE_NAME,
        secret,
        max_age=int(settings.session_max_age_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _request_access(request: Request) -> Access:
    return request_access(request.app.state, request.app.state.settings)


def _token_is_right(request: Request, access: Access, candidate: str) -> bool:
    """Compare a login's token; raises TooManyFailuresError while the address is slowed down."""
    throttle = throttle_for(request.app.state, request.app.state.settings)
    address = client_address(request.scope)
    throttle.check(address)
    if access.matches_token(candidate.strip()):
        return True
    throttle.record_failure(address)
    log_event("auth.login_failed", client=address)
    return False


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> Response:
    if not _request_access(request).required:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next)


@router.post("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    form = await request.form()
    access = _request_access(request)
    next_path = _safe_next(str(form.get("next") or "/"))
    if not access.required:
        return RedirectResponse(next_path, status_code=303)
    try:
        right = _token_is_right(request, access, str(form.get("token") or ""))
    except TooManyFailuresError as exc:
        reason = say(page_language(request), "errors.too_many_failures", **exc.params)
        page = _login_page(request, next_path, reason, status_code=429)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    if not right:
        wrong = say(page_language(request), "login.wrong")
        return _login_page(request, next_path, wrong, status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    await _start_session(response, request, access)
    return response


class LoginBody(BaseModel):
    """`POST /api/login`: the access token the server printed at its first start."""

    token: str = Field(max_length=MAX_TOKEN_CHARS)


@router.post(
    "/api/login",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 429),
)
async def login_api(request: Request, body: LoginBody) -> Response:
    """JSON login for the browser UI: `{"token": "…"}` -> 204 with the session cookie."""
    access = _request_access(request)
    if not access.required:
        return Response(status_code=204)
    try:
        right = _token_is_right(request, access, body.token)
    except TooManyFailuresError as exc:
        return error_json(exc)
    if not right:
        return unauthorized_response()
    response = Response(status_code=204)
    await _start_session(response, request, access)
    return response


@router.post("/api/logout", status_code=204, response_class=Response)
async def logout(request: Request) -> Response:
    """End this browser's session on the server and clear its cookie."""
    secret = session_cookie(request.headers)
    sessions = getattr(request.app.state, "sessions", None)
    if secret and sessions is not None:
        await asyncio.to_thread(close_session, sessions, secret)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
