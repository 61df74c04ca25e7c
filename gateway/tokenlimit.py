"""Brute-force protection for the token endpoint: failed client authentications are limited.

What counts
    A token request that fails client authentication (authlib's ``invalid_client``, 401: an
    unknown client id, a wrong secret, a disabled client, or no credentials at all) counts once
    against the client id it claims (HTTP Basic, else ``client_id`` in the form) and once against
    the remote address (the ASGI ``client`` host). Successful authentications and other errors
    (``invalid_scope``, ``unsupported_grant_type``) do not count.

What happens past a limit
    Once a client id has failed ``auth_failure_limit_per_client`` times in a window (default
    ``10/minute``), or an address ``auth_failure_limit_per_address`` times (``30/minute``), every
    token request for that id, or from that address, is answered 429 problem+json
    (``urn:interchange:problem:rate-limited``) with ``Retry-After`` until the window ends. The
    secret is not checked and the registry not read. Unknown client ids are counted and locked
    like registered ones, so a lockout does not tell which ids exist. Each lockout is logged once
    (``token_endpoint_locked``) and counted in ``interchange_gateway_token_lockouts_total{by}``.
    Requests already checking when a limit is reached may each add one failure: the limit can be
    passed by the number of concurrent attempts, never more.

    The price of a per-client limit: whoever knows a client id can keep it from getting *new*
    tokens, one window at a time. Tokens already issued keep working (a client that caches its
    token for its lifetime does not notice), and the lockout is logged and counted.

Counting: the rate limiter's fixed windows and storage (ratelimit.py)
    The same ``rate_limit_storage`` (memory, or Redis shared by every replica), the same windows
    aligned to the clock (``window_of``), the same per-process counters (``LocalCounters``) and the
    same fallback while Redis is unreachable: each replica counts on its own, admitting its share
    (the limit divided by ``rate_limit_replicas``), and one request tries Redis again every
    ``rate_limit_retry_interval`` seconds. Two differences, both because the keys here come from
    unauthenticated callers: a limit's windows share one offset (not one per bucket), so the local
    counters of a window that has ended are dropped whole and a spray of made-up client ids cannot
    grow memory beyond one window's worth; and the state is *read* before the secret is checked
    (``get``), then counted only on failure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import structlog
from limits import parse_many
from limits.errors import StorageError
from prometheus_client import CollectorRegistry, Counter

from gateway.ratelimit import LocalCounters, RateLimitConfigError, RedisCounters, redis_storage, window_of
from gateway.settings import GatewaySettings
from service_kit.errors import TooManyRequests

CLIENT_ID, ADDRESS = "client_id", "address"
#: Keys from callers are cut to this length (no registered client id is longer than 64).
MAX_KEY_LENGTH = 128
#: What a failing Redis raises through ``limits`` (wrap_exceptions=True) or around it, as in ratelimit.py.
_STORAGE_ERRORS = (StorageError, OSError, TimeoutError)

log = structlog.get_logger("gateway.tokenlimit")


class FailureCounters(Protocol):
    """What this limiter needs of a shared storage: ``limits.aio``'s ``incr`` and ``get``."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...

    async def get(self, key: str) -> int: ...


class RedisFailureCounters:
    """The rate limiter's Redis counters (``limits.aio`` RedisStorage), with its ``get`` too."""

    def __init__(self, counters: RedisCounters) -> None:
        self.counters = counters

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return await self.counters.incr(key, expiry, amount)

    async def get(self, key: str) -> int:
        return int(await self.counters.storage.get(key))

    async def aclose(self) -> None:
        await self.counters.aclose()


@dataclass(frozen=True, slots=True)
class FailureLimit:
    """``quota`` failures per ``window`` seconds for one kind of key (``by``); ``local_quota`` while
    Redis is unreachable."""

    by: str
    quota: int
    local_quota: int
    window: int

    @classmethod
    def parse(cls, by: str, text: str, *, replicas: int = 1) -> FailureLimit:
        try:
            items = parse_many(text)
        except ValueError as exc:
            raise RateLimitConfigError(f"token failure limit per {by}: {text!r} is not a limit") from exc
        if len(items) != 1 or items[0].amount < 1:
            raise RateLimitConfigError(f"token failure limit per {by}: give one limit, e.g. '10/minute'")
        amount = items[0].amount
        return cls(by=by, quota=amount, local_quota=max(1, amount // replicas), window=items[0].get_expiry())

    @property
    def name(self) -> str:
        return f"token-failures:{self.by}"


class _WindowCounts(LocalCounters):
    """``LocalCounters`` that can also be read without counting."""

    def get(self, bucket: str, window: int) -> int:
        entry = self._counts.get(bucket)
        return entry[1] if entry is not None and entry[0] == window else 0


class _LocalWindow:
    """This process's counts for one limit, kept for the current window only."""

    def __init__(self) -> None:
        self.index = -1
        self.counts = _WindowCounts()

    def at(self, index: int) -> _WindowCounts:
        if index != self.index:
            self.index, self.counts = index, _WindowCounts()
        return self.counts


class TokenLockoutMetrics:
    """Once per registry (an app whose lifespan runs again reuses them)."""

    _by_registry: WeakKeyDictionary[CollectorRegistry, TokenLockoutMetrics] = WeakKeyDictionary()

    @classmethod
    def on(cls, registry: CollectorRegistry) -> TokenLockoutMetrics:
        metrics = cls._by_registry.get(registry)
        if metrics is None:
            metrics = cls._by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lockouts = Counter(
            "interchange_gateway_token_lockouts",
            "Client ids or addresses locked out of the token endpoint after too many failed authentications",
            ["by"],
            registry=registry,
        )
        for by in (CLIENT_ID, ADDRESS):
            self.lockouts.labels(by)  # both series exist, at 0, before the first lockout


class TokenFailureLimiter:
    """Counts failed client authentications and refuses token requests past the limits; built
    once at start-up (``from_settings``)."""

    def __init__(
        self,
        *,
        per_client: FailureLimit,
        per_address: FailureLimit,
        shared: FailureCounters | None = None,
        retry_interval: float = 5.0,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = (per_client, per_address)
        self._local = {limit.by: _LocalWindow() for limit in self._limits}
        self._shared = shared
        self._retry_interval = retry_interval
        self._retry_at = 0.0
        self._storage_down = False
        self.metrics = TokenLockoutMetrics.on(registry or CollectorRegistry())
        #: Wall-clock seconds (replicas sharing Redis share windows); tests put a fake one here.
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, *, registry: CollectorRegistry | None = None
    ) -> TokenFailureLimiter:
        replicas = settings.rate_limit_replicas
        counters = redis_storage(
            settings.rate_limit_storage,
            timeout=settings.rate_limit_storage_timeout,
            connections=settings.rate_limit_storage_connections,
        )
        return cls(
            per_client=FailureLimit.parse(CLIENT_ID, settings.auth_failure_limit_per_client, replicas=replicas),
            per_address=FailureLimit.parse(ADDRESS, settings.auth_failure_limit_per_address, replicas=replicas),
            shared=RedisFailureCounters(counters) if counters is not None else None,
            retry_interval=settings.rate_limit_retry_interval,
            registry=registry,
        )

    async def aclose(self) -> None:
        close = getattr(self._shared, "aclose", None)
        if close is not None:
            await close()

    async def check(self, *, client_id: str | None, address: str | None) -> None:
        """Raise ``TooManyRequests`` when the client id or the address is locked out."""
        keys = self._keys(client_id, address)
        now = self.clock()
        for limit, key in zip(self._limits, keys, strict=True):
            if key is None:
                continue
            bucket, index, reset = self._bucket(limit, key, now)
            count = await self._shared_call(self._shared_get, f"{bucket}/{index}")
            quota = limit.quota
            if count is None:
                count, quota = self._local[limit.by].at(index).get(bucket, index), limit.local_quota
            if count >= quota:
                whom = "this client id" if limit.by == CLIENT_ID else "this address"
                raise TooManyRequests(
                    f"Too many failed client authentications for {whom}: at most {quota} per "
                    f"{limit.window} seconds. Check the client id and secret, then try again in {reset} seconds.",
                    headers={"Retry-After": str(reset), "Cache-Control": "no-store"},
                )

    async def failed(self, *, client_id: str | None, address: str | None) -> None:
        """Count one failed client authentication; log and count a lockout when it starts."""
        keys = self._keys(client_id, address)
        now = self.clock()
        for limit, key in zip(self._limits, keys, strict=True):
            if key is None:
                continue
            bucket, index, reset = self._bucket(limit, key, now)
            count = await self._shared_call(self._shared_incr, f"{bucket}/{index}", reset + 1)
            quota = limit.quota
            if count is None:
                count, quota = self._local[limit.by].at(index).incr(bucket, index), limit.local_quota
            if count == quota:  # the failure that locks: exactly one, across replicas sharing Redis
                self.metrics.lockouts.labels(limit.by).inc()
                log.warning(
                    "token_endpoint_locked",
                    by=limit.by,
                    client_id=keys[0],
                    address=keys[1],
                    failures=quota,
                    window_seconds=limit.window,
                    retry_in_seconds=reset,
                )

    @staticmethod
    def _keys(client_id: str | None, address: str | None) -> tuple[str | None, str | None]:
        return (client_id[:MAX_KEY_LENGTH] if client_id else None, address[:MAX_KEY_LENGTH] if address else None)

    @staticmethod
    def _bucket(limit: FailureLimit, key: str, now: float) -> tuple[str, int, int]:
        # One offset per limit, not per bucket: the local counts of an ended window go at once.
        index, reset = window_of(limit.name, limit.window, now)
        return f"{limit.name}:{key}", index, reset

    async def _shared_get(self, key: str) -> int:
        assert self._shared is not None
        return await self._shared.get(key)

    async def _shared_incr(self, key: str, expiry: int) -> int:
        assert self._shared is not None
        return await self._shared.incr(key, expiry)

    async def _shared_call(self, call: Callable[..., Awaitable[int]], *args: Any) -> int | None:
        """The shared storage's answer; ``None`` with memory://, or while Redis is unreachable
        (the same policy as ``RateLimiter._shared_incr``: one request probes per retry interval)."""
        if self._shared is None or self.clock() < self._retry_at:
            return None
        if self._storage_down:
            self._retry_at = self.clock() + self._retry_interval
        try:
            value = await call(*args)
        except _STORAGE_ERRORS as exc:
            self._retry_at = self.clock() + self._retry_interval
            if not self._storage_down:
                self._storage_down = True
                log.warning(
                    "token_limit_storage_unavailable",
                    policy="each replica counts failed authentications on its own, admitting its share",
                    retry_in_seconds=self._retry_interval,
                    error=repr(exc),
                )
            return None
        if self._storage_down:
            self._storage_down = False
            self._retry_at = 0.0
            log.info("token_limit_storage_recovered")
        return int(value)


__all__ = ["FailureCounters", "FailureLimit", "RedisFailureCounters", "TokenFailureLimiter"]
