"""The login page and its cookie: `/login` for browsers, `/api/login` and `/api/logout` for the UI.

The cookie is HttpOnly and SameSite=Strict and holds an HMAC of the token
(`Access.cookie_value`), never the token. After a login the browser goes back to
the page it came from (a local path only, never another site). Checking requests is
`auth.py`'s job; this module only hands out and clears the cookie.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lipforge.api.auth import COOKIE_NAME, Access, unauthorized_response
from lipforge.logs import log_event

COOKIE_MAX_AGE_S = 30 * 24 * 3600
LOGIN_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


router = APIRouter()

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LipForge: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}
.error{{color:#b00020}}</style></head>
<body><h1>LipForge</h1><p>Paste the access token the server printed when it first started
(it is kept in the data dir's <code>access_token</code> file).</p>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>Access token<input type="password" name="token" autocomplete="current-password"
autofocus required></label><button type="submit">Log in</button></form></body></html>
"""


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(next_path: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    error_html = f'<p class="error">{html.escape(error)}</p>' if error else ""
    page = LOGIN_PAGE.format(error=error_html, next=html.escape(_safe_next(next_path)))
    return HTMLResponse(page, status_code=status_code, headers=LOGIN_PAGE_HEADERS)


def _set_session_cookie(response: Response, request: Request, access: Access) -> None:
    response.set_cookie(
        COOKIE_NAME,
        access.cookie_value(),
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _request_access(request: Request) -> Access:
    return request.app.state.access


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/") -> Response:
    if not _request_access(request).required:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(next)


@router.post("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    form = await request.form()
    access = _request_access(request)
    next_path = _safe_next(str(form.get("next") or "/"))
    if not access.required:
        return RedirectResponse(next_path, status_code=303)
    if not access.matches_token(str(form.get("token") or "").strip()):
        log_event("auth.login_failed", client=request.client.host if request.client else None)
        return _login_page(next_path, "That token is not right.", status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    _set_session_cookie(response, request, access)
    return response


@router.post("/api/login")
async def login_api(request: Request) -> Response:
    """JSON login for the browser UI: `{"token": "…"}` -> 204 with the session cookie."""
    access = _request_access(request)
    try:
        body = await request.json()
        candidate = str(body.get("token", "")) if isinstance(body, dict) else ""
    except ValueError:
        candidate = ""
    if access.required and not access.matches_token(candidate.strip()):
        return unauthorized_response()
    response = Response(status_code=204)
    if access.required:
        _set_session_cookie(response, request, access)
    return response


@router.post("/api/logout")
async def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
