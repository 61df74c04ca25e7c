"""The per-channel throttle shared by the inventory's replicas (issue 9), and the choice of throttle.

``channel_throttle``
    With a Redis events URL (scaled mode: ``INTERCHANGE_EVENTS_URL=redis://...``) every replica
    spends one budget per channel in Redis (``SharedChannelThrottle``), so N replicas together
    tell a channel no more than its ``max_updates_per_second``. Otherwise (embedded mode, SQLite)
    the in-process token bucket (``publisher.ChannelThrottle``): no connection, no extra cost.

``SharedChannelThrottle``: a fixed window of one second, aligned to the clock
    ``limits``' async RedisStorage (redis-py): one atomic INCR+EXPIRE round trip per update, the
    count compared with the channel's ``limits`` item, as its FixedWindowRateLimiter does. The
    window's number is part of the key (computed from the ``now`` the caller gives, as the
    gateway's rate limits do), so every replica knows when a window ends without asking Redis for
    a TTL, tests drive the clock, and a spent channel is refused locally for the rest of its
    window without a round trip. Not the limiter itself: it expires a key one window after its
    first hit, so a replica whose clock lags a little could find the key of the window it is still
    in gone and start it afresh; a key here lives two windows. A channel of rate ``r``
    gets ``floor(r)`` updates per second (below 1/s: one update per ``ceil(1/r)`` seconds). The
    price of a fixed window: up to twice the rate across a window boundary, never more than the
    rate within a window; replicas' clocks are kept in step (NTP) to well within a window.

When Redis is unreachable (or slower than ``timeout``)
    Never a failed pass: the replica throttles on its own with its share of each channel's rate
    (``rate / replicas``, the in-process bucket), logs ``inventory_throttle_storage_unavailable``
    once, asks Redis again every ``retry_interval`` seconds and logs
    ``inventory_throttle_storage_recovered`` when it answers.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from redis.exceptions import RedisError

from process_apis.inventory.publisher import ChannelThrottle
from process_apis.inventory.settings import ChannelRule

log = structlog.get_logger("process_apis.inventory.throttle")

KEY_PREFIX = "interchange:inventory:throttle"
#: What a failing Redis raises through ``limits`` (wrap_exceptions=True) or around it.
_STORAGE_ERRORS = (StorageError, RedisError, OSError, TimeoutError)


def window_item(rate: float) -> RateLimitItem:
    """The ``limits`` item of a channel's rate: whole updates per window, never above the rate."""
    if rate >= 1:
        return RateLimitItemPerSecond(int(rate), 1)
    return RateLimitItemPerSecond(1, math.ceil(1 / rate))


class SharedChannelThrottle:
    """The channels' budgets in Redis, spent by every replica: ``ChannelThrottle``'s contract
    (refuse rather than wait, ``held`` without taking, ``wait``), ``admit`` and ``held`` awaited."""

    def __init__(
        self,
        rules: Mapping[str, ChannelRule],
        *,
        storage: Any,
        replicas: int = 1,
        retry_interval: float = 5.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        rates = {channel: rule.max_updates_per_second for channel, rule in rules.items()}
        self.items = {channel: window_item(rate) for channel, rate in rates.items() if rate > 0}
        self.replicas = max(1, replicas)
        self.retry_interval = retry_interval
        self.down = False
        self._storage = storage
        share = {
            c: rule.model_copy(update={"max_updates_per_second": rates[c] / self.replicas}) for c, rule in rules.items()
        }
        self._local = ChannelThrottle(share)  # this replica's share while Redis is away
        self._spent: dict[str, int] = {}  # channel -> the window it was found spent in
        self._retry_at = 0.0
        self._close = close

    def _window(self, channel: str, now: float) -> int:
        return int(now // self.items[channel].get_expiry())

    async def admit(self, channel: str, *, now: float) -> bool:
        item = self.items.get(channel)
        if item is None:
            return True
        window = self._window(channel, now)
        if self._spent.get(channel) == window:
            return False  # spent in this window already: counts only grow until it ends
        admitted = await self._shared(now, self._hit, item, channel, window)
        if admitted is None:
            return self._local.admit(channel, now=now)
        if not admitted:
            self._spent[channel] = window
        return admitted

    async def held(self, *, now: float) -> list[str]:
        """The channels that may not publish now, without taking any (one GET each not known spent)."""
        held: list[str] = []
        for channel, item in self.items.items():
            window = self._window(channel, now)
            if self._spent.get(channel) != window:
                free = await self._shared(now, self._free, item, channel, window)
                if free is None:
                    if channel not in self._local.held(now=now):
                        continue
                elif free:
                    continue
                else:
                    self._spent[channel] = window
            held.append(channel)
        return held

    def wait(self, *, now: float) -> float:
        """Seconds until every channel found spent may publish again: the end of its window."""
        ends = [
            (window + 1) * self.items[channel].get_expiry() - now
            for channel, window in self._spent.items()
            if window == self._window(channel, now)
        ]
        return max([*ends, self._local.wait(now=now) if self.down else 0.0])

    async def held_channels(self, *, now: float) -> list[str]:
        return await self.held(now=now)

    async def admit_channels(self, channels: Iterable[str], *, now: float) -> set[str]:
        return {channel for channel in channels if await self.admit(channel, now=now)}

    async def aclose(self) -> None:
        if self._close is not None:
            await self._close()

    async def _hit(self, item: RateLimitItem, channel: str, window: int) -> bool:
        key = item.key_for("channel", channel, str(window))
        return int(await self._storage.incr(key, 2 * item.get_expiry())) <= item.amount

    async def _free(self, item: RateLimitItem, channel: str, window: int) -> bool:
        return int(await self._storage.get(item.key_for("channel", channel, str(window)))) < item.amount

    async def _shared(self, now: float, operation: Callable[..., Awaitable[bool]], *args: Any) -> bool | None:
        """Redis's answer, or ``None``: decide on this replica's share instead."""
        if now < self._retry_at:
            return None
        try:
            answer = await operation(*args)
        except _STORAGE_ERRORS as exc:
            self._retry_at = now + self.retry_interval
            if not self.down:
                self.down = True
                log.warning(
                    "inventory_throttle_storage_unavailable",
                    error=type(exc).__name__,
                    replicas=self.replicas,
                    retry_in=self.retry_interval,
                )
            return None
        if self.down:
            self.down = False
            log.info("inventory_throttle_storage_recovered")
        return bool(answer)


def channel_throttle(
    *, rules: Mapping[str, ChannelRule], events_url: str, replicas: int = 1, timeout: float = 0.5
) -> ChannelThrottle | SharedChannelThrottle:
    """The shared throttle when events go through Redis (scaled mode), else the in-process one.
    Nothing connects until the first pass."""
    scheme = events_url.partition("://")[0]
    if scheme not in {"redis", "rediss"}:
        return ChannelThrottle(rules)
    import redis.asyncio
    from limits.aio.storage import RedisStorage

    plain = events_url.partition("?")[0]  # the events URL may carry the bus's own options
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        plain, max_connections=4, timeout=timeout, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    # implementation="redispy": the default async implementation needs coredis, which we do not ship.
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        f"async+{plain}", implementation="redispy", wrap_exceptions=True, key_prefix=KEY_PREFIX, **options
    )
    return SharedChannelThrottle(rules, storage=storage, replicas=replicas, close=pool.aclose)


__all__ = ["KEY_PREFIX", "SharedChannelThrottle", "channel_throttle", "window_item"]
