"""One pooled HTTP client per process for calls to the tier below.

The httpx API over an aiohttp transport (``httpx-aiohttp``): plain httpx's own pool costs 7 to 10
times the CPU of aiohttp per call under concurrency on these machines (shared/notes/PERFORMANCE.md).
Every call has timeouts, carries this service's own client-credentials token, the correlation id
and the trace context, and goes through a per-upstream pacer and circuit breaker (purgatory).
Retry-safe calls (reads, writes with an Idempotency-Key, or ``retry_safe=True``) are retried on
transport errors with jittered backoff (stamina); a 429 is waited out as its Retry-After says.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import stamina
from httpx_aiohttp import AiohttpTransport
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

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


class UpstreamThrottled(UpstreamUnavailable):
    """The tier below kept answering 429 (its call quota) for longer than this call may wait.
    Nothing was done below: the caller may try again after ``retry_after`` seconds."""

    status, slug, title = 503, "upstream-throttled", "A system behind this API is over its call quota"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
        self.retry_after = retry_after


class CircuitOpen(UpstreamUnavailable):
    """Recent calls to this upstream kept failing, so this one was not even tried. A 503 with
    Retry-After: the tier above reads it as "up, but waiting on its own upstream" (``UpstreamDegraded``)
    and does not count it against this service's own circuit."""

    status = 503


class UpstreamDegraded(UpstreamUnavailable):
    """The tier below answered, but only to say that a system behind it is down: a 503 with
    Retry-After (its circuit is open, or its own upstream is over quota), or a problem of the kit's
    ``upstream-*`` types. The service below is up, so this does not count against its circuit
    (that would open a breaker in every tier at once and stretch the outage). The caller gets 503
    and the Retry-After the tier below gave, or a plain 502 when it gave none."""

    def __init__(self, detail: str, *, retry_after: float | None) -> None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
        super().__init__(detail, headers=headers)
        self.retry_after = retry_after
        if retry_after is not None:
            self.status = 503


#: Problem types a service of the suite answers when its own upstream failed (not itself).
_UPSTREAM_PROBLEMS = frozenset(
    f"urn:interchange:problem:{slug}" for slug in ("upstream-unavailable", "upstream-timeout", "upstream-throttled")
)


@dataclass
class UpstreamPolicy:
    """How this process treats one upstream; set once at start-up with ``configure_upstream``."""

    #: Evenly spaced calls at most this often (None: no pacing); a cloud ERP's quota, say.
    calls_per_second: float | None = None
    #: Consecutive failed calls (transport errors, 5xx) that open the circuit, and how long it stays open.
    breaker_threshold: int = 5
    breaker_ttl: float = 30.0
    #: Seconds one call may spend waiting for Retry-After answers (429) before giving up.
    throttle_budget: float = 30.0
    #: The longest single Retry-After wait honoured.
    max_retry_after: float = 60.0


class Pacer:
    """Spaces calls ``1/rate`` apart and holds every caller back during a Retry-After cooldown.

    Hand-written on purpose: ``limits``' windows let a whole quota through at the start of each
    window, which can land in the same server-side window as the previous burst (a 429 storm);
    evenly spaced slots never do, and a cooldown has to apply to every waiting caller at once."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep

    async def wait(self) -> float:
        """Wait for this call's slot; returns the slot (on the pacer's clock)."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval if self.interval else max(self._next, now)
        if slot > now:
            await self._sleep(slot - now)
        return slot

    def cool_down(self, seconds: float) -> None:
        self._next = max(self._next, self._clock() + seconds)


class _Guards:
    """Per HTTP client (so per process and app): one circuit and one pacer per upstream name."""

    def __init__(self) -> None:
        # A quota answer, a tier below that is up but waiting on its own upstream, or a cancelled
        # call say nothing about the upstream's own health.
        self.breakers = AsyncCircuitBreakerFactory(
            exclude=[UpstreamThrottled, UpstreamDegraded, asyncio.CancelledError]
        )
        self.policies: dict[str, UpstreamPolicy] = {}
        self.pacers: dict[str, Pacer] = {}
        self._breakers: dict[str, Any] = {}

    async def breaker(self, name: str) -> Any:
        """The upstream's circuit (purgatory's in-memory breaker), looked up once: ``get_breaker``
        runs a unit of work and a message bus per call for the same object."""
        breaker = self._breakers.get(name)
        if breaker is None:
            policy = self.policy(name)
            breaker = await self.breakers.get_breaker(name, threshold=policy.breaker_threshold, ttl=policy.breaker_ttl)
            self._breakers[name] = breaker
        return breaker

    def policy(self, name: str) -> UpstreamPolicy:
        return self.policies.setdefault(name, UpstreamPolicy())

    def pacer(self, name: str) -> Pacer:
        if name not in self.pacers:
            self.pacers[name] = Pacer(self.policy(name).calls_per_second)
        return self.pacers[name]


_GUARDS: weakref.WeakKeyDictionary[httpx.AsyncClient, _Guards] = weakref.WeakKeyDictionary()


def _guards(http: httpx.AsyncClient) -> _Guards:
    guards = _GUARDS.get(http)
    if guards is None:
        guards = _GUARDS[http] = _Guards()
    return guards


def upstream_pacer(http: httpx.AsyncClient, name: str) -> Pacer:
    """The pacer calls to ``name`` over this client wait on (as ``configure_upstream`` set it)."""
    return _guards(http).pacer(name)


def configure_upstream(http: httpx.AsyncClient, name: str, policy: UpstreamPolicy) -> None:
    """Sets how calls to ``name`` over this client are paced, broken and throttled."""
    guards = _guards(http)
    guards.policies[name] = policy
    guards.pacers[name] = Pacer(policy.calls_per_second)
    guards._breakers.pop(name, None)


def retry_after_seconds(value: str | None, *, default: float = 1.0) -> float:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
