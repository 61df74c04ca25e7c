"""The kit's event workers on the worker runtime: idle, they wait for work instead of polling.

Every worker here idles with a back-off of an hour and is idle (its first pass found nothing)
before the work appears, so a test passes only when the wake-up it is about (a commit in this
process, an append by another bus) ran the worker; each is then stopped cooperatively (it returns
by itself, it is not cancelled).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.event import listen

from service_kit.db import Database
from service_kit.events import EventBus, add_event, consume_batch, run_consumer, run_relay
from service_kit.events.consumer import run_on_bus
from service_kit.events.outbox import OUTBOX, OutboxRecord
from service_kit.workers import wakeup_for
from tests.unit.service_kit.events.conftest import OpenBus
from tests.unit.service_kit.events.event_helpers import applied_ns, eventually, record, stock_event

HANDLERS = {"com.interchange.stock.moved.v1": record}
HOUR = 3600.0


class CountingBus:
    """A bus that counts finished ``receive`` calls (the rest, ``change_probe`` included, passes)."""

    def __init__(self, bus: EventBus) -> None:
        self.bus, self.receives = bus, 0

    async def receive(self, **kwargs: Any) -> Any:
        try:
            return await self.bus.receive(**kwargs)
        finally:
            self.receives += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bus, name)


async def test_the_relay_wakes_when_a_transaction_that_added_an_event_commits(bus: EventBus, ledger: Database) -> None:
    stop = asyncio.Event()
    relay = asyncio.create_task(
        run_relay(db=ledger, bus=bus, idle_seconds=HOUR, max_idle_seconds=HOUR, stop_event=stop)
    )
    wakeup = wakeup_for(db=ledger, topic=OUTBOX)

    async def idle() -> bool:
        return wakeup.waiting > 0

    await eventually(idle)  # the first pass found nothing
    async with ledger.transaction() as session:
        await add_event(session=session, event=stock_event(1))

    async def received() -> list[int] | None:
        deliveries = await bus.receive(group="g", consumer="c", max_messages=10)
        await bus.ack(deliveries=deliveries)
        return [d.event.data["n"] for d in deliveries] or None

    assert await eventually(received) == [1]
    stop.set()
    await relay
    assert not relay.cancelled()


class CountingPublisher:
    """A bus that records the size of every batch it was given."""

    def __init__(self, bus: EventBus) -> None:
        self.bus, self.batches = bus, list[int]()

    async def publish(self, **kwargs: Any) -> Any:
        self.batches.append(len(kwargs["events"]))
        return await self.bus.publish(**kwargs)


async def test_a_relay_pass_that_was_not_full_is_not_followed_by_an_empty_one(bus: EventBus, ledger: Database) -> None:
    selects: list[str] = []
    listen(
        ledger.engine.sync_engine,
        "before_cursor_execute",
        lambda *a: selects.append(a[2]) if a[2].startswith("SELECT event_outbox.seq, event_outbox.envelope") else None,
    )
    stop = asyncio.Event()
    relay = asyncio.create_task(
        run_relay(db=ledger, bus=bus, idle_seconds=HOUR, max_idle_seconds=HOUR, linger=0, stop_event=stop)
    )
    wakeup = wakeup_for(db=ledger, topic=OUTBOX)

    async def idle() -> bool:
        return wakeup.waiting > 0

    await eventually(idle)  # the first pass found nothing
    async with ledger.transaction() as session:
        await add_event(session=session, event=stock_event(1))

    async def relayed_and_idle() -> bool:
        return await idle() and not await ledger_unpublished(ledger)

    await eventually(relayed_and_idle)
    stop.set()
    await relay
    assert len(selects) == 2  # the first, empty pass and the one the commit woke; no third look


async def test_the_commits_of_one_moment_go_out_in_one_pass(bus: EventBus, ledger: Database) -> None:
    counting = CountingPublisher(bus)
    stop = asyncio.Event()
    relay = asyncio.create_task(
        run_relay(db=ledger, bus=counting, idle_seconds=HOUR, max_idle_seconds=HOUR, linger=1.0, stop_event=stop)
    )
    wakeup = wakeup_for(db=ledger, topic=OUTBOX)

    async def idle() -> bool:
        return wakeup.waiting > 0

    await eventually(idle)
    for n in range(3):  # three commits, the first wakes the relay, which lingers for the others
        async with ledger.transaction() as session:
            await add_event(session=session, event=stock_event(n))

    async def relayed_and_idle() -> bool:
        return await idle() and not await ledger_unpublished(ledger)

    await eventually(relayed_and_idle)
    stop.set()
    await relay
    assert counting.batches == [3]


async def ledger_unpublished(ledger: Database) -> int:
    async with ledger.transaction() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(OutboxRecord).where(OutboxRecord.published_at.is_(None))
                )
            ).scalar_one()
        )


async def test_an_idle_consumer_wakes_when_another_bus_appends(open_test_bus: OpenBus, ledger: Database) -> None:
    consumer_bus, producer = CountingBus(open_test_bus()), open_test_bus()  # as two processes would
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_consumer(
            bus=consumer_bus,  # type: ignore[arg-type]
            db=ledger,
            group="g",
            consumer="c",
            handlers=HANDLERS,
            idle_backoff=(HOUR, HOUR),
            wait_seconds=0.5,  # Redis: the block inside receive, which bounds how long a stop waits
            stop_event=stop,
        )
    )

    async def first_pass_done() -> bool:  # SQLite: then idle on the probe; Redis: blocking again
        return consumer_bus.receives > 0

    await eventually(first_pass_done)
    await producer.publish(events=[stock_event(7)])
    assert await eventually(lambda: applied_ns(ledger)) == [7]
    stop.set()
    await worker
    assert not worker.cancelled()


async def test_a_lingering_consumer_waits_after_a_short_batch_and_still_stops_at_once(
    bus: EventBus, ledger: Database
) -> None:
    """``linger``: a batch that was not full is followed by a pause (a trickle then comes in
    batches), which the stop event cuts short: the worker returns by itself, not cancelled."""
    counting = CountingBus(bus)
    stop = asyncio.Event()
    await bus.publish(events=[stock_event(1)])

    async def consume_once(block: float) -> int:
        done = await consume_batch(
            bus=counting,  # type: ignore[arg-type]
            db=ledger,
            group="g",
            consumer="c",
            handlers=HANDLERS,
            wait_seconds=block,
        )
        return len(done)

    worker = asyncio.create_task(
        run_on_bus("lingering", bus=bus, consume_once=consume_once, stop_event=stop, linger=(10, HOUR))
    )
    assert await eventually(lambda: applied_ns(ledger)) == [1]
    await bus.publish(events=[stock_event(2)])
    stop.set()
    await worker
    assert not worker.cancelled()
    assert counting.receives == 1  # no second pass: it lingered, then stopped
    assert await applied_ns(ledger) == [1]
