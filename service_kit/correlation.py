"""Correlation id and W3C trace context: accepted or created at the edge, carried on every hop.

A plain ASGI middleware (no BaseHTTPMiddleware: it breaks streaming and background tasks). It
also writes one structured access-log line per request and feeds the request metrics.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "x-correlation-id"
TRACEPARENT_HEADER = "traceparent"

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
_traceparent: ContextVar[str] = ContextVar("traceparent", default="")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_VALID_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

access_log = structlog.get_logger("interchange.access")


def current_correlation_id() -> str:
    return _correlation_id.get()


def current_traceparent() -> str:
    return _traceparent.get()


def outbound_trace_headers() -> dict[str, str]:
    """Headers that carry this request's identity to the tier below."""
    headers = {}
    if cid := _correlation_id.get():
        headers["X-Correlation-ID"] = cid
    if tp := _traceparent.get():
        # Same trace, a new parent span for the outbound hop.
        trace_id = tp.split("-")[1]
        headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    return headers


def _new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def _internal_error(cid: str) -> bytes:
    return json.dumps(
        {
            "type": "urn:interchange:problem:internal-error",
            "title": "Internal error",
            "status": 500,
            "detail": "Something failed on our side. Quote the correlation id when you report it.",
            "correlation_id": cid,
        }
    ).encode()


RequestObserver = Callable[[str, str, int, float], None]


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp, *, observe: RequestObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cid = incoming.get(CORRELATION_HEADER, "")
        if not _VALID_ID.match(cid):
            cid = uuid.uuid4().hex
        tp = incoming.get(TRACEPARENT_HEADER, "")
        if not _VALID_TRACEPARENT.match(tp):
            tp = _new_traceparent()
        cid_token, tp_token = _correlation_id.set(cid), _traceparent.set(tp)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=cid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last line of defence: log the stack trace here, answer a bare problem that carries
            # only the correlation id, and do not re-raise (the server would log it twice).
            access_log.exception("unhandled_error", path=scope["path"])
            if not response_started:
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/problem+json")],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": _internal_error(cid)})
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
            if not scope["path"].startswith(("/health", "/metrics")):
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            _correlation_id.reset(cid_token)
            _traceparent.reset(tp_token)
