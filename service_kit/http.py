"""One pooled HTTP client per process for calls to the tier below.

The httpx API over an aiohttp transport (``httpx-aiohttp``): plain httpx's own pool costs 7 to 10
times the CPU of aiohttp per call under concurrency on these machines (shared/notes/PERFORMANCE.md).
Every call has timeouts, carries this service's own client-credentials token, the correlation id
and the trace context. Idempotent reads are retried with jittered backoff (stamina); writes are
retried only by callers that send an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import stamina
from httpx_aiohttp import AiohttpTransport

from service_kit.correlation import outbound_trace_headers
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
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
    return httpx.AsyncClient(
        transport=transport or AiohttpTransport(limits=limits, trust_env=False),
        timeout=timeout,
        follow_redirects=False,
    )


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


class Upstream:
    """Calls to one service of the tier below, e.g. ``Upstream(http, token, base_url=erp_url,
    name="erp")``. Transport failures become UpstreamUnavailable/UpstreamTimeout; the caller gets
    every HTTP answer (including 4xx) to interpret in its own business terms."""

    def __init__(self, http: httpx.AsyncClient, token: ServiceToken, *, base_url: str, name: str):
        self._http = http
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.name = name

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
    ) -> httpx.Response:
        safe = method.upper() in {"GET", "HEAD", "OPTIONS"} or idempotency_key is not None
        attempts = 3 if safe else 1
        hdrs = {**outbound_trace_headers(), **(headers or {})}
        if partner_id:
            hdrs[PARTNER_HEADER] = partner_id
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError,), attempts=attempts, wait_initial=0.05, wait_max=1.0, timeout=15
            ):
                with attempt:
                    resp = await self._send(method, path, json=json, params=params, headers=hdrs)
                    if resp.status_code == 401 and self._token.configured:
                        # Our cached token may have been revoked or signed by a rotated key.
                        self._token.invalidate()
                        resp = await self._send(method, path, json=json, params=params, headers=hdrs)
        except httpx.TransportError as exc:
            if is_timeout(exc):
                raise UpstreamTimeout(f"The {self.name} service did not answer in time.") from exc
            raise UpstreamUnavailable(f"The {self.name} service is unreachable.") from exc
        if resp.status_code == 504:
            raise UpstreamTimeout(f"The {self.name} service timed out behind its own upstream.")
        if resp.status_code >= 500:
            raise UpstreamUnavailable(f"The {self.name} service failed ({resp.status_code}).")
        return resp

    async def _send(self, method: str, path: str, *, json: Any, params: Any, headers: dict[str, str]) -> httpx.Response:
        if self._token.configured:
            headers = {**headers, "Authorization": f"Bearer {await self._token.get()}"}
        return await self._http.request(method, f"{self.base_url}{path}", json=json, params=params, headers=headers)

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


__all__ = ["PARTNER_HEADER", "RoutingTransport", "ServiceToken", "Upstream", "build_http_client", "is_timeout"]
