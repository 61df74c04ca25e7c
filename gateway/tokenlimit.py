"""Brute-force protection for the token endpoint: failed client authentications are limited,
without letting a third party lock a partner out.

What counts
    A token request that fails client authentication (authlib's ``invalid_client``, 401: an
    unknown client id, a wrong secret, a disabled client, or no credentials at all) counts once
    against the client id it claims (HTTP Basic, else ``client_id`` in the form) *from* the
    remote address (the pair), once against the address, and once against the client id. The
    address is the ASGI ``client`` host: the TCP peer, or what a trusted proxy said
    (``trusted_proxies``, app.py), never an X-Forwarded-For from anyone else. Successful
    authentications and other errors (``invalid_scope``, ``unsupported_grant_type``,
    ``invalid_request``) do not count.

What happens past a limit (429 problem+json ``urn:interchange:problem:rate-limited``, with
``Retry-After`` until the window ends; the secret is not checked, the registry not read)
    ``auth_failure_limit_per_client_address`` (default ``10/minute``): that client id from that
        address is refused. Guessing one id's secret from one address stops here.
    ``auth_failure_limit_per_address`` (``30/minute``): every client id from that address is
        refused. Spraying made-up ids from one address stops here.
    ``auth_failure_limit_per_client`` (``100/minute``, higher): the client id is refused, but only
        from addresses that have failed for it themselves in their pair's current window. Guessing
        one id's secret from many addresses stops here, while the partner's own servers, which do
        not fail, keep getting tokens: whoever knows a client id cannot deny the partner its
        tokens, whatever it sends from elsewhere. (A partner whose own address also fails is
        refused like the others until the window ends.)
    Unknown client ids are counted and refused like registered ones, so a refusal does not tell
    which ids exist. Each lockout is logged once (``token_endpoint_locked``) and counted in
    ``interchange_gateway_token_lockouts_total{by="client_address"|"address"|"client_id"}``.
    Requests already checking when a limit is reached may each add one failure: a limit can be
    passed by the number of concurrent attempts, never more.

Counting: the rate limiter's fixed windows and storage (ratelimit.py)
    The same ``rate_limit_storage`` (memory, or the one Redis pool shared with the rate limiter),
    the same windows aligned to the clock (``window_of``), the same per-process counters and the
    same fallback while Redis is unreachable (``SharedOrLocal``): each replica counts on its own,
    admitting its share (the limit divided by ``rate_limit_replicas``). Two differences, both
    because the keys here come from unauthenticated callers: a limit's windows share one offset
    (not one per bucket), so the local counters of a window that has ended are dropped whole and a
    spray of made-up client ids cannot grow memory beyond one window's worth; and the state is
    *read* before the secret is checked (``get``), then counted only on failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from weakref import WeakKeyDictionary

import structlog
from limits import parse_many
from prometheus_client import CollectorRegistry, Counter

from gateway.counters import LocalCounters, RateLimitConfigError, SharedOrLocal, window_of
from gateway.settings import GatewaySettings
from service_kit.errors import TooManyRequests

CLIENT_ADDRESS, ADDRESS, CLIENT_ID = "client_address", "address", "client_id"
#: Keys from callers are cut to this length (no registered client id is longer than 64).
MAX_KEY_LENGTH = 128
_WHOM = {
    CLIENT_ADDRESS: "this client id from this address",
    ADDRESS: "this address",
    CLIENT_ID: "this client id",
}

log = structlog.get_logger("gateway.tokenlimit")


class FailureCounters(Protocol):
    """What this limiter needs of a shared storage: ``limits.aio``'s ``incr`` and ``get``
    (``RedisCounters``, ratelimit.py)."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...

    async def get(self, key: str) -> int: ...


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
            "Client ids, addresses or client id and address pairs locked out of the token endpoint "
            "after too many failed authentications",
            ["by"],
            registry=registry,
        )
        for by in _WHOM:
            self.lockouts.labels(by)  # every series exists, at 0, before the first lockout


class TokenFailureLimiter:
    """Counts failed client authentications and refuses token requests past the limits; built
    once at start-up (``from_settings``)."""

    def __init__(
        self,
        *,
        per_client_address: FailureLimit,
        per_address: FailureLimit,
        per_client: FailureLimit,
        shared: FailureCounters | None = None,
        retry_interval: float = 5.0,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = (per_client_address, per_address, per_client)
        self._local = {limit.by: _LocalWindow() for limit in self._limits}
        self._shared = SharedOrLocal(shared, retry_interval=retry_interval, on_change=self._storage_changed)
        self.metrics = TokenLockoutMetrics.on(registry or CollectorRegistry())
        #: Wall-clock seconds (replicas sharing Redis share windows); tests put a fake one here.
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, *, shared: FailureCounters | None, registry: CollectorRegistry | None = None
    ) -> TokenFailureLimiter:
        """``shared``: the rate limiter's storage (``redis_storage``), one Redis pool per gateway."""
        replicas = settings.rate_limit_replicas
        return cls(
            per_client_address=FailureLimit.parse(
                CLIENT_ADDRESS, settings.auth_failure_limit_per_client_address, replicas=replicas
            ),
            per_address=FailureLimit.parse(ADDRESS, settings.auth_failure_limit_per_address, replicas=replicas),
            per_client=FailureLimit.parse(CLIENT_ID, settings.auth_failure_limit_per_client, replicas=replicas),
            shared=shared,
            retry_interval=settings.rate_limit_retry_interval,
            registry=registry,
        )

    @property
    def shared(self) -> FailureCounters | None:
        return self._shared.shared

    async def check(self, *, client_id: str | None, address: str | None) -> None:
        """Raise ``TooManyRequests`` when this client id from this address is locked out, or this
        address, or this client id from an address that has failed for it."""
        now = self.clock()
        pair_failures = 0
        for limit, key in zip(self._limits, self._keys(client_id, address), strict=True):
            if key is None:
                continue
            if limit.by == CLIENT_ID and address is not None and pair_failures == 0:
                continue  # an address that has not failed for this id is not refused for it
            count, quota, reset = await self._count(limit, key, now)
            if limit.by == CLIENT_ADDRESS:
                pair_failures = count
            if count >= quota:
                raise TooManyRequests(
                    f"Too many failed client authentications for {_WHOM[limit.by]}: at most {quota} per "
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
            count, quota, reset = await self._count(limit, key, now, add=True)
            if count == quota:  # the failure that locks: exactly one, across replicas sharing Redis
                self.metrics.lockouts.labels(limit.by).inc()
                log.warning(
                    "token_endpoint_locked",
                    by=limit.by,
                    client_id=keys[2],
                    address=keys[1],
                    failures=quota,
                    window_seconds=limit.window,
                    retry_in_seconds=reset,
                )

    async def _count(self, limit: FailureLimit, key: str, now: float, *, add: bool = False) -> tuple[int, int, int]:
        """The failures of ``key`` in this window (one more with ``add``), the quota they are
        held to (the local share while the storage is away) and the seconds to the window's end."""
        # One offset per limit, not per bucket: the local counts of an ended window go at once.
        index, reset = window_of(limit.name, limit.window, now)
        bucket = f"{limit.name}:{key}"
        storage = self._shared.shared
        if storage is not None:
            if add:
                count = await self._shared.call(now, storage.incr, f"{bucket}/{index}", reset + 1)
            else:
                count = await self._shared.call(now, storage.get, f"{bucket}/{index}")
            if count is not None:
                return count, limit.quota, reset
        local = self._local[limit.by].at(index)
        return (local.incr(bucket, index) if add else local.get(bucket, index)), limit.local_quota, reset

    @staticmethod
    def _keys(client_id: str | None, address: str | None) -> tuple[str | None, str | None, str | None]:
        """The keys of the pair, the address and the client id, each ``None`` when not known."""
        client = client_id[:MAX_KEY_LENGTH] if client_id else None
        where = address[:MAX_KEY_LENGTH] if address else None
        pair = f"{where} {client}" if client and where else None  # an address has no spaces
        return pair, where, client

    def _storage_changed(self, up: bool, error: BaseException | None) -> None:
        if up:
            log.info("token_limit_storage_recovered")
        else:
            log.warning(
                "token_limit_storage_unavailable",
                policy="each replica counts failed authentications on its own, admitting its share",
                retry_in_seconds=self._shared.retry_interval,
                error=repr(error),
            )


__all__ = ["FailureCounters", "FailureLimit", "TokenFailureLimiter"]
