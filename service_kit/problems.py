"""The one handler: every error leaves a service as RFC 9457 problem+json.

Validation errors name the JSON pointer of each field to fix; unexpected exceptions are logged
with their stack trace and answered with a bare 500 that carries only the correlation id.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import get_route_path

from service_kit.correlation import current_correlation_id
from service_kit.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    InterchangeError,
    UnprocessableContent,
    problem_type,
)

log = structlog.get_logger("service_kit.problems")

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "The request body is not valid"),
    429: ("rate-limited", "Too many requests"),
}


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    body.setdefault("correlation_id", current_correlation_id())
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _pointer(loc: tuple[Any, ...]) -> str:
    # FastAPI locations start with where the value came from ("body", "query", "header", "path").
    parts = [str(p) for p in loc[1:]] if loc and loc[0] == "body" else [str(p) for p in loc]
    return "#/" + "/".join(parts) if parts else "#"


def validation_problem(exc: RequestValidationError) -> InterchangeError:
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return BadRequest("The request body is not valid JSON; send a JSON document.")
    errors = []
    for e in raw:
        loc = tuple(e.get("loc", ()))
        where = loc[0] if loc else "body"
        errors.append({"pointer": _pointer(loc), "in": where, "detail": e.get("msg", "invalid")})
    fields = ", ".join(err["pointer"] for err in errors[:5])
    detail = f"Fix these fields and send the request again: {fields}." if fields else "Invalid request."
    return UnprocessableContent(detail, errors=errors)


async def _interchange_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InterchangeError)
    if exc.status >= 500:
        log.warning("request_failed", status=exc.status, error=exc.detail)
    return problem_response(exc.status, exc.to_problem(request.url.path), exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return await _interchange_error(request, validation_problem(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    body = {
        "type": problem_type(slug),
        "title": title,
        "status": exc.status_code,
        "detail": detail,
        "instance": request.url.path,
    }
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = ", ".join(_allowed_methods(request)) or headers.get("Allow", "")
        headers["Allow"] = allowed
        body["detail"] = f"{request.url.path} does not accept {request.method}; it accepts {allowed}."
    return problem_response(exc.status_code, body, headers)


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's Allow header names only the first route whose path matched; a path served by
    # several routes (GET and POST as separate operations) allows the methods of all of them.
    # FastAPI keeps an included router as one wrapper route: ``iter_route_contexts`` (the walk its
    # own OpenAPI generator uses) yields every route inside, with its full path.
    path = get_route_path(request.scope)
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(path):
            allowed |= route.methods
    return sorted(allowed)


def install_problem_handlers(app: FastAPI) -> None:
    # Unexpected exceptions are answered by CorrelationMiddleware, which sees them first.
    app.add_exception_handler(InterchangeError, _interchange_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
