"""The OpenAPI document's error answers: the error body's schema and each route's statuses.

A route names the error statuses it can answer itself, beside its decorator:

    @router.get("/api/things/{thing_id}", responses=error_responses(404))
    @router.post("/api/things", status_code=201, responses=error_responses(404, 409, 422))

Every such answer has the body `ErrorBody` (`{"error", "message", "params"}`, what
`LipforgeError.to_json()` gives). The statuses that the app's middleware may answer on
any route (401 without the token, 421 for a foreign Host, 403 for a foreign Origin on a
state-changing request, 429 after repeated failed logins) are added to every operation by
`install_openapi(app)`: a route does not repeat them. FastAPI's own 422 for a malformed
query or body is rewritten to `ErrorBody` too, since the app answers it in that shape.
This module only describes answers; it decides nothing about a request.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

ERROR_SCHEMA_NAME = "ErrorBody"
MAX_PAGE_OFFSET = 1_000_000_000  # bound for `offset=`: no list is longer, and SQL ints stay small
MAX_EVENT_ID = 2**63 - 1  # event ids are 64-bit database integers
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is not valid (a parameter out of range, a malformed header).",
    401: "A valid access token is required.",
    403: "Refused: a cookie-authenticated change from a foreign origin.",
    404: "No such resource.",
    405: "Method not allowed here; see the Allow header.",
    409: "The request clashes with the current state.",
    410: "The resource is gone.",
    413: "The body is larger than this server accepts.",
    415: "Unsupported content type.",
    421: "Misdirected request: the Host header names no host this server answers as.",
    422: "A parameter or the body is not valid; the message names each bad field.",
    423: "The resource is locked by another request.",
    429: "Too many requests; wait the Retry-After seconds.",
    507: "Not enough free disk.",
}
ANY_ROUTE_STATUSES = (421,)
GUARDED_ROUTE_STATUSES = (401, 429)
STATE_CHANGING_STATUSES = (403,)
STATE_CHANGING_METHODS = frozenset({"post", "put", "patch", "delete"})
SESSION_COOKIE_NAME = "lipforge_session"  # auth.COOKIE_NAME (this module imports no guard)
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


class ErrorBody(BaseModel):
    """Every refusal's body: a stable code, an English sentence, the values it names."""

    error: str = Field(description="Stable error code, e.g. 'not_found'.")
    message: str = Field(description="The reason in English, naming the bad value and the fix.")
    params: dict[str, str | int | float | bool | None] = Field(
        description="The values the message names, for translating it."
    )


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One status's entry for a route's `responses=`: its description and the error body."""
    entry: dict[str, Any] = {
        "model": ErrorBody,
        "description": description or ERROR_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase,
    }
    if status == 429:
        entry["headers"] = RETRY_AFTER_HEADER
    return entry


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status answered with the error body.

    `error_responses(404, 409)`; a description of your own per status:
    `error_responses(404, status_409="A pull of this model is running.")`.
    """
    answer: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answer[status] = error_response(status, descriptions.get(f"status_{status}"))
    for key, text in descriptions.items():
        status = int(key.removeprefix("status_"))
        answer.setdefault(status, error_response(status, text))
    return answer


def file_responses(*media_types: str, redirect: bool = False) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that serves bytes with Range: 200/206 in `media_types`, 416.

    `redirect=True` adds the 307 to a presigned bucket URL that large objects may get.
    """
    content = {
        media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in media_types
    }
    answer: dict[int | str, dict[str, Any]] = {
        200: {"description": "The whole file.", "content": content},
        206: {"description": "The bytes a Range header asked for.", "content": content},
        416: {"description": "The Range starts past the end; Content-Range says the size."},
    }
    if redirect:
        answer[307] = {"description": "Fetch the bytes from the bucket URL in Location."}
    return answer


def install_openapi(app: FastAPI, open_paths: frozenset[str] = frozenset()) -> None:
    """Make `app.openapi()` declare the app-wide error answers on every operation, and, when
    the server needs a token (`app.state.access.required`), how to send it.

    `open_paths` are the paths the token check lets through (no 401/429 there).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            add_shared_errors(document, open_paths)
            access = getattr(app.state, "access", None)
            if access is not None and access.required:
                add_security(document, open_paths)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_shared_errors(document: dict[str, Any], open_paths: frozenset[str]) -> None:
    """Add the middleware's statuses to every operation; FastAPI's 422 becomes the error body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA_NAME] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = list(ANY_ROUTE_STATUSES)
            if path not in open_paths:
                statuses += GUARDED_ROUTE_STATUSES
            if method in STATE_CHANGING_METHODS:
                statuses += STATE_CHANGING_STATUSES
            if "requestBody" in operation:
                statuses.append(400)
            _drop_null_from_parameters(operation)
            responses = operation["responses"]
            for status in statuses:
                responses.setdefault(str(status), _error_entry(status, reference))
            if "422" in responses:
                responses["422"] = _error_entry(422, reference, responses["422"].get("description"))


def add_security(document: dict[str, Any], open_paths: frozenset[str]) -> None:
    """Every operation but the open ones needs the token: as a bearer, or the login cookie."""
    document["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"},
        "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE_NAME},
    }
    document["security"] = [{"bearer": []}, {"session": []}]
    for path in open_paths & set(document.get("paths", {})):
        for operation in document["paths"][path].values():
            operation["security"] = []


def _drop_null_from_parameters(operation: dict[str, Any]) -> None:
    """A query, path or header value is a string or absent, never JSON null: FastAPI's
    `anyOf: [X, {type: null}]` for an optional parameter becomes X."""
    for parameter in operation.get("parameters", ()):
        schema = parameter.get("schema", {})
        branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
        if "anyOf" in schema and len(branches) == 1:
            del schema["anyOf"]
            schema.update(branches[0])


def _error_entry(status: int, reference: dict, description: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS.get(status) or description or HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": dict(reference)}},
    }
    if status == 429:
        entry["headers"] = RETRY_AFTER_HEADER
    return entry


__all__ = [
    "ErrorBody",
    "MAX_EVENT_ID",
    "MAX_PAGE_OFFSET",
    "error_response",
    "error_responses",
    "file_responses",
    "install_openapi",
]
