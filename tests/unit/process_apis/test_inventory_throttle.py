"""The inventory's channel throttles (issue 9): which one a replica builds, the shared one's
fixed windows on ``limits``' storage under a clock the test drives, and its fallback to the
replica's share of each rate when the storage fails. (Replicas on a real Redis:
tests/integration/test_replicas_inventory_throttle.py.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError
from structlog.testing import capture_logs

from process_apis.inventory import throttle as throttle_module
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.settings import ChannelRule
from process_apis.inventory.throttle import SharedChannelThrottle, channel_throttle, window_item
from tests.support.logs import fresh_logger
from tests.unit.process_apis import test_inventory_support as support

RULES = {
    "marketplace": ChannelRule(max_updates_per_second=5),
    "slow": ChannelRule(max_updates_per_second=0.5),
    "free": ChannelRule(),  # no limit
}
T = 1_000.0  # the start of a window (a whole second, and even: the start of "slow"'s 2 s window too)


class Failing:
    """A storage whose Redis is away (limits wraps redis-py's errors in StorageError)."""

    def __init__(self) -> None:
        self.up = False
        self.memory = MemoryStorage()

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if not self.up:
            raise StorageError(ConnectionError("Connection refused"))
        return await self.memory.incr(key, expiry, amount)

    async def get(self, key: str) -> int:
        if not self.up:
            raise StorageError(ConnectionError("Connection refused"))
        return await self.memory.get(key)


def shared(storage: Any | None = None, *, replicas: int = 1) -> SharedChannelThrottle:
    return SharedChannelThrottle(RULES, storage=storage or MemoryStorage(), replicas=replicas, retry_interval=5.0)


def test_embedded_mode_keeps_the_in_process_bucket_and_scaled_mode_shares_one_in_redis() -> None:
    assert type(channel_throttle(rules=RULES, events_url="sqlite:///var/events.db")) is ChannelThrottle
    scaled = channel_throttle(rules=RULES, events_url="redis://127.0.0.1:1/0?stream=interchange", replicas=3)
    assert isinstance(scaled, SharedChannelThrottle)  # nothing connects until the first pass
    assert scaled.replicas == 3


def test_a_channels_rate_becomes_whole_updates_per_window_never_above_it() -> None:
    assert (window_item(5).amount, window_item(5).get_expiry()) == (5, 1)
    assert (window_item(2.7).amount, window_item(2.7).get_expiry()) == (2, 1)
    assert (window_item(0.5).amount, window_item(0.5).get_expiry()) == (1, 2)
    assert (window_item(0.3).amount, window_item(0.3).get_expiry()) == (1, 4)


async def test_the_in_process_bucket_answers_a_pass_as_the_shared_one_does() -> None:
    throttle = ChannelThrottle(RULES)
    admitted = [await throttle.admit_channels(["marketplace", "free"], now=T) for _ in range(6)]
    assert admitted == [{"marketplace", "free"}] * 5 + [{"free"}]
    assert await throttle.held_channels(now=T) == ["marketplace"]


async def test_the_shared_throttle_admits_the_rate_per_window_and_refuses_the_rest() -> None:
    throttle = shared()
    assert await throttle.held(now=T) == [] and throttle.wait(now=T) == 0.0
    assert [await throttle.admit("marketplace", now=T + i / 100) for i in range(7)] == [True] * 5 + [False] * 2
    assert [await throttle.admit("free", now=T) for _ in range(50)] == [True] * 50
    assert await throttle.held(now=T + 0.3) == ["marketplace"]  # without taking
    assert throttle.wait(now=T + 0.3) == pytest.approx(0.7)  # until its window ends
    assert await throttle.held(now=T + 1.0) == [] and throttle.wait(now=T + 1.0) == 0.0
    assert sum([await throttle.admit("marketplace", now=T + 1.5) for _ in range(9)]) == 5  # a new window


async def test_held_sees_a_budget_another_replica_spent() -> None:
    storage = MemoryStorage()
    a, b = shared(storage), shared(storage)
    assert sum([await a.admit("slow", now=T + 0.1) for _ in range(3)]) == 1  # 0.5/s: one per 2 s window
    assert await b.held(now=T + 1.2) == ["slow"]
    assert b.wait(now=T + 1.2) == pytest.approx(0.8)
    assert await b.admit("slow", now=T + 2.0)  # the next window


async def test_while_the_storage_fails_a_replica_publishes_its_share_logs_once_and_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh_logger(monkeypatch, throttle_module)
    storage = Failing()
    throttle = shared(storage, replicas=2)  # marketplace 5/s: 2.5/s each while Redis is away
    with capture_logs() as logs:
        admitted = [await throttle.admit("marketplace", now=T) for _ in range(5)]
        assert await throttle.held(now=T) == ["marketplace"]  # the replica's own bucket
    assert admitted == [True, True, False, False, False]
    assert [entry["event"] for entry in logs] == ["inventory_throttle_storage_unavailable"]
    assert throttle.down and throttle.wait(now=T) == pytest.approx(0.2)  # the local bucket's next token

    storage.up = True
    assert await throttle.admit("marketplace", now=T + 4.0)  # within retry_interval: local still
    assert throttle.down
    with capture_logs() as logs:
        assert sum([await throttle.admit("marketplace", now=T + 5.0) for _ in range(9)]) == 5  # Redis again
    assert not throttle.down
    assert [entry["event"] for entry in logs] == ["inventory_throttle_storage_recovered"]


async def test_a_pass_leaves_a_channel_another_replica_spent_due_until_its_next_window(tmp_path: Path) -> None:
    storage = MemoryStorage()
    mine, other = (SharedChannelThrottle(support.RULES, storage=storage) for _ in range(2))
    async with support.projection_db(tmp_path) as db:
        await support.apply(db, support.moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        at = support.T0 + timedelta(seconds=1)
        assert sum([await other.admit("marketplace", now=at.timestamp()) for _ in range(5)]) == 5  # 5/s, spent
        assert await publish_due(db=db, throttle=mine, now=at) == 2  # storefront and b2b
        assert {e["channel"] for e in await support.published(db)} == {"storefront", "b2b"}
        assert await publish_due(db=db, throttle=mine, now=at + timedelta(seconds=0.5)) == 0
        assert await publish_due(db=db, throttle=mine, now=at + timedelta(seconds=1)) == 1  # its next window
        assert [e["channel"] for e in await support.published(db)][-1] == "marketplace"
