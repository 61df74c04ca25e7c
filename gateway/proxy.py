"""The streaming reverse proxy: ``/<api>/<vN>/<rest>`` to the service that owns the API.

A raw ASGI endpoint: no FastAPI routing or dependency injection on the hot path (about half the
CPU per request; shared/notes/PERFORMANCE.md), and everything that can be done once is done at
start-up (routing.py). Per request:

    1. find the API and the operation in the routing table       404 / 405, service untouched
    2. run the steps on the Exchange, in order; any may refuse   (raise a service_kit error)
         authenticate   the bearer token, against the gateway's keys (or the         401
                        external issuer's); a disabled client's tokens (cached list);
                        process APIs for internal clients only (anyone else: 404)    404
         rate_limit     per client and operation class (ratelimit.py)                429
         refuse_after_sunset   a version past its sunset (policy.py)                 410
         require_scopes        the operation's OAuth scopes (policy.py)              403
         check_request_body    size, media type, JSON depth and schema (policy.py)   413 415 400 422
    3. forward: the request body streamed up (or, once validated, as read), the response
       streamed down (``aiter_raw``: bytes as the service sent them, compression included);
       hop-by-hop headers dropped both ways; Authorization kept (the service verifies the token
       too); X-Correlation-ID and traceparent from this request's context; X-Forwarded-For/
       -Proto/-Host set by us. Timeout 504, unreachable 502, any 5xx from the service 502/504
       with our own problem (the service's body, stack trace and all, never leaves).
    4. audit: one record queued for the background writer (audit.py), whatever the outcome.

Errors are raised as ``service_kit.errors`` and answered by the kit's one handler (problem+json);
the headers steps put on the answer (rate limit quota, a deprecated version's ``Deprecation``,
``Sunset`` and ``Link``) go on the refusal too.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import aiohttp
import httpx
import structlog
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from gateway.audit import AuditLog
from gateway.bodies import CappedBody, too_large
from gateway.clients import DisabledClients
from gateway.routing import ApiRoute, Operation, RoutingTable
from gateway.versions import replaced_down
from service_kit.auth import TokenVerifier
from service_kit.correlation import current_correlation_id, outbound_trace_headers
from service_kit.errors import (
    BadRequest,
    InterchangeError,
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
#: Client kinds that may call process APIs through the gateway (token claim ``kind``).
INTERNAL_KINDS = frozenset({"internal"})

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
    #: Where the request body comes from (read it only through ``bodies``: it is capped).
    receive: Receive
    #: Whether the request has a body, its Content-Type and Content-Length as sent.
    has_body: bool = False
    content_type: bytes = b""
    content_length: int | None = None
    #: The body, once a step has read (and validated) it; it then goes up as it is.
    body: bytes | None = None
    #: The verified token's claims, once ``authenticate`` has run.
    claims: dict[str, Any] | None = None
    #: Headers added to the service's response on the way down (e.g. the rate limit's quota).
    response_headers: list[Header] = field(default_factory=list)


Step = Callable[[Exchange], Awaitable[None]]


def authenticate(verifier: TokenVerifier, disabled: DisabledClients | None = None) -> Step:
    """Refuse a request without a valid access token (checked against the gateway's keys, cached
    per token until it expires) or with the token of a client disabled since (``disabled``, the
    list the gateway re-reads every few seconds). On a process API (``internal_only``) anyone but
    an internal client gets the 404 of an API that does not exist, token or no token."""

    async def step(exchange: Exchange) -> None:
        hidden = exchange.route.internal_only
        if not exchange.token:
            if hidden:
                raise _no_such_api(exchange.route)
            raise Unauthorized(
                "Send an access token: Authorization: Bearer <token> (get one at POST /oauth2/token).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            claims = await verifier.verify(exchange.token)
        except Unauthorized:
            if hidden:
                raise _no_such_api(exchange.route) from None
            raise
        if disabled is not None and claims.get("client_id") in disabled:
            if hidden:
                raise _no_such_api(exchange.route)
            raise Unauthorized("This client is disabled: its access tokens are no longer accepted.")
        if hidden and claims.get("kind") not in INTERNAL_KINDS:
            raise _no_such_api(exchange.route)
        exchange.claims = claims

    return step


def _no_such_api(route: ApiRoute) -> NotFound:
    return NotFound(f"There is no API at /{route.api}/{route.version}.")


def _not_published(route: ApiRoute, path: str) -> NotFound:
    # On a process API, the same words as for an API that does not exist: the answer must not
    # tell an outsider that it does (an internal client knows its paths).
    if route.internal_only:
        return _no_such_api(route)
    return NotFound(f"The {route.api} {route.version} API publishes no {path}.")


class GatewayProxy:
    """The ASGI endpoint behind ``/{api}/{version}/{rest:path}``; ``configure`` at start-up."""

    def __init__(self) -> None:
        self._routes = RoutingTable({})
        self._http: httpx.AsyncClient | None = None
        self._steps: tuple[Step, ...] = ()
        self._extensions: dict[str, Any] = {}
        self._max_body: int | None = None
        self._audit: AuditLog | None = None

    def configure(
        self,
        *,
        routes: RoutingTable,
        http: httpx.AsyncClient,
        steps: Sequence[Step],
        max_body_bytes: int | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        """``max_body_bytes`` caps a body streamed up unread (bodies the steps read are capped by
        them); ``audit`` gets one record per call."""
        self._routes = routes
        self._http = http
        self._steps = tuple(steps)
        # What client.build_request would add: the client's timeouts (nothing else: no default
        # headers, no cookies; the caller's headers go up as they are).
        self._extensions = {"timeout": http.timeout.as_dict()}
        self._max_body = max_body_bytes
        self._audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        route: ApiRoute | None = None
        exchange: Exchange | None = None
        try:
            path: str = scope["path"]
            api, _, rest = path[1:].partition("/")
            version = rest.partition("/")[0]
            route = self._routes.get(api, version)
            if route is None:
                raise NotFound(f"There is no API at /{api}/{version}.")
            service_path = "/" + rest
            operations = route.find(service_path)
            if operations is None:
                raise _not_published(route, path)
            operation = operations.get(scope["method"])
            if operation is None:
                if route.internal_only:  # no Allow list that would tell outsiders the API exists
                    raise _not_published(route, path)
                allowed = ", ".join(operations)
                raise MethodNotAllowed(f"{path} accepts {allowed}.", headers={"Allow": allowed})
            raw_path: bytes = scope.get("raw_path") or path.encode("utf-8")
            raw_service_path = b"/" + raw_path.split(b"/", 2)[-1]
            if b"%" in raw_path and unquote(raw_service_path.decode("latin-1")) != service_path:
                # An encoded "/" moved the boundary between api, version and path: what we matched
                # is not what the service would get.
                raise _not_published(route, path)
            scope["route"] = operation  # the metrics label: the operation's path template
            headers, token, has_body, content_type, content_length = _headers_up(scope)
            exchange = Exchange(
                scope=scope,
                route=route,
                operation=operation,
                service_path=service_path,
                raw_service_path=raw_service_path,
                headers=headers,
                token=token,
                receive=receive,
                has_body=has_body,
                content_type=content_type,
                content_length=content_length,
                response_headers=route.versioning.headers(rest[len(version) :]) if route.versioning else [],
            )
            for step in self._steps:
                await step(exchange)
            status = await self._forward(exchange, send)
        except InterchangeError as exc:
            status = exc.status
            _add_headers(exc, route, exchange, scope)
            raise
        except ClientDisconnect:
            status = 499  # the caller left; nobody to answer
        finally:
            if self._audit is not None:
                self._audit.record(_audit_row(scope, exchange, status, started))

    async def _forward(self, exchange: Exchange, send: Send) -> int:
        assert self._http is not None, "GatewayProxy.configure has not run"
        scope, route = exchange.scope, exchange.route
        target = route.upstream_prefix + exchange.raw_service_path
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        try:
            url = route.upstream.copy_with(raw_path=target)
        except (httpx.InvalidURL, UnicodeDecodeError) as exc:
            raise BadRequest("The request path or query is not valid: percent-encode it.") from exc
        streamed: CappedBody | None = None
        if exchange.body is not None:
            content: Any = exchange.body
        elif exchange.has_body:
            content = streamed = CappedBody(exchange.receive, self._max_body or _UNCAPPED)
        else:
            content = None
        request = httpx.Request(
            scope["method"], url, headers=exchange.headers, content=content, extensions=self._extensions
        )
        try:
            response = await self._http.send(request, stream=True)
        except ClientDisconnect:
            raise
        except Exception as exc:
            if streamed is not None and streamed.exceeded:
                # The count passed the cap on the way up: the service got an aborted request.
                raise too_large(streamed.limit) from exc
            if isinstance(exc, httpx.TransportError | aiohttp.ClientError | TimeoutError):
                raise _upstream_error(route, exc) from exc
            raise
        try:
            status = response.status_code
            if status >= 500:
                log.warning("upstream_failed", api=route.api, service=route.service, status=status)
                if status == 504:
                    raise UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
                raise UpstreamUnavailable(f"The {route.api} API failed. Try again later.")
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": _headers_down(response.headers.raw, replace=route.versioning is not None)
                    + exchange.response_headers,
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return status
        finally:
            await response.aclose()


_UNCAPPED = 1 << 62


def _add_headers(exc: InterchangeError, route: ApiRoute | None, exchange: Exchange | None, scope: Scope) -> None:
    """The headers the answer would have carried (quota, deprecation) go on the refusal too."""
    if exchange is not None:
        extra = exchange.response_headers
    elif route is not None and route.versioning is not None:
        extra = route.versioning.headers(scope["path"][len(route.api) + len(route.version) + 2 :])
    else:
        return
    present = {name.lower() for name in exc.headers}
    for name, value in extra:
        if name.decode("latin-1") not in present:
            exc.headers[name.decode("latin-1").title()] = value.decode("latin-1")


def _audit_row(scope: Scope, exchange: Exchange | None, status: int, started: float) -> Any:
    latency_ms = (time.perf_counter() - started) * 1000
    if exchange is not None:
        route, operation, claims = exchange.route, exchange.operation, exchange.claims or {}
        client_id, partner_id = claims.get("client_id"), claims.get("partner_id")
        return (
            time.time() - latency_ms / 1000,
            str(client_id)[:64] if client_id else None,
            str(partner_id)[:64] if partner_id else None,
            operation.method,
            route.api,
            route.version,
            operation.operation_id,
            operation.path,
            status,
            latency_ms,
            current_correlation_id(),
        )
    path: str = scope["path"]
    api, _, rest = path[1:].partition("/")
    return (
        time.time() - latency_ms / 1000,
        None,
        None,
        str(scope["method"])[:16],
        api[:64],
        rest.partition("/")[0][:16],
        None,
        path[:512],
        status,
        latency_ms,
        current_correlation_id(),
    )


def _headers_up(scope: Scope) -> tuple[list[Header], str | None, bool, bytes, int | None]:
    """The headers to send up, the bearer token, whether the request has a body, its Content-Type
    and Content-Length; one pass."""
    headers: list[Header] = []
    token: str | None = None
    has_body = False
    content_type = b""
    content_length: int | None = None
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
            if not value.strip().isdigit():
                raise BadRequest("Content-Length must be a number of bytes.")
            content_length = int(value)
            has_body = content_length > 0
        elif name == b"content-type":
            content_type = value
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
    return headers, token, has_body, content_type, content_length


def _headers_down(raw: Iterable[Header], *, replace: bool = False) -> list[Header]:
    """The service's headers minus hop-by-hop ones; with ``replace`` (a deprecated version) also
    minus those the gateway sends itself (versions.py)."""
    headers = [(name.lower(), value) for name, value in raw]
    listed = next((_connection_options(v) for n, v in headers if n == b"connection"), frozenset())
    kept = [(n, v) for n, v in headers if n not in _DROP_DOWN and n not in listed]
    return [(n, v) for n, v in kept if not replaced_down(n, v)] if replace else kept


def _connection_options(value: bytes) -> frozenset[bytes]:
    """Header names listed in Connection are hop-by-hop too (RFC 9110 7.6.1)."""
    return frozenset(part.strip().lower() for part in value.split(b",")) - {b"keep-alive", b"close", b""}


def _upstream_error(route: ApiRoute, exc: Exception) -> UpstreamTimeout | UpstreamUnavailable:
    if is_timeout(exc):
        log.warning("upstream_timeout", api=route.api, service=route.service, error=repr(exc))
        return UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
    log.warning("upstream_unreachable", api=route.api, service=route.service, error=repr(exc))
    return UpstreamUnavailable(f"The {route.api} API is unavailable. Try again later.")


__all__ = ["HOP_BY_HOP", "INTERNAL_KINDS", "Exchange", "GatewayProxy", "Header", "Step", "authenticate"]
