"""Rate limits per client and operation class, by the client's tier: the proxy's ``rate_limit`` step.

The bucket
    Every proxied call of an authenticated client that holds the operation's scopes (a 403 does
    not count: ``require_scopes`` runs first) counts against one bucket keyed by
    ``(client_id, operation class)``, never by the URL: ``/orders/MP-1`` and ``/orders/MP-2`` share
    one. The class is the operation's ``x-interchange-rate-class`` in its contract if it has one,
    else ``writes`` for POST/PUT/PATCH/DELETE and ``reads`` for the rest. The limit comes from the
    ``rate_limits`` setting by the token's ``tier`` and the class (``standard``: reads 600/minute,
    writes 120/minute); a tier the table lacks gets the default tier's limits, never none, and a
    class a tier lacks falls back to that tier's reads or writes.

The strategy: a fixed window, aligned to the clock
    One atomic increment per call (Redis: one Lua INCRBY+EXPIRE round trip), so replicas sharing
    Redis together admit exactly the limit per window. Chosen by cost (shared/notes/PERFORMANCE.md):
    a moving window costs about five times as much per request, keeps a timestamp per request
    (a sorted set per bucket in Redis) and, in memory, ``limits`` sweeps every key in the
    background. The price: a client can spend up to twice its quota across a window boundary.
    Windows are aligned to the clock, so every replica knows when the window ends without asking
    Redis for the key's TTL (one round trip instead of two), and each bucket's windows are shifted
    by a stable offset (crc32 of the bucket) so that partners' windows do not all reset, and their
    throttled retries all arrive, in the same second.

Storage (``rate_limit_storage``; counters.py, shared with the token endpoint's limits)
    ``memory://``, the default: counters in this process (``LocalCounters``). Each process counts
    on its own, so with several workers or replicas the limits multiply: use Redis then.
    ``redis://host:port/db``: ``limits.aio``'s RedisStorage on redis-py's asyncio client (awaited,
    never blocking the event loop), one Lua INCRBY+EXPIRE round trip per call.

Why ``limits`` directly and not slowapi's ``Limiter`` (which wraps ``limits``)
    - its default ``key_style="url"`` makes one bucket per concrete URL: behind a catch-all proxy
      every order id gets a fresh quota (slowapi#217);
    - its pure ASGI middleware re-sends ``http.response.start`` for every body chunk and breaks
      streamed responses (slowapi#249, #260);
    - it calls the *synchronous* ``limits`` storage on the event loop: with Redis every check
      blocks the whole worker for a round trip, and a slow Redis stalls it (slowapi#130, #55);
    - its decorator needs a FastAPI endpoint with ``request``/``response`` parameters (slowapi#18);
      the proxy is a raw ASGI endpoint.
    So this step calls ``limits.aio``'s Redis storage itself (awaited, never blocking), and the
    table is written in the ``limits``/slowapi notation, parsed by ``limits.parse_many``.

Headers (draft-ietf-httpapi-ratelimit-headers-10, section 3 RateLimit-Policy and section 4
RateLimit: Structured Field Lists of a quoted policy name with parameters)
    Every proxied answer carries the policy and what is left of it::

        RateLimit-Policy: "writes";q=120;w=60
        RateLimit: "writes";r=0;t=17

    and a refusal is a 429 problem+json with ``Retry-After`` (the same seconds as ``t``). The
    service is not called.

When Redis is unreachable (or slower than ``rate_limit_storage_timeout``)
    Never a 500 and never unlimited: the replica counts on its own, admitting its share of each
    limit (the quota divided by ``rate_limit_replicas``, at least 1, and advertised as such in
    ``q``). It logs ``rate_limit_storage_unavailable`` once, counts every local decision in
    ``interchange_gateway_rate_limit_local_decisions_total`` and sets
    ``interchange_gateway_rate_limit_storage_up`` to 0; one request tries Redis again every
    ``rate_limit_retry_interval`` seconds (the others stay local meanwhile) and the first success
    switches back (``rate_limit_storage_recovered``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import structlog
import yaml
from limits import parse_many
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.counters import LocalCounters, RateLimitConfigError, SharedCounters, SharedOrLocal, window_of
from gateway.proxy import Exchange, Header, Step
from gateway.routing import HTTP_METHODS, Operation
from gateway.settings import GatewaySettings
from service_kit.errors import TooManyRequests, Unauthorized

READS, WRITES = "reads", "writes"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RATE_CLASS_EXTENSION = "x-interchange-rate-class"

_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = structlog.get_logger("gateway.ratelimit")


@dataclass(frozen=True, slots=True)
class Policy:
    """One limit: ``quota`` calls per ``window`` seconds, named after its operation class."""

    name: str
    quota: int
    window: int
    #: The RateLimit-Policy value and the start of the RateLimit value, built once.
    policy_header: bytes
    state_prefix: bytes

    @classmethod
    def of(cls, name: str, quota: int, window: int) -> Policy:
        return cls(
            name=name,
            quota=quota,
            window=window,
            policy_header=f'"{name}";q={quota};w={window}'.encode("ascii"),
            state_prefix=f'"{name}";'.encode("ascii"),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policy: Policy
    remaining: int
    #: Seconds until the window ends (at least 1).
    reset: int

    def headers(self) -> list[Header]:
        state = self.policy.state_prefix + b"r=%d;t=%d" % (self.remaining, self.reset)
        return [(b"ratelimit-policy", self.policy.policy_header), (b"ratelimit", state)]

    def problem_headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.reset),
            "RateLimit-Policy": self.policy.policy_header.decode("ascii"),
            "RateLimit": f'"{self.policy.name}";r={self.remaining};t={self.reset}',
        }


class RateLimitMetrics:
    """The limiter's metrics, once per registry (an app whose lifespan runs again reuses them)."""

    _by_registry: WeakKeyDictionary[CollectorRegistry, RateLimitMetrics] = WeakKeyDictionary()

    @classmethod
    def on(cls, registry: CollectorRegistry) -> RateLimitMetrics:
        metrics = cls._by_registry.get(registry)
        if metrics is None:
            metrics = cls._by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            "interchange_gateway_rate_limited",
            "Calls refused with 429 by the rate limit",
            ["tier", "rate_class"],
            registry=registry,
        )
        self.local = Counter(
            "interchange_gateway_rate_limit_local_decisions",
            "Rate limit decisions taken on this replica's own counters because Redis was unreachable",
            registry=registry,
        )
        self.storage_up = Gauge(
            "interchange_gateway_rate_limit_storage_up",
            "1 while the shared rate limit storage answers (or none is configured), 0 while it does not",
            registry=registry,
        )
        self.storage_up.set(1)


class RateLimiter:
    """Decides whether a client's call fits its limit; built once at start-up (``from_settings``)."""

    def __init__(
        self,
        *,
        limits: Mapping[str, Mapping[str, str]],
        default_tier: str,
        rate_classes: Mapping[tuple[str, str], str] | None = None,
        shared: SharedCounters | None = None,
        replicas: int = 1,
        retry_interval: float = 5.0,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policies = _policy_table(limits, divisor=1)
        if default_tier not in self._policies:
            raise RateLimitConfigError(f"the default rate tier {default_tier!r} is not in the rate limit table")
        # While Redis is away each replica admits its share; with memory:// there is nothing to fall back from.
        self._local_policies = _policy_table(limits, divisor=replicas) if shared is not None else self._policies
        self._default_tier = default_tier
        self._classes = dict(rate_classes or {})
        self._shared = SharedOrLocal(shared, retry_interval=retry_interval, on_change=self._storage_changed)
        self._local = LocalCounters()
        self.metrics = RateLimitMetrics.on(registry or CollectorRegistry())
        self.metrics.storage_up.set(1)
        #: Wall-clock seconds; replicas sharing Redis must agree on it (NTP) to share windows.
        self.clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        *,
        contracts_dir: Path,
        shared: SharedCounters | None,
        registry: CollectorRegistry | None = None,
    ) -> RateLimiter:
        """``shared``: ``redis_storage(...)`` of the settings, one per gateway (the token limiter uses it too)."""
        limiter = cls(
            limits=settings.rate_limits,
            default_tier=settings.rate_limit_default_tier,
            rate_classes=contract_rate_classes(contracts_dir),
            shared=shared,
            replicas=settings.rate_limit_replicas,
            retry_interval=settings.rate_limit_retry_interval,
            registry=registry,
        )
        log.info(
            "rate_limits_loaded",
            limits=settings.rate_limits,
            default_tier=settings.rate_limit_default_tier,
            storage=_redacted(settings.rate_limit_storage),
            replicas=settings.rate_limit_replicas,
            rate_classes={f"{m} {p}": c for (m, p), c in limiter._classes.items()},
        )
        return limiter

    def tier_of(self, claimed: Any) -> str:
        """The table's tier for a token's ``tier`` claim: the default one for a tier the table
        lacks, no tier or anything but a string (an external issuer's token may carry anything)."""
        return claimed if isinstance(claimed, str) and claimed in self._policies else self._default_tier

    @property
    def counts_locally(self) -> bool:
        """Whether every decision is taken on this process's counters (``memory://``): then
        ``decide_locally`` needs no await."""
        return self._shared.shared is None

    async def decide(self, client_id: str, tier: str, operation: Operation) -> Decision:
        """Count one call of ``client_id`` (a client of ``tier``, see ``tier_of``) to ``operation``."""
        shared = self._shared
        if shared.shared is None:
            return self.decide_locally(client_id, tier, operation)
        policy = _pick(self._policies[tier], self._classes, operation)
        bucket = f"{client_id}/{policy.name}"
        now = self.clock()
        index, reset = window_of(bucket, policy.window, now)
        count = await shared.call(now, shared.shared.incr, f"{bucket}/{index}", reset + 1)
        if count is not None:
            return Decision(count <= policy.quota, policy, max(0, policy.quota - count), reset)
        # Redis is unreachable: this replica's share of the limit, on its own counters.
        self.metrics.local.inc()
        return self.decide_locally(client_id, tier, operation, policies=self._local_policies)

    def decide_locally(
        self,
        client_id: str,
        tier: str,
        operation: Operation,
        *,
        policies: Mapping[str, Mapping[str, Policy]] | None = None,
    ) -> Decision:
        """``decide`` on this process's counters (``policies``: the replica's share while Redis is away)."""
        policy = _pick((policies or self._policies)[tier], self._classes, operation)
        bucket = f"{client_id}/{policy.name}"
        index, reset = window_of(bucket, policy.window, self.clock())
        count = self._local.incr(bucket, index)
        return Decision(count <= policy.quota, policy, max(0, policy.quota - count), reset)

    def _storage_changed(self, up: bool, error: BaseException | None) -> None:
        self.metrics.storage_up.set(1 if up else 0)
        if up:
            log.info("rate_limit_storage_recovered")
        else:
            log.warning(
                "rate_limit_storage_unavailable",
                policy="each replica admits its share of every limit on its own counters",
                retry_in_seconds=self._shared.retry_interval,
                error=repr(error),
            )


def rate_limit(limiter: RateLimiter) -> Step:
    """The proxy step (after ``authenticate``): count the call, refuse it with 429 over the limit,
    and put the quota headers on the answer. On ``memory://`` it decides without an await."""

    def step(exchange: Exchange) -> Awaitable[None] | None:
        claims = exchange.claims
        if claims is None:
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        tier = limiter.tier_of(claims.get("tier"))
        client_id = str(claims["client_id"])
        if limiter.counts_locally:
            apply(exchange, tier, limiter.decide_locally(client_id, tier, exchange.operation))
            return None
        return shared(exchange, tier, client_id)

    async def shared(exchange: Exchange, tier: str, client_id: str) -> None:
        apply(exchange, tier, await limiter.decide(client_id, tier, exchange.operation))

    def apply(exchange: Exchange, tier: str, decision: Decision) -> None:
        if not decision.allowed:
            policy = decision.policy
            limiter.metrics.refused.labels(tier, policy.name).inc()
            raise TooManyRequests(
                f"This client may make {policy.quota} {policy.name} calls per {policy.window} seconds. "
                f"Try again in {decision.reset} seconds.",
                headers=decision.problem_headers(),
            )
        exchange.response_headers += decision.headers()

    return step


def contract_rate_classes(contracts_dir: Path) -> dict[tuple[str, str], str]:
    """``(METHOD, public path template)`` -> the operation's ``x-interchange-rate-class``, from the
    contracts the routing table is built from (the same keys as ``Operation.method``/``.path``)."""
    classes: dict[tuple[str, str], str] = {}
    files = sorted(contracts_dir.glob("*/v*.yaml")) if contracts_dir.is_dir() else []
    for file in files:
        text = file.read_text(encoding="utf-8")
        if RATE_CLASS_EXTENSION not in text:
            continue  # most contracts name no class: no second YAML parse for them
        spec = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
        paths = spec.get("paths") if isinstance(spec, dict) else None
        for path, item in (paths or {}).items():
            for method in HTTP_METHODS:
                op = item.get(method) if isinstance(item, dict) else None
                name = op.get(RATE_CLASS_EXTENSION) if isinstance(op, dict) else None
                if name is None:
                    continue
                if not isinstance(name, str) or not _CLASS_NAME.match(name):
                    where = f"{file}: {method.upper()} {path}"
                    raise RateLimitConfigError(f"{where}: {RATE_CLASS_EXTENSION} is not a lowercase name: {name!r}")
                classes[(method.upper(), f"/{file.parent.name}{path}")] = name
    return classes


def _pick(policies: Mapping[str, Policy], classes: Mapping[tuple[str, str], str], operation: Operation) -> Policy:
    default = WRITES if operation.method in WRITE_METHODS else READS
    named = classes.get((operation.method, operation.path)) if classes else None
    if named is not None:
        policy = policies.get(named)
        if policy is not None:
            return policy
    return policies[default]


def _policy_table(limits: Mapping[str, Mapping[str, str]], *, divisor: int) -> dict[str, dict[str, Policy]]:
    table: dict[str, dict[str, Policy]] = {}
    for tier, classes in limits.items():
        missing = {READS, WRITES} - set(classes)
        if missing:
            raise RateLimitConfigError(f"rate tier {tier!r} has no limit for {', '.join(sorted(missing))}")
        table[tier] = {}
        for name, text in classes.items():
            if not _CLASS_NAME.match(name):
                raise RateLimitConfigError(f"rate tier {tier!r}: {name!r} is not an operation class name")
            try:
                items = parse_many(text)
            except ValueError as exc:
                raise RateLimitConfigError(f"rate tier {tier!r}, {name}: {text!r} is not a limit") from exc
            if len(items) != 1 or items[0].amount < 1:
                raise RateLimitConfigError(f"rate tier {tier!r}, {name}: give one limit, e.g. '600/minute'")
            item = items[0]
            table[tier][name] = Policy.of(name, max(1, item.amount // divisor), item.get_expiry())
    return table


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


__all__ = [
    "Decision",
    "Policy",
    "RateLimitConfigError",
    "RateLimiter",
    "contract_rate_classes",
    "rate_limit",
    "window_of",  # from counters.py, where it now lives (tests/scale import it from here)
]
