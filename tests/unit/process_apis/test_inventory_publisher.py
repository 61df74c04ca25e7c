"""The publisher against a consumer update that lands in the middle of a publication (issue 10
item 10): driven step by step, deterministically, by running the consumer's update right after
the publisher has read what is due and before it records what it published."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import CloudEvent
from process_apis.inventory import repository
from process_apis.inventory.projection import DUE
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.settings import default_channels
from process_apis.inventory.workers import PASS_LIMIT, next_pass_in
from service_kit.db import Database
from service_kit.workers import wakeup_for
from tests.unit.process_apis.test_inventory_support import T0, apply, moved, projection_db, published

LATER = T0 + timedelta(seconds=1)
RULES = default_channels()


def consumer_update_after_read(
    monkeypatch: pytest.MonkeyPatch, db: Database, event: CloudEvent
) -> Callable[..., Awaitable[Sequence[Any]]]:
    """Make the publisher's next read of the due rows be followed, before it goes on, by the
    consumer applying ``event`` (committed, in its own transaction): the interleaving of the
    lost update. Only the first read is interleaved."""
    read = repository.due_states
    pending = [event]

    async def read_then_consume(**kwargs: Any) -> Sequence[Any]:
        rows = await read(**kwargs)
        while pending:
            await apply(db, pending.pop(), now=LATER)
        return rows

    monkeypatch.setattr(repository, "due_states", read_then_consume)
    return read_then_consume


async def drain(db: Database, throttle: ChannelThrottle) -> None:
    """Publisher passes until nothing is due (a handful at most)."""
    for n in range(2, 10):
        if not await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=n)):
            return


async def channel_rows(db: Database, sku: str) -> dict[str, tuple[int, int | None, bool]]:
    async with db.transaction() as session:
        states = await repository.channel_states(session=session, skus=[sku])
        return {s.channel: (s.desired, s.told, s.due_at is not None) for s in states}


async def test_a_stock_update_during_a_publication_is_published_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle({})
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        # The publisher reads "5"; then the consumer applies a shipment of 2 (on hand 3) and
        # commits; then the publisher records its publication.
        consumer_update_after_read(monkeypatch, db, moved("WIDGET-RED", "AMS", on_hand=3, version=2))
        await publish_due(db=db, throttle=throttle, now=LATER)
        await drain(db, throttle)

        latest = {e["channel"]: e["available"] for e in await published(db)}
        assert latest == {"marketplace": "2", "storefront": "3", "b2b": "3"}  # marketplace: 80 % of 3
        assert await channel_rows(db, "WIDGET-RED") == {
            "marketplace": (2, 2, False),
            "storefront": (3, 3, False),
            "b2b": (3, 3, False),
        }


async def test_a_change_during_a_pass_that_found_nothing_to_tell_stays_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle({})
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=12, version=1))
        await publish_due(db=db, throttle=throttle, now=LATER)
        # 12 -> 20 -> 12 within one window: due, but nothing to tell...
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=20, version=2), now=LATER)
        await apply(db, moved("GADGET-PRO", "RTM", on_hand=12, version=3), now=LATER)
        # ...until a receipt (on hand 15) lands between the publisher's read and its write.
        consumer_update_after_read(monkeypatch, db, moved("GADGET-PRO", "RTM", on_hand=15, version=4))
        await publish_due(db=db, throttle=throttle, now=LATER + timedelta(seconds=1))
        await drain(db, throttle)

        b2b = [e["available"] for e in await published(db) if e["channel"] == "b2b"]
        assert b2b == ["12", "15"]
        assert (await channel_rows(db, "GADGET-PRO"))["b2b"] == (15, 15, False)


async def test_the_commit_that_makes_a_value_due_wakes_the_publisher(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        wakeup = wakeup_for(db=db, topic=DUE)  # what the publisher waits on when idle
        since = wakeup.mark()
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        assert await wakeup.wait(since=since, seconds=0)

        since = wakeup.mark()
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))  # a redelivery: nothing changes
        assert not await wakeup.wait(since=since, seconds=0)

        since = wakeup.mark()
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=7, version=2))  # due already: the publisher knows
        assert not await wakeup.wait(since=since, seconds=0)

        await publish_due(db=db, throttle=ChannelThrottle({}), now=T0 + timedelta(seconds=1))
        since = wakeup.mark()
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=9, version=3))  # told: due again
        assert await wakeup.wait(since=since, seconds=0)


def test_the_publisher_paces_its_passes_while_values_keep_falling_due() -> None:
    throttle = ChannelThrottle(RULES)

    def pause(published: int, earliest: object = None) -> float | None:
        return next_pass_in(published=published, earliest=earliest, now=T0, throttle=throttle, interval=0.2)  # type: ignore[arg-type]

    assert pause(PASS_LIMIT) == 0.0  # a full pass: a backlog, the next one at once
    assert pause(3) == 0.2  # published some: what falls due meanwhile goes with the next pass
    assert pause(0) is None  # nothing pending: asleep until woken
    assert pause(0, T0 + timedelta(seconds=0.5)) == pytest.approx(0.5)  # until it leaves its window
    assert pause(0, T0 + timedelta(seconds=0.01)) == 0.2  # never closer together than the interval
    for _ in range(5):
        throttle.admit("marketplace", now=T0.timestamp())
    assert pause(0, T0) == pytest.approx(0.2)  # due, held by the marketplace's throttle: its next token
