"""The availability projection: movements and item changes in, channel values and coalesced,
throttled availability.changed events out; reconciliation finds and repairs a lost update."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from contracts.events import ItemStatus, MovementKind
from process_apis.inventory import projection
from process_apis.inventory.projection import PositionState
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.reconcile import reconcile_with
from tests.unit.process_apis.test_inventory_support import (
    RULES,
    T0,
    apply,
    apply_batch,
    item_changed,
    moved,
    projection_db,
    published,
)


async def values(db, sku: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await projection.availability(session=session, sku=sku, rules=RULES)


async def test_a_sequence_of_movements_gives_each_channel_its_share(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        await apply(
            db,
            moved("WIDGET-BLUE", "AMS", on_hand=100, version=1),
            moved("WIDGET-BLUE", "RTM", on_hand=40, version=1),
        )
        # marketplace: 80 % of 140 = 112, capped at 100; storefront: AMS only; b2b: everything
        assert await values(db, "WIDGET-BLUE") == {"marketplace": 100, "storefront": 100, "b2b": 140}
        await apply(db, moved("WIDGET-BLUE", "AMS", on_hand=100, reserved=90, version=2, kind=MovementKind.reservation))
        # free: AMS 10, RTM 40 -> marketplace floor(0.8 * 50) = 40
        assert await values(db, "WIDGET-BLUE") == {"marketplace": 40, "storefront": 10, "b2b": 50}
        await apply(db, item_changed("WIDGET-BLUE", safety=5, version=1))
        # safety stock per warehouse: AMS 5, RTM 35 -> 40 free
        assert await values(db, "WIDGET-BLUE") == {"marketplace": 32, "storefront": 5, "b2b": 40}
        await apply(db, item_changed("WIDGET-BLUE", status=ItemStatus.discontinued, safety=5, version=2))
        assert await values(db, "WIDGET-BLUE") == {"marketplace": 0, "storefront": 0, "b2b": 0}


async def test_an_older_event_arriving_late_does_not_regress_the_projection(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=12, version=3))
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=2, version=2))  # stale: skipped
        assert (await values(db, "GADGET-PRO"))["b2b"] == 12
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=7, version=4))
        assert (await values(db, "GADGET-PRO"))["b2b"] == 7


async def test_a_burst_of_a_thousand_movements_is_a_handful_of_updates_ending_right(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle(RULES)
        now = T0
        for version in range(1, 1001):
            # 1,000 receipts a millisecond apart, the publisher passing every 10 ms
            now = T0 + timedelta(milliseconds=version)
            await apply(db, moved("CABLE-USB-C", "AMS", on_hand=version, version=version), now=now)
            if version % 10 == 0:
                await publish_due(db=db, throttle=throttle, now=now)
        for _ in range(10):  # drain: let the last window close and the throttle refill
            now += timedelta(seconds=1)
            await publish_due(db=db, throttle=throttle, now=now)
        events = await published(db)
        for channel, last in (("marketplace", 100), ("storefront", 1000), ("b2b", 1000)):
            mine = [e for e in events if e["channel"] == channel]
            assert 1 <= len(mine) <= 20, (channel, len(mine))
            assert mine[-1]["available"] == str(last)


async def test_a_batch_of_movements_and_item_changes_ends_as_if_applied_one_by_one(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        await apply_batch(
            db,
            moved("WIDGET-BLUE", "AMS", on_hand=100, version=1),
            moved("WIDGET-BLUE", "RTM", on_hand=40, version=1),
            moved("WIDGET-BLUE", "AMS", on_hand=90, reserved=10, version=3),
            moved("WIDGET-BLUE", "AMS", on_hand=95, version=2),  # older than version 3: skipped
            item_changed("WIDGET-BLUE", safety=5, version=1),
            moved("GADGET-PRO", "RTM", on_hand=12, version=1),
        )
        # AMS 90 - 10 - 5 = 75, RTM 40 - 5 = 35
        assert await values(db, "WIDGET-BLUE") == {"marketplace": 88, "storefront": 75, "b2b": 110}
        assert await values(db, "GADGET-PRO") == {"marketplace": 9, "storefront": 0, "b2b": 12}
        await publish_due(db=db, throttle=ChannelThrottle({}), now=T0 + timedelta(seconds=1))
        events = await published(db)
        assert len(events) == 6  # one per SKU and channel for the whole batch
        assert {(e["sku"], e["channel"], e["available"]) for e in events} >= {
            ("WIDGET-BLUE", "b2b", "110"),
            ("GADGET-PRO", "b2b", "12"),
        }


async def test_a_pending_value_says_it_reflects_movements_that_left_it_unchanged(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        await apply(db, moved("WIDGET-BLUE", "AMS", on_hand=200, version=1))  # marketplace capped at 100
        later = T0 + timedelta(milliseconds=200)
        await apply(db, moved("WIDGET-BLUE", "AMS", on_hand=210, version=2, at=later), now=later)
        await publish_due(db=db, throttle=ChannelThrottle({}), now=T0 + timedelta(seconds=1))
        events = {e["channel"]: e for e in await published(db)}
        assert events["marketplace"]["available"] == "100"  # the same figure, as fresh as the movement
        assert events["marketplace"]["as_of"] == events["b2b"]["as_of"] == later.isoformat().replace("+00:00", "Z")


async def test_the_throttle_holds_a_channel_to_its_rate() -> None:
    throttle = ChannelThrottle(RULES)  # marketplace: 5 per second
    admitted = sum(throttle.admit("marketplace", now=100.0 + i * 0.01) for i in range(100))  # one second
    assert 5 <= admitted <= 10
    assert sum(throttle.admit("b2b", now=100.0) for _ in range(100)) == 20  # b2b: 20 per second


async def test_the_throttle_says_which_channels_are_held_and_for_how_long() -> None:
    throttle = ChannelThrottle(RULES)  # marketplace 5/s, b2b and storefront 20/s
    assert throttle.held(now=100.0) == [] and throttle.wait(now=100.0) == 0.0
    assert sum(throttle.admit("marketplace", now=100.0) for _ in range(6)) == 5
    assert throttle.held(now=100.0) == ["marketplace"]
    assert throttle.wait(now=100.0) == pytest.approx(0.2)
    assert throttle.held(now=100.2) == []


async def test_a_held_channel_keeps_its_value_due_while_the_others_publish(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle(RULES)
        for _ in range(5):
            throttle.admit("marketplace", now=(T0 + timedelta(seconds=1)).timestamp())
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        assert await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=1)) == 2
        assert {e["channel"] for e in await published(db)} == {"storefront", "b2b"}
        assert await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=1.2)) == 1
        assert [e["channel"] for e in await published(db)][-1] == "marketplace"


async def test_one_update_per_channel_tells_it_every_due_sku_within_its_throttle(tmp_path: Path) -> None:
    """The throttle counts a channel's updates, each a batch of SKUs: 40 SKUs due on the
    marketplace (5 updates/s) go out in one update, not over eight seconds."""
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle(RULES)
        skus = [f"SKU-{n:02d}" for n in range(40)]
        await apply_batch(db, *(moved(sku, "AMS", on_hand=5, version=1) for sku in skus))
        at = T0 + timedelta(seconds=1)
        assert await publish_due(db=db, throttle=throttle, now=at) == 3 * len(skus)
        by_channel = {c: sorted(e["sku"] for e in await published(db) if e["channel"] == c) for c in RULES}
        assert by_channel == {channel: skus for channel in RULES}
        # One token taken per channel: the marketplace has four more updates in this second.
        assert sum(throttle.admit("marketplace", now=at.timestamp()) for _ in range(5)) == 4


async def test_a_lost_update_is_found_by_reconciliation_and_repaired(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle({})
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=1))
        # the WMS then ships 3 (version 2) but that event never arrives
        truth = [PositionState("WIDGET-RED", "AMS", on_hand=2, reserved=0, version=2, moved_at=T0)]
        async with db.transaction() as session:
            report = await reconcile_with(session=session, stock=truth, rules=RULES, window=0.25, repair=False)
        found = {(d.channel, d.told, d.true) for d in report.drift}
        assert found == {("marketplace", 4, 1), ("storefront", 5, 2), ("b2b", 5, 2)}
        async with db.transaction() as session:
            report = await reconcile_with(
                session=session, stock=truth, rules=RULES, window=0.25, repair=True, now=T0 + timedelta(seconds=2)
            )
        assert report.positions_corrected == 1
        await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=2))
        latest = {e["channel"]: e["available"] for e in await published(db)}
        assert latest == {"marketplace": "1", "storefront": "2", "b2b": "2"}
        async with db.transaction() as session:
            again = await reconcile_with(session=session, stock=truth, rules=RULES, window=0.25, repair=False)
        assert again.drift == []
        # the lost event turning up late changes nothing
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=2, version=2))
        assert (await values(db, "WIDGET-RED"))["b2b"] == 2
