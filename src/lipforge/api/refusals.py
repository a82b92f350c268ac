"""The refusals Starlette and FastAPI make on their own, answered in the project's error shape.

No route matches (404), the path matches but not the method (405, with an `Allow` header
listing every method any route of that path takes, not just the first route's), the body
cannot be parsed (400): each answers `{"error", "message", "params"}` like every
`LipforgeError`. This module decides nothing; it only words what the framework decided.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

NOT_FOUND_CODE = "not_found"
METHOD_NOT_ALLOWED_CODE = "method_not_allowed"
BAD_REQUEST_CODE = "bad_request"
CANDIDATE_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
CODES_BY_STATUS = {400: BAD_REQUEST_CODE, 404: NOT_FOUND_CODE, 405: METHOD_NOT_ALLOWED_CODE}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the app takes at this request's path."""
    methods = []
    for method in CANDIDATE_METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            methods.append(method)
    return methods


async def http_exception_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    status = exc.status_code
    headers = dict(exc.headers or {})
    params: dict[str, object] = {"method": request.method, "path": request.url.path[:200]}
    if status == 405:
        allow = ", ".join(allowed_methods(request.app, request))
        headers["Allow"] = allow
        params["allow"] = allow
        message = f"{request.method} is not allowed on {request.url.path[:200]}; use {allow}."
    elif status == 404:
        message = f"Nothing is at {request.url.path[:200]}. The API is described at /docs."
    else:
        message = f"The request could not be read: {exc.detail}."
    body = {"error": CODES_BY_STATUS.get(status, BAD_REQUEST_CODE), "message": message}
    return JSONResponse({**body, "params": params}, status_code=status, headers=headers)


def install_refusals(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, http_exception_response)
