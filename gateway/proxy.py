"""The streaming reverse proxy: ``/<api>/<vN>/<rest>`` to the service that owns the API.

A raw ASGI endpoint: no FastAPI routing or dependency injection on the hot path (about half the
CPU per request; shared/notes/PERFORMANCE.md), and everything that can be done once is done at
start-up (routing.py). Per request:

    1. find the API and the operation in the routing table       404 / 405, service untouched
    2. run the steps on the Exchange, in order; any may refuse   (raise a service_kit error)
         authenticate   the bearer token, against the gateway's own keys             401
         rate_limit     per client and operation class (ratelimit.py)                429
         next: scopes of the operation, body size and schema, audit
    3. forward: the request body streamed up, the response streamed down (``aiter_raw``: bytes
       as the service sent them, compression included); hop-by-hop headers dropped both ways;
       Authorization kept (the service verifies the token too); X-Correlation-ID and
       traceparent from this request's context; X-Forwarded-For/-Proto/-Host set by us.
       Timeout 504, unreachable 502, any 5xx from the service 502/504 with our own problem
       (the service's body, stack trace and all, never leaves).

Errors are raised as ``service_kit.errors`` and answered by the kit's one handler (problem+json).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import aiohttp
import httpx
import structlog
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from gateway.routing import ApiRoute, Operation, RoutingTable
from service_kit.auth import TokenVerifier
from service_kit.correlation import outbound_trace_headers
from service_kit.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from service_kit.http import is_timeout

Header = tuple[bytes, bytes]

#: RFC 9110 7.6.1 connection-specific fields, plus the non-standard ones still seen in the wild.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Also not forwarded up: the Host (the service's own is used); the trace headers and X-Forwarded-*
# (we set our own); X-Interchange-Partner, which only services may send to each other.
_DROP_UP = HOP_BY_HOP | {
    b"host",
    b"x-correlation-id",
    b"traceparent",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"forwarded",
    b"x-interchange-partner",
}
# Not passed down: the server's own Date/Server and correlation id (the gateway adds its own).
_DROP_DOWN = HOP_BY_HOP | {b"date", b"server", b"x-correlation-id"}

log = structlog.get_logger("gateway.proxy")


@dataclass(slots=True)
class Exchange:
    """One proxied request, as the steps see it."""

    scope: Scope
    route: ApiRoute
    operation: Operation
    #: The path at the service, e.g. ``/v1/orders/MP-1``, percent-decoded and as it was sent.
    service_path: str
    raw_service_path: bytes
    #: The headers that will go up; steps may add to them.
    headers: list[Header]
    #: The bearer token, if the caller sent one.
    token: str | None
    #: The verified token's claims, once ``authenticate`` has run.
    claims: dict[str, Any] | None = None
    #: Headers added to the service's response on the way down (e.g. the rate limit's quota).
    response_headers: list[Header] = field(default_factory=list)


Step = Callable[[Exchange], Awaitable[None]]


def authenticate(verifier: TokenVerifier) -> Step:
    """Refuse a request without a valid access token (the gateway's own, checked against its keys,
    cached per token until it expires)."""

    async def step(exchange: Exchange) -> None:
        if not exchange.token:
            raise Unauthorized(
                "Send an access token: Authorization: Bearer <token> (get one at POST /oauth2/token).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        exchange.claims = await verifier.verify(exchange.token)

    return step


class GatewayProxy:
    """The ASGI endpoint behind ``/{api}/{version}/{rest:path}``; ``configure`` at start-up."""

    def __init__(self) -> None:
        self._routes = RoutingTable({})
        self._http: httpx.AsyncClient | None = None
        self._steps: tuple[Step, ...] = ()
        self._extensions: dict[str, Any] = {}

    def configure(self, *, routes: RoutingTable, http: httpx.AsyncClient, steps: Sequence[Step]) -> None:
        self._routes = routes
        self._http = http
        self._steps = tuple(steps)
        # What client.build_request would add: the client's timeouts (nothing else: no default
        # headers, no cookies; the caller's headers go up as they are).
        self._extensions = {"timeout": http.timeout.as_dict()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        api, _, rest = path[1:].partition("/")
        version = rest.partition("/")[0]
        route = self._routes.get(api, version)
        if route is None:
            raise NotFound(f"There is no API at /{api}/{version}.")
        service_path = "/" + rest
        operations = route.find(service_path)
        if operations is None:
            raise NotFound(f"The {api} {version} API publishes no {path}.")
        operation = operations.get(scope["method"])
        if operation is None:
            allowed = ", ".join(operations)
            raise MethodNotAllowed(f"{path} accepts {allowed}.", headers={"Allow": allowed})
        raw_path: bytes = scope.get("raw_path") or path.encode("utf-8")
        raw_service_path = b"/" + raw_path.split(b"/", 2)[-1]
        if b"%" in raw_path and unquote(raw_service_path.decode("latin-1")) != service_path:
            # An encoded "/" moved the boundary between api, version and path: what we matched
            # is not what the service would get.
            raise NotFound(f"The {api} {version} API publishes no {path}.")
        scope["route"] = operation  # the metrics label: the operation's path template
        headers, token, has_body = _headers_up(scope)
        exchange = Exchange(
            scope=scope,
            route=route,
            operation=operation,
            service_path=service_path,
            raw_service_path=raw_service_path,
            headers=headers,
            token=token,
        )
        for step in self._steps:
            await step(exchange)
        try:
            await self._forward(exchange, has_body, receive, send)
        except ClientDisconnect:
            return  # the caller left; nobody to answer

    async def _forward(self, exchange: Exchange, has_body: bool, receive: Receive, send: Send) -> None:
        assert self._http is not None, "GatewayProxy.configure has not run"
        scope, route = exchange.scope, exchange.route
        target = route.upstream_prefix + exchange.raw_service_path
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        try:
            url = route.upstream.copy_with(raw_path=target)
        except (httpx.InvalidURL, UnicodeDecodeError) as exc:
            raise BadRequest("The request path or query is not valid: percent-encode it.") from exc
        request = httpx.Request(
            scope["method"],
            url,
            headers=exchange.headers,
            content=_body(receive) if has_body else None,
            extensions=self._extensions,
        )
        try:
            response = await self._http.send(request, stream=True)
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            raise _upstream_error(route, exc) from exc
        try:
            if response.status_code >= 500:
                log.warning("upstream_failed", api=route.api, service=route.service, status=response.status_code)
                if response.status_code == 504:
                    raise UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
                raise UpstreamUnavailable(f"The {route.api} API failed. Try again later.")
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _headers_down(response.headers.raw) + exchange.response_headers,
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _headers_up(scope: Scope) -> tuple[list[Header], str | None, bool]:
    """The headers to send up, the bearer token and whether the request has a body; one pass."""
    headers: list[Header] = []
    token: str | None = None
    has_body = False
    host = b""
    listed: frozenset[bytes] = frozenset()
    for name, value in scope["headers"]:
        if name in _DROP_UP:
            if name == b"host":
                host = value
            elif name == b"connection":
                listed = _connection_options(value)
            elif name == b"transfer-encoding":
                has_body = True
            continue
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer":
                token = credentials.strip().decode("latin-1") or None
        elif name == b"content-length":
            has_body = value.strip() != b"0"
        headers.append((name, value))
    if listed:
        headers = [h for h in headers if h[0] not in listed]
    for key, val in outbound_trace_headers().items():
        headers.append((key.lower().encode("latin-1"), val.encode("latin-1")))
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", str(client[0]).encode("latin-1")))
    headers.append((b"x-forwarded-proto", scope["scheme"].encode("latin-1")))
    if host:
        headers.append((b"x-forwarded-host", host))
    return headers, token, has_body


def _headers_down(raw: Iterable[Header]) -> list[Header]:
    headers = [(name.lower(), value) for name, value in raw]
    listed = next((_connection_options(v) for n, v in headers if n == b"connection"), frozenset())
    return [(n, v) for n, v in headers if n not in _DROP_DOWN and n not in listed]


def _connection_options(value: bytes) -> frozenset[bytes]:
    """Header names listed in Connection are hop-by-hop too (RFC 9110 7.6.1)."""
    return frozenset(part.strip().lower() for part in value.split(b",")) - {b"keep-alive", b"close", b""}


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _upstream_error(route: ApiRoute, exc: Exception) -> UpstreamTimeout | UpstreamUnavailable:
    if is_timeout(exc):
        log.warning("upstream_timeout", api=route.api, service=route.service, error=repr(exc))
        return UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
    log.warning("upstream_unreachable", api=route.api, service=route.service, error=repr(exc))
    return UpstreamUnavailable(f"The {route.api} API is unavailable. Try again later.")


__all__ = ["HOP_BY_HOP", "Exchange", "GatewayProxy", "Step", "authenticate"]
