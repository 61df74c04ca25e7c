"""One pooled HTTP client per process for calls to the tier below.

The httpx API over an aiohttp transport (``httpx-aiohttp``): plain httpx's own pool costs 7 to 10
times the CPU of aiohttp per call under concurrency on these machines (shared/notes/PERFORMANCE.md).
The ``Upstream`` skips the httpx client layer too and sends on the same aiohttp session
(``_DirectSender``), unless a test injected a transport. Pacing, breakers and policies per
upstream are in ``service_kit.guards``.
Every call has timeouts, carries this service's own client-credentials token, the correlation id
and the trace context, and goes through a per-upstream pacer and circuit breaker (purgatory).
Retry-safe calls (reads, writes with an Idempotency-Key, or ``retry_safe=True``) are retried on
transport errors with jittered backoff (stamina); a 429 is waited out as its Retry-After says.
"""

from __future__ import annotations

import asyncio
import json as _json
import math
import random
import time
from typing import Any

import aiohttp
import httpx
import stamina
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions
from purgatory.domain.model import OpenedState

from service_kit.correlation import outbound_trace_headers
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
from service_kit.guards import (
    _UPSTREAM_PROBLEMS,
    CircuitOpen,
    Pacer,
    UpstreamDegraded,
    UpstreamPolicy,
    UpstreamThrottled,
    _guards,
    configure_upstream,
    retry_after_seconds,
    upstream_pacer,
)
from service_kit.settings import ServiceSettings

PARTNER_HEADER = "X-Interchange-Partner"


def is_timeout(exc: BaseException) -> bool:
    """Whether a transport failure was a timeout (504) rather than an unreachable peer (502).

    httpx-aiohttp 0.2 maps every aiohttp ClientConnectionError, "connection refused" included, to
    httpx.ConnectTimeout: only call it a timeout when aiohttp's own error was one."""
    if isinstance(exc, TimeoutError):
        return True
    if not isinstance(exc, httpx.TimeoutException):
        return False
    cause = exc.__cause__
    return cause is None or isinstance(cause, TimeoutError)


def build_http_client(
    settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The process-wide client. Tests pass a transport (``httpx.ASGITransport`` or a router of
    them) to wire services in process."""
    limits = httpx.Limits(
        max_connections=settings.http_max_connections,
        max_keepalive_connections=settings.http_max_connections,
        keepalive_expiry=30,
    )
    timeout = httpx.Timeout(
        connect=settings.http_connect_timeout,
        read=settings.http_read_timeout,
        write=settings.http_read_timeout,
        pool=settings.http_connect_timeout,
    )
    own = AiohttpTransport(limits=limits, trust_env=False) if transport is None else None
    client = httpx.AsyncClient(transport=transport or own, timeout=timeout, follow_redirects=False)
    if own is not None:
        _guards(client).direct = _DirectSender(own, timeout)
    return client


class _DirectSender:
    """The Upstream's calls straight to aiohttp, on the same session (so the same pool) as the
    client's own transport, when nothing was injected (tests inject an httpx transport).

    httpx's client around the aiohttp transport (Request and URL objects, header merging, cookie
    handling, response streams) cost about as much CPU per call as aiohttp itself (a tenth of a
    status read in the marketplace); the Upstream needs none of it: it builds its own headers and
    reads whole JSON answers. What comes back is still an ``httpx.Response`` (status, headers,
    body), and aiohttp's errors become httpx's, as through the transport."""

    def __init__(self, transport: AiohttpTransport, timeout: httpx.Timeout) -> None:
        self._transport = transport
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=timeout.connect, sock_read=timeout.read, connect=timeout.pool
        )

    def _session(self) -> aiohttp.ClientSession:
        session = self._transport.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self._transport.client = self._transport.get_client()
        return session

    async def request(
        self, method: str, url: str, *, json: Any, params: Any, headers: dict[str, str]
    ) -> httpx.Response:
        if params:
            url = f"{url}?{httpx.QueryParams(params)}"  # httpx's encoding of every value type
        data = None
        if json is not None:
            data = _json.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = {**headers, "Content-Type": "application/json"}
        with map_aiohttp_exceptions():
            async with self._session().request(
                method, url, data=data, headers=headers, allow_redirects=False, timeout=self._timeout
            ) as resp:
                body = await resp.read()
                status, received = resp.status, resp.raw_headers
        return _read_response(status, received, body)


def _read_response(status: int, headers: Any, body: bytes) -> httpx.Response:
    """An ``httpx.Response`` already read, holding ``body`` as aiohttp decoded it.

    ``httpx.Response(content=body)`` would read the body again through httpx's decoders: a tenth of
    a status read's outbound call in CPU, and wrong for an upstream that compresses (aiohttp has
    already decompressed it, while the headers still name the encoding). So the response is built
    on a stream and marked read, as ``Response.read()`` leaves it (httpx has no public way to say
    "this body is already decoded")."""
    response = httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))
    response._content = body
    response.is_stream_consumed = response.is_closed = True
    return response


class ServiceToken:
    """This service's own client-credentials token, fetched from the gateway and cached until
    shortly before it expires. One fetch at a time: concurrent callers wait for it."""

    def __init__(self, http: httpx.AsyncClient, *, token_url: str, client_id: str, client_secret: str):
        self._http = http
        self._token_url = token_url
        self._auth = (client_id, client_secret)
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._auth[0] and self._auth[1])

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at:
                return self._token
            try:
                resp = await self._http.post(
                    self._token_url,
                    data={"grant_type": "client_credentials"},
                    auth=self._auth,
                    headers=outbound_trace_headers(),
                )
            except httpx.TransportError as exc:
                if is_timeout(exc):
                    raise UpstreamTimeout("The token service did not answer in time.") from exc
                raise UpstreamUnavailable("The token service is unreachable.") from exc
            if resp.status_code != 200:
                raise UpstreamUnavailable(
                    f"This service could not get its own access token (token service said {resp.status_code})."
                )
            body = resp.json()
            self._token = body["access_token"]
            # Renew a minute early (or at half-life for very short tokens).
            lifetime = float(body.get("expires_in", 300))
            self._expires_at = time.monotonic() + max(lifetime - 60, lifetime / 2)
            return self._token

    def invalidate(self) -> None:
        self._token = ""


class _RetryAfter(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.2f} s")
        self.seconds = seconds


#: Transport-level attempts of a retry-safe call.
SAFE_ATTEMPTS = 3
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _names_its_upstream(resp: httpx.Response) -> bool:
    """Whether a 5xx answer is a suite service's problem saying its own upstream failed."""
    if not resp.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") in _UPSTREAM_PROBLEMS


_JITTER = random.Random()  # noqa: S311 - jitter, not security


class Upstream:
    """Calls to one service of the tier below, e.g. ``Upstream(http, token, base_url=erp_url,
    name="erp")``, built once per upstream (``service_kit.app.upstream`` keeps them). Transport
    failures become UpstreamUnavailable/UpstreamTimeout; the caller gets every HTTP answer
    (including 4xx) to interpret in its own business terms.

    Every call goes through the upstream's pacer and circuit breaker (purgatory). A 429 is
    waited out as its Retry-After says (the request was not processed, so any call may be sent
    again) and holds back every call to that upstream meanwhile. Transport failures are retried
    with jittered backoff (stamina) only when the call is retry-safe: ``retry_safe`` says so
    explicitly; by default reads are, and writes that carry an Idempotency-Key. The first attempt
    runs outside stamina's retry context: a call that succeeds, nearly all of them, pays nothing
    for it. A 503 with Retry-After (or a problem saying the tier below's own upstream failed) is
    ``UpstreamDegraded``: not counted against this upstream's circuit, its Retry-After passed up."""

    def __init__(self, http: httpx.AsyncClient, token: ServiceToken, *, base_url: str, name: str):
        self._http = http
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._guards = _guards(http)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        partner_id: str | None = None,
        idempotency_key: str | None = None,
        retry_safe: bool | None = None,
    ) -> httpx.Response:
        if retry_safe is None:
            retry_safe = method in _SAFE_METHODS or method.upper() in _SAFE_METHODS or idempotency_key is not None
        hdrs = outbound_trace_headers()
        if headers:
            hdrs.update(headers)
        if partner_id:
            hdrs[PARTNER_HEADER] = partner_id
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        breaker = await self._guards.breaker(self.name)
        try:
            async with breaker:
                resp = await self._call(method, path, json=json, params=params, headers=hdrs, safe=retry_safe)
                return self._checked(resp)
        except OpenedState as exc:
            ttl = self._guards.policy(self.name).breaker_ttl
            raise CircuitOpen(
                f"The {self.name} service failed repeatedly; calls to it are paused for a moment.",
                headers={"Retry-After": str(max(1, math.ceil(ttl)))},
            ) from exc

    async def _call(
        self, method: str, path: str, *, json: Any, params: Any, headers: dict[str, str], safe: bool
    ) -> httpx.Response:
        policy = self._guards.policy(self.name)
        pacer = self._guards.pacer(self.name)
        transport_failures = 0
        waited = 0.0

        def backoff(exc: BaseException) -> bool | float:
            nonlocal transport_failures, waited
            if isinstance(exc, _RetryAfter):
                wait = min(exc.seconds, policy.max_retry_after)
                if waited + wait > policy.throttle_budget:
                    return False
                waited += wait
                return wait
            if isinstance(exc, httpx.TransportError) and safe:
                transport_failures += 1
                if transport_failures >= SAFE_ATTEMPTS:
                    return False
                # stamina's own schedule (0.05 s doubling, capped at 1 s) with "full" jitter from a
                # private generator: the global `random` state stays untouched (Hypothesis, which
                # drives the contract tests in the same process, treats its use as an error).
                return _JITTER.uniform(0, min(1.0, 0.05 * 2 ** (transport_failures - 1)) * 2)
            return False

        async def attempt() -> httpx.Response:
            await pacer.wait()
            resp = await self._send(method, path, json=json, params=params, headers=headers)
            if resp.status_code == 401 and self._token.configured:
                # Our cached token may have been revoked or signed by a rotated key.
                self._token.invalidate()
                resp = await self._send(method, path, json=json, params=params, headers=headers)
            if resp.status_code == 429:
                throttle = retry_after_seconds(resp.headers.get("Retry-After"))
                pacer.cool_down(min(throttle, policy.max_retry_after))
                raise _RetryAfter(throttle)
            return resp

        failed: Exception | None = None
        try:
            try:
                return await attempt()
            except (_RetryAfter, httpx.TransportError) as exc:
                failed = exc
            # Only after a failure, the retry context: stamina decides on that first failure
            # (re-raised inside it) and schedules any further attempts.
            resp: httpx.Response | None = None
            async for retry in stamina.retry_context(on=backoff, attempts=None, timeout=None, wait_jitter=0):
                with retry:
                    if failed is not None:
                        first, failed = failed, None
                        raise first
                    resp = await attempt()
            assert resp is not None  # stamina re-raises the last failure otherwise
            return resp
        except _RetryAfter as exc:
            raise UpstreamThrottled(
                f"The {self.name} service is over its call quota; try again later.", retry_after=exc.seconds
            ) from None
        except httpx.TransportError as exc:
            if is_timeout(exc):
                raise UpstreamTimeout(f"The {self.name} service did not answer in time.") from exc
            raise UpstreamUnavailable(f"The {self.name} service is unreachable.") from exc

    def _checked(self, resp: httpx.Response) -> httpx.Response:
        """The answer, or the error a 5xx stands for."""
        status = resp.status_code
        if status < 500:
            return resp
        retry_after = resp.headers.get("Retry-After")
        if (status == 503 and retry_after is not None) or _names_its_upstream(resp):
            raise UpstreamDegraded(
                f"A system behind the {self.name} service is unavailable; try again later.",
                retry_after=retry_after_seconds(retry_after) if retry_after is not None else None,
            )
        if status == 504:
            raise UpstreamTimeout(f"The {self.name} service timed out behind its own upstream.")
        raise UpstreamUnavailable(f"The {self.name} service failed ({status}).")

    async def _send(self, method: str, path: str, *, json: Any, params: Any, headers: dict[str, str]) -> httpx.Response:
        if self._token.configured:
            headers = {**headers, "Authorization": f"Bearer {await self._token.get()}"}
        url = f"{self.base_url}{path}"
        if (direct := self._guards.direct) is not None:
            return await direct.request(method, url, json=json, params=params, headers=headers)
        return await self._http.request(method, url, json=json, params=params, headers=headers)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the transport registered for its host: the seam that wires every
    service in one process (``{"erp.test": ASGITransport(erp_app), ...}``) for integration tests."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.routes = dict(routes or {})

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await transport.handle_async_request(request)


__all__ = [
    "PARTNER_HEADER",
    "CircuitOpen",
    "Pacer",
    "RoutingTransport",
    "ServiceToken",
    "Upstream",
    "UpstreamDegraded",
    "UpstreamPolicy",
    "UpstreamThrottled",
    "build_http_client",
    "configure_upstream",
    "is_timeout",
    "retry_after_seconds",
    "upstream_pacer",
]
