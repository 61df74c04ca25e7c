"""The hop to the service: the request goes up, the answer streams down.

Two forwarders, one behaviour:

``ReqwestForwarder``
    What a deployed gateway uses: pyreqwest (Rust's reqwest, with an async Python API) on one
    pooled client. Chosen by measurement (bench/README.md): per proxied GET it costs the gateway
    less CPU than aiohttp's client, which cost more than the policy and the server together
    (connection pooling, HTTP/1.1 framing and the response parsing run in Rust; what crosses
    into Python is one request builder and the body's chunks). Set up once: no decompression,
    no redirects, no cookie store (one client for every partner), connect and read timeouts.
    reqwest sends two headers of its own when the caller sent none: ``Accept: */*`` (what no
    Accept means anyway, RFC 9110 12.5.1) and a User-Agent naming the gateway; nothing else.

``HttpxForwarder``
    For an injected httpx transport: the in-process suite routes every service through one
    ``RoutingTransport`` (no sockets), which aiohttp cannot use.

Both: the request body goes up as read (once a step has validated it) or streamed with the cap
counted on the way (``CappedBody``); the response streams down as the service sent its bytes
(compression included: nothing is decoded); hop-by-hop headers are dropped both ways
(proxy.py), the answer goes down through ``answers.send_down`` (a problem gets the partner's
instance); any 5xx from the service becomes our own problem, so the service's body (stack
trace and all) never leaves. While a service is down the partner is told when to come back:

    the service cannot be reached (refused, no route, DNS)   503, Retry-After: upstream_retry_after
    the service answers 503                                  503, its Retry-After (else ours)
    the service answers 429                                  429 as it is, Retry-After included
    a timeout, or the service's 504                          504
    any other failure or 5xx                                 502
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, Protocol

import aiohttp
import httpx
import structlog
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import ConnectError, PyreqwestError
from starlette.requests import ClientDisconnect
from starlette.types import Send

from gateway.answers import send_down
from gateway.bodies import CappedBody, too_large
from gateway.routing import ApiRoute
from service_kit.errors import BadRequest, UpstreamTimeout, UpstreamUnavailable
from service_kit.http import UpstreamDegraded, is_timeout, retry_after_seconds

Header = tuple[bytes, bytes]
#: ``_headers_down(raw, replace=...)`` from proxy.py: the service's headers as they go to the caller.
HeadersDown = Callable[..., list[Header]]

log = structlog.get_logger("gateway.forward")

_UNCAPPED = 1 << 62
USER_AGENT = "interchange-gateway"


class Request(Protocol):
    """What a forwarder needs of the proxy's Exchange."""

    route: ApiRoute
    method: str
    raw_service_path: bytes
    query_string: bytes
    headers: list[Header]
    body: bytes | None
    has_body: bool
    content_length: int | None
    response_headers: list[Header]

    @property
    def receive(self) -> Any: ...  # read only: a dataclass's callable field does not match a settable one


class Forwarder(Protocol):
    async def forward(self, request: Request, send: Send, *, headers_down: HeadersDown, max_body: int | None) -> int:
        """Send ``request`` up, stream the answer to ``send``; the status sent."""
        ...

    async def aclose(self) -> None: ...


class ReqwestForwarder:
    """One pyreqwest client for every service (its pool keeps connections per host)."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        keepalive_seconds: float = 4.0,
        retry_after: int = 5,
    ) -> None:
        self._retry_after = retry_after
        self._connect_timeout = timedelta(seconds=connect_timeout)
        self._read_timeout = timedelta(seconds=read_timeout)
        self._max_connections = max_connections
        # Below uvicorn's own keep-alive (5 s): a pooled connection is never reused just as the
        # service closes it, which would fail a call that never reached the service.
        self._keepalive = timedelta(seconds=keepalive_seconds)
        self._http: Client | None = None
        self._bases: dict[str, str] = {}

    def _client(self) -> Client:
        if self._http is None:  # built in the running loop, on first use
            self._http = (
                ClientBuilder()
                .connect_timeout(self._connect_timeout)
                .read_timeout(self._read_timeout)  # between two reads, as aiohttp's sock_read was
                .max_connections(self._max_connections)
                .pool_idle_timeout(self._keepalive)
                .gzip(False)  # the caller gets the bytes the service sent, and no Accept-Encoding
                .brotli(False)
                .deflate(False)
                .zstd(False)
                .follow_redirects(False)
                .error_for_status(False)
                .user_agent(USER_AGENT)
                .http1_only()
                .http1_lower_case_headers()
                .build()
            )
        return self._http

    def _base(self, route: ApiRoute) -> str:
        base = self._bases.get(route.service)
        if base is None:
            url = route.upstream
            base = self._bases[route.service] = f"{url.scheme}://{url.netloc.decode('ascii')}"
        return base

    async def forward(self, request: Request, send: Send, *, headers_down: HeadersDown, max_body: int | None) -> int:
        route = request.route
        try:
            url = self._base(route) + _target(request).decode("ascii")
        except UnicodeDecodeError as exc:
            raise BadRequest("The request path or query is not valid: percent-encode it.") from exc
        data, streamed = _body(request, max_body)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
        try:
            builder = self._client().request(request.method, url).headers(headers)
            if streamed is not None:
                if not any(name == "content-length" for name, _ in headers):
                    # Without it hyper sends no body at all on a GET (and would let one over the
                    # cap through unseen); chunked, as the caller sent it.
                    builder = builder.header("transfer-encoding", "chunked")
                builder = builder.body_stream(streamed)
            elif data is not None:
                builder = builder.body_bytes(data)
            exchange = builder.build_streamed()
            response = await exchange.__aenter__()
        except ClientDisconnect:
            raise
        except Exception as exc:
            raise self._failed(route, exc, streamed) from exc
        try:
            status = response.status
            refuse_server_error(route, status, retry_after=response.get_header("retry-after"), down=self._retry_after)
            try:
                raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
            except ValueError as exc:  # a header value reqwest cannot give as text (not visible ASCII)
                raise upstream_error(route, exc, retry_after=self._retry_after) from exc
            down = headers_down(raw, replace=route.versioning is not None)
            declared = response.get_header("content-length")
            length = int(declared) if declared and declared.isdigit() else None
            await send_down(send, request, status, down, _chunks(response.body_reader, length), length=length)
            return status
        finally:
            await exchange.__aexit__(None, None, None)

    def _failed(self, route: ApiRoute, exc: Exception, streamed: CappedBody | None) -> Exception:
        if streamed is not None and streamed.exceeded:
            return too_large(streamed.limit)  # the service got an aborted request
        if isinstance(exc, PyreqwestError | TimeoutError):
            return upstream_error(route, exc, retry_after=self._retry_after)
        if isinstance(exc, ValueError):  # a URL reqwest does not take
            return BadRequest("The request path or query is not valid: percent-encode it.")
        return exc

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


async def _chunks(reader: Any, length: int | None) -> AsyncIterator[bytes]:
    """The answer's body as it comes; with a Content-Length, done once that much is in (no
    more ``read_chunk`` to learn that the body has ended: each is a hop from reqwest's thread)."""
    size = 0
    while (chunk := await reader.read_chunk()) is not None:
        yield bytes(chunk)
        size += len(chunk)
        if length is not None and size >= length:
            return


class HttpxForwarder:
    """Over the kit's httpx client (and whatever transport it was given)."""

    def __init__(self, client: httpx.AsyncClient, *, retry_after: int = 5) -> None:
        self._client = client
        self._retry_after = retry_after
        # What client.build_request would add: the client's timeouts (nothing else: no default
        # headers, no cookies; the caller's headers go up as they are).
        self._extensions = {"timeout": client.timeout.as_dict()}

    async def forward(self, request: Request, send: Send, *, headers_down: HeadersDown, max_body: int | None) -> int:
        route = request.route
        target = _target(request)
        try:
            url = route.upstream.copy_with(raw_path=target)
        except (httpx.InvalidURL, UnicodeDecodeError) as exc:
            raise BadRequest("The request path or query is not valid: percent-encode it.") from exc
        content, streamed = _body(request, max_body)
        outgoing = httpx.Request(
            request.method, url, headers=request.headers, content=content, extensions=self._extensions
        )
        try:
            response = await self._client.send(outgoing, stream=True)
        except ClientDisconnect:
            raise
        except Exception as exc:
            if streamed is not None and streamed.exceeded:
                raise too_large(streamed.limit) from exc
            if isinstance(exc, httpx.TransportError | aiohttp.ClientError | TimeoutError):
                raise upstream_error(route, exc, retry_after=self._retry_after) from exc
            raise
        try:
            status = response.status_code
            refuse_server_error(route, status, retry_after=response.headers.get("Retry-After"), down=self._retry_after)
            headers = headers_down(response.headers.raw, replace=route.versioning is not None)
            declared = response.headers.get("content-length")
            length = int(declared) if declared and declared.isdigit() else None
            await send_down(send, request, status, headers, response.aiter_raw(), length=length)
            return status
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """The client belongs to the app (the kit closes it)."""


def _target(request: Request) -> bytes:
    """The raw path (and query) at the service: its URL's path prefix, then the caller's path."""
    target = request.route.upstream_prefix + request.raw_service_path
    return target + b"?" + request.query_string if request.query_string else target


def _body(request: Request, max_body: int | None) -> tuple[Any, CappedBody | None]:
    """What goes up as the body: the bytes a step read and validated, else the caller's stream
    counted against the cap (also returned, to tell a cut-off upload from a failed service)."""
    if request.body is not None:
        return request.body, None
    if request.has_body:
        streamed = CappedBody(request.receive, max_body or _UNCAPPED, length=request.content_length)
        return streamed, streamed
    return None, None


class UpstreamDown(UpstreamUnavailable):
    """The service cannot be reached at all: 503 with Retry-After (a partner should come back,
    not give up), the same problem type as any other unavailable upstream."""

    status = 503

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def refuse_server_error(route: ApiRoute, status: int, *, retry_after: str | None = None, down: int = 5) -> None:
    """A 5xx from the service becomes our own 502 (504 for its 504), its body left behind; a 503
    (the service, or a system behind it, is down for now) stays a 503 with the service's
    Retry-After (``down`` seconds if it gave none), so the partner knows when to come back."""
    if status < 500:
        return
    log.warning("upstream_failed", api=route.api, service=route.service, status=status)
    if status == 504:
        raise UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
    if status == 503:
        raise UpstreamDegraded(
            f"The {route.api} API is temporarily unavailable. Try again after the Retry-After seconds.",
            retry_after=retry_after_seconds(retry_after, default=down),
        )
    raise UpstreamUnavailable(f"The {route.api} API failed. Try again later.")


def upstream_error(
    route: ApiRoute, exc: BaseException, *, retry_after: int = 5
) -> UpstreamUnavailable | UpstreamTimeout:
    """A timeout is 504; a service that cannot be reached 503 with ``retry_after``; other
    failures (the connection dropped mid-answer, a malformed answer) 502."""
    if is_timeout(exc):
        log.warning("upstream_timeout", api=route.api, service=route.service, error=repr(exc))
        return UpstreamTimeout(f"The {route.api} API did not answer in time. Try again later.")
    log.warning("upstream_unreachable", api=route.api, service=route.service, error=repr(exc))
    if _not_connected(exc):
        return UpstreamDown(
            f"The {route.api} API is unavailable. Try again in {retry_after} seconds.", retry_after=retry_after
        )
    return UpstreamUnavailable(f"The {route.api} API failed. Try again later.")


_CONNECT_ERRORS = (
    ConnectError,
    aiohttp.ClientConnectorError,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    ConnectionError,
)


def _not_connected(exc: BaseException) -> bool:
    """Whether the request never reached the service (refused, unreachable, unknown host); a
    ConnectTimeout here is httpx-aiohttp's name for a refused connection (``is_timeout``)."""
    return isinstance(exc, _CONNECT_ERRORS) or isinstance(exc.__cause__, _CONNECT_ERRORS)


__all__ = [
    "Forwarder",
    "HttpxForwarder",
    "Request",
    "ReqwestForwarder",
    "UpstreamDown",
    "refuse_server_error",
    "upstream_error",
]
