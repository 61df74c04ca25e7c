"""How this process guards its calls to each upstream: a pacer, a circuit breaker (purgatory)
and a policy per upstream name and HTTP client, and the errors a guarded call ends in. The
``Upstream`` (service_kit.http) goes through them on every call."""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from purgatory import AsyncCircuitBreakerFactory

from service_kit.errors import UpstreamUnavailable


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
        #: Set by ``build_http_client`` when the client runs on its own aiohttp transport.
        self.direct: Any = None  # a service_kit.http._DirectSender

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


def circuit_states(http: httpx.AsyncClient) -> dict[str, str]:
    """Each upstream of this client and its circuit's state (closed, half-opened, opened): the
    configured ones and any called since; read by the metrics at scrape time (service_kit.metrics)."""
    guards = _GUARDS.get(http)
    if guards is None:
        return {}
    states = dict.fromkeys(guards.policies, "closed")
    states.update({name: breaker.context.state for name, breaker in guards._breakers.items()})
    return states


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


__all__ = [
    "CircuitOpen",
    "Pacer",
    "UpstreamDegraded",
    "UpstreamPolicy",
    "UpstreamThrottled",
    "circuit_states",
    "configure_upstream",
    "retry_after_seconds",
    "upstream_pacer",
]
