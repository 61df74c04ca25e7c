"""The streaming reverse proxy: ``/<api>/<vN>/<rest>`` to the service that owns the API.

The gateway's hot path, and a raw ASGI app of its own: ``GatewayApp`` (app.py) hands it every
such call ahead of FastAPI's middleware, routing and dependency injection (which cost more CPU
than the whole policy; shared/notes/PERFORMANCE.md), so it does for these calls what the kit's
middleware does for the others: accept or create the correlation id and traceparent, answer
every refusal as problem+json, answer an unexpected failure with a bare 500, count the request
in the metrics. Everything that can be done once is done at start-up (routing.py). Per request:

    1. find the API and the operation in the routing table       404 / 405, service untouched
    2. run the steps on the Exchange, in order; any may refuse   (raise a service_kit error)
         authenticate   the bearer token, against the gateway's keys (or the         401
                        external issuer's); a disabled client's tokens (cached list);
                        process APIs for internal clients only (anyone else: 404)    404
         require_scopes        the operation's OAuth scopes (policy.py)              403
         rate_limit     per client and operation class (ratelimit.py)                429
         refuse_after_sunset   a version past its sunset (policy.py)                 410
         check_request_body    size, media type, JSON depth and schema (policy.py)   413 415 400 422
    3. forward (forward.py): the request body streamed up (or, once validated, as read), the
       response streamed down as the service sent its bytes; hop-by-hop headers dropped both
       ways; Authorization kept (the service verifies the token too); X-Correlation-ID and a
       traceparent for this hop; X-Forwarded-For/-Proto/-Host set by us. Timeout 504,
       unreachable 503 with Retry-After, a 5xx from the service our own problem (forward.py);
       a problem of the service names the partner's path as its instance (answers.py).
    4. audit: one record queued for the background writer (audit.py), whatever the outcome.

Errors are raised as ``service_kit.errors`` and answered here as problem+json; the headers steps
put on the answer (rate limit quota, a deprecated version's ``Deprecation``, ``Sunset`` and
``Link``) go on the refusal too. The audit log is the per-call record; an access-log line per
proxied call is optional (``proxy_access_log``), and failures are logged either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from gateway.audit import AuditLog
from gateway.clients import DisabledClients
from gateway.forward import Forwarder
from gateway.routing import ApiRoute, Operation, RoutingTable
from gateway.versions import replaced_down
from service_kit.auth import TokenVerifier
from service_kit.correlation import (
    RequestObserver,
    bind_request_identity,
    internal_error_body,
    outbound_trace_headers,
    request_identity,
)
from service_kit.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    InterchangeError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)

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
access_log = structlog.get_logger("interchange.access")


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
    method: str = "GET"
    query_string: bytes = b""


#: A step refuses by raising. One that has to wait (a token to verify, a body to read, a shared
#: counter) returns an awaitable; any other returns None, so a call costs no coroutine per step.
Step = Callable[[Exchange], Awaitable[None] | None]


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
    """The ASGI app for ``/{api}/{version}/...``; ``configure`` at start-up."""

    def __init__(self) -> None:
        self._routes = RoutingTable({})
        self._forwarder: Forwarder | None = None
        self._steps: tuple[Step, ...] = ()
        self._max_body: int | None = None
        self._audit: AuditLog | None = None
        self._observe: RequestObserver | None = None
        self._access_log = False

    def configure(
        self,
        *,
        routes: RoutingTable,
        forwarder: Forwarder,
        steps: Sequence[Step],
        max_body_bytes: int | None = None,
        audit: AuditLog | None = None,
        observe: RequestObserver | None = None,
        access_log: bool = False,
    ) -> None:
        """``max_body_bytes`` caps a body streamed up unread (bodies the steps read are capped by
        them); ``audit`` gets one record per call, ``observe`` the request metrics; with
        ``access_log`` every call is also logged (else only failures are)."""
        self._routes = routes
        self._forwarder = forwarder
        self._steps = tuple(steps)
        self._max_body = max_body_bytes
        self._audit = audit
        self._observe = observe
        self._access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        route: ApiRoute | None = None
        exchange: Exchange | None = None
        up = _headers_up(scope)
        identity = bind_request_identity(*request_identity(up.correlation_id, up.traceparent))
        answer = _Answer(send, identity.correlation_id)
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
            if up.bad_length:
                raise BadRequest("Content-Length must be a number of bytes.")
            scope["route"] = operation  # the metrics label: the operation's path template
            exchange = Exchange(
                scope=scope,
                route=route,
                operation=operation,
                service_path=service_path,
                raw_service_path=raw_service_path,
                headers=up.headers + _identity_up(scope, up.host),
                token=up.token,
                receive=receive,
                has_body=up.has_body,
                content_type=up.content_type,
                content_length=up.content_length,
                response_headers=route.versioning.headers(rest[len(version) :]) if route.versioning else [],
                method=scope["method"],
                query_string=scope["query_string"],
            )
            for step in self._steps:
                pending = step(exchange)
                if pending is not None:
                    await pending
            assert self._forwarder is not None, "GatewayProxy.configure has not run"
            status = await self._forwarder.forward(
                exchange, answer.send, headers_down=_headers_down, max_body=self._max_body
            )
        except InterchangeError as exc:
            status = exc.status
            _add_headers(exc, route, exchange, scope)
            if exc.status >= 500:
                log.warning("request_failed", status=exc.status, error=exc.detail)
            if not answer.started:
                await answer.problem(exc, scope["path"])
        except ClientDisconnect:
            status = 499  # the caller left; nobody to answer
        except Exception:
            # As the kit's middleware does: the stack trace goes to our log, the caller gets a
            # bare 500 with the correlation id (or, mid-stream, a cut connection).
            log.exception("unhandled_error", path=scope["path"])
            status = 500
            if not answer.started:
                await answer.internal_error()
        finally:
            elapsed = time.perf_counter() - started
            if self._audit is not None:
                self._audit.record(_audit_row(scope, exchange, status, started, elapsed, identity.correlation_id))
            if self._observe is not None:
                template = exchange.operation.path if exchange is not None else "unmatched"
                self._observe(scope["method"], template, status, elapsed)
            if self._access_log:
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            identity.reset()


def is_proxied(scope: Scope) -> bool:
    """Whether a request is the proxy's: an HTTP path of three segments or more
    (``/<api>/<version>/...``). None of the gateway's own routes (OAuth, JWKS, health, metrics,
    docs) has more than two."""
    return scope["type"] == "http" and scope["path"].count("/", 1) >= 2


class _Answer:
    """The way down: adds our correlation id to the answer and knows whether it has begun."""

    __slots__ = ("_send", "correlation_id", "started")

    def __init__(self, send: Send, correlation_id: str) -> None:
        self._send = send
        self.correlation_id = correlation_id
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            message["headers"].append((b"x-correlation-id", self.correlation_id.encode("latin-1")))
        await self._send(message)

    async def problem(self, exc: InterchangeError, path: str) -> None:
        body = exc.to_problem(path)
        body.setdefault("correlation_id", self.correlation_id)
        await self._answer(exc.status, json.dumps(body).encode(), exc.headers)

    async def internal_error(self) -> None:
        await self._answer(500, internal_error_body(self.correlation_id), {})

    async def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        raw = [
            (b"content-type", PROBLEM_CONTENT_TYPE.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]
        raw += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


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


def _audit_row(
    scope: Scope, exchange: Exchange | None, status: int, started: float, elapsed: float, correlation_id: str
) -> Any:
    latency_ms = elapsed * 1000
    at = time.time() - elapsed
    if exchange is not None:
        route, operation, claims = exchange.route, exchange.operation, exchange.claims or {}
        client_id, partner_id = claims.get("client_id"), claims.get("partner_id")
        return (
            at,
            str(client_id)[:64] if client_id else None,
            str(partner_id)[:64] if partner_id else None,
            operation.method,
            route.api,
            route.version,
            operation.operation_id,
            operation.path,
            status,
            latency_ms,
            correlation_id,
        )
    path: str = scope["path"]
    api, _, rest = path[1:].partition("/")
    return (
        at,
        None,
        None,
        str(scope["method"])[:16],
        api[:64],
        rest.partition("/")[0][:16],
        None,
        path[:512],
        status,
        latency_ms,
        correlation_id,
    )


@dataclass(slots=True)
class _Up:
    """What one pass over the caller's headers found."""

    headers: list[Header]
    token: str | None = None
    has_body: bool = False
    content_type: bytes = b""
    content_length: int | None = None
    bad_length: bool = False
    host: bytes = b""
    correlation_id: bytes = b""
    traceparent: bytes = b""


def _headers_up(scope: Scope) -> _Up:
    """The headers to send up (less ours to add: ``_identity_up``), the bearer token, the body's
    presence, type and length, and the caller's correlation id and traceparent; one pass."""
    headers: list[Header] = []
    up = _Up(headers)
    listed: frozenset[bytes] = frozenset()
    for name, value in scope["headers"]:
        if name in _DROP_UP:
            if name == b"host":
                up.host = value
            elif name == b"x-correlation-id":
                up.correlation_id = value
            elif name == b"traceparent":
                up.traceparent = value
            elif name == b"connection":
                listed = _connection_options(value)
            elif name == b"transfer-encoding":
                up.has_body = True
            continue
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer":
                up.token = credentials.strip().decode("latin-1") or None
        elif name == b"content-length":
            if value.strip().isdigit():
                up.content_length = int(value)
                up.has_body = up.content_length > 0
            else:
                up.bad_length = True
        elif name == b"content-type":
            up.content_type = value
        headers.append((name, value))
    if listed:
        up.headers = [h for h in headers if h[0] not in listed]
    return up


def _identity_up(scope: Scope, host: bytes) -> list[Header]:
    """The headers the gateway adds: this request's correlation id and a traceparent for the hop
    (from the context ``bind_request_identity`` set), and X-Forwarded-*."""
    added = [(key.lower().encode("latin-1"), val.encode("latin-1")) for key, val in outbound_trace_headers().items()]
    client = scope.get("client")
    if client:
        added.append((b"x-forwarded-for", str(client[0]).encode("latin-1")))
    added.append((b"x-forwarded-proto", scope["scheme"].encode("latin-1")))
    if host:
        added.append((b"x-forwarded-host", host))
    return added


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


__all__ = ["HOP_BY_HOP", "INTERNAL_KINDS", "Exchange", "GatewayProxy", "Header", "Step", "authenticate", "is_proxied"]
