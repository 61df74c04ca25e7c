"""Three inventory replicas' channel throttles on one real Redis (issue 9): together they admit no
more than a channel's ``max_updates_per_second`` in a window, where each replica's own bucket
would have admitted three times that; and with Redis gone each replica keeps to its share.
The clock is the test's (the throttle takes ``now``): every count is within one window by
construction, with no timing involved. Skips locally without redis-server, fails in CI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from process_apis.inventory.publisher import ChannelThrottle
from process_apis.inventory.settings import ChannelRule
from process_apis.inventory.throttle import SharedChannelThrottle, channel_throttle
from tests.support.redis_server import redis_server_url

RULES = {"marketplace": ChannelRule(max_updates_per_second=5), "b2b": ChannelRule(max_updates_per_second=20)}
T = 2_000_000.0  # the start of a one-second window
REPLICAS = 3


async def close_all(replicas: list[SharedChannelThrottle]) -> None:
    for replica in replicas:
        await replica.aclose()


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[list[SharedChannelThrottle]]:
    with redis_server_url(tmp_path / "redis") as url:
        built = [channel_throttle(rules=RULES, events_url=url, replicas=REPLICAS) for _ in range(REPLICAS)]
        shared = [throttle for throttle in built if isinstance(throttle, SharedChannelThrottle)]
        assert len(shared) == REPLICAS
        yield shared
        await close_all(shared)


async def test_replicas_together_admit_a_channels_rate_per_window(replicas: list[SharedChannelThrottle]) -> None:
    async def admits(channel: str, now: float) -> int:
        # Each replica tries ten times, all at once (concurrent INCRs on the one key).
        tries = [replica.admit(channel, now=now + i / 100) for i in range(10) for replica in replicas]
        return sum(await asyncio.gather(*tries))

    assert await admits("marketplace", T) == 5  # not 15: one budget for the three
    assert await admits("b2b", T) == 20
    for replica in replicas:  # every replica sees the channel spent, without taking
        assert await replica.held(now=T + 0.5) == ["marketplace", "b2b"]
        assert replica.wait(now=T + 0.5) == pytest.approx(0.5)
    assert await admits("marketplace", T + 1.0) == 5  # the next window, its own budget
    assert not any(replica.down for replica in replicas)


def test_the_in_process_buckets_would_have_admitted_the_rate_once_per_replica() -> None:
    own = [ChannelThrottle(RULES) for _ in range(REPLICAS)]  # what each replica had before (embedded mode)
    assert sum(throttle.admit("marketplace", now=T) for throttle in own for _ in range(10)) == 15


async def test_with_redis_gone_each_replica_keeps_to_its_share(tmp_path: Path) -> None:
    with redis_server_url(tmp_path / "redis") as url:
        throttle = channel_throttle(rules=RULES, events_url=url, replicas=REPLICAS)
        assert isinstance(throttle, SharedChannelThrottle)
        assert await throttle.admit("b2b", now=T)  # Redis answers
    try:  # the server has stopped
        admitted = sum([await throttle.admit("b2b", now=T + 1.0) for _ in range(20)])
        assert throttle.down
        assert admitted == 6  # 20/s over 3 replicas: 6.67 tokens at most, never a failed pass
        assert await throttle.held(now=T + 1.0) == ["b2b"]
    finally:
        await throttle.aclose()
