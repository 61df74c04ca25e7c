"""Correlation id and W3C trace context: accepted or created at the edge, carried on every hop.

A plain ASGI middleware (no BaseHTTPMiddleware: it breaks streaming and background tasks). It
also feeds the request metrics and, when ``access_log`` is on, writes one structured access-log
line per request.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "x-correlation-id"
TRACEPARENT_HEADER = "traceparent"

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
_traceparent: ContextVar[str] = ContextVar("traceparent", default="")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_VALID_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

access_log = structlog.get_logger("interchange.access")

# Correlation, trace and span ids must be unique, not secret: nothing is authorised by knowing
# one. A private generator seeded from the OS makes them for ~0.2 µs where uuid4/secrets pay a
# getrandom(2) system call each (three per request at the gateway). Private, so nobody else's
# use of the random module moves it, and reseeded in a forked child so it does not repeat its
# parent's ids.
_ids = random.Random(os.urandom(32))  # noqa: S311 - uniqueness, not secrecy (see above)
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def _hex(bits: int) -> str:
    return f"{_ids.getrandbits(bits):0{bits // 4}x}"


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
        headers["traceparent"] = f"00-{trace_id}-{_hex(64)}-01"
    return headers


def _new_traceparent() -> str:
    return f"00-{_hex(128)}-{_hex(64)}-01"


def request_identity(correlation_id: bytes | str, traceparent: bytes | str) -> tuple[str, str]:
    """The caller's correlation id and traceparent if they are well-formed, else new ones."""
    cid = correlation_id.decode("latin-1") if isinstance(correlation_id, bytes) else correlation_id
    if not _VALID_ID.match(cid):
        cid = _hex(128)
    tp = traceparent.decode("latin-1") if isinstance(traceparent, bytes) else traceparent
    if not _VALID_TRACEPARENT.match(tp):
        tp = _new_traceparent()
    return cid, tp


class BoundIdentity:
    """This request's identity in the context (``current_correlation_id``, outbound headers,
    every log line); ``reset`` when the request is done."""

    __slots__ = ("_cid_token", "_tp_token", "correlation_id")

    def __init__(self, correlation_id: str, traceparent: str) -> None:
        self.correlation_id = correlation_id
        self._cid_token = _correlation_id.set(correlation_id)
        self._tp_token = _traceparent.set(traceparent)

    def reset(self) -> None:
        _correlation_id.reset(self._cid_token)
        _traceparent.reset(self._tp_token)


def bind_request_identity(correlation_id: str, traceparent: str) -> BoundIdentity:
    return BoundIdentity(correlation_id, traceparent)


def add_correlation_id(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: every line logged while a request is served carries its id."""
    if "correlation_id" not in event and (cid := _correlation_id.get()):
        event["correlation_id"] = cid
    return event


def internal_error_body(cid: str) -> bytes:
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
    def __init__(self, app: ASGIApp, *, observe: RequestObserver | None = None, access_log: bool = False) -> None:
        self.app = app
        self.observe = observe
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid_raw = tp_raw = b""
        for name, value in scope["headers"]:  # ASGI header names are lower-case
            if name == b"x-correlation-id":
                cid_raw = value
            elif name == b"traceparent":
                tp_raw = value
        identity = bind_request_identity(*request_identity(cid_raw, tp_raw))
        cid = identity.correlation_id
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
                await send_with_id({"type": "http.response.body", "body": internal_error_body(cid)})
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
            if self.access_log and not scope["path"].startswith(("/health", "/metrics")):
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            identity.reset()
