"""Batch consumers (``service_kit.events.batch``): many events per transaction, with the same
dedupe by event id and ordering by ``entityversion`` as one event per transaction, and a poison
event nacked alone."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent
from service_kit.db import Database
from service_kit.events import EventBus, Outcome, apply_event
from service_kit.events.batch import apply_events, consume_events, each_event
from service_kit.events.consumer import ProcessedEvent
from tests.unit.service_kit.events.event_helpers import applied_ns, record, stock_event

TYPES = {"com.interchange.stock.moved.v1"}


async def record_all(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    for event in events:
        await record(session=session, event=event)


async def test_a_batch_applies_each_event_once_and_skips_what_is_stale(ledger: Database) -> None:
    first = stock_event(1, subject="sku/A/DC1", version=5)
    await apply_event(db=ledger, group="g", event=first, handler=record)

    batch = [
        stock_event(2, subject="sku/A/DC1", version=4),  # older than what was applied: stale
        stock_event(3, subject="sku/A/DC1", version=6),
        stock_event(4, subject="sku/A/DC1", version=6),  # same version again, later in the batch: stale
        stock_event(5, subject="sku/B/DC1", version=1),
        stock_event(6),  # no version: applied
    ]
    outcomes = await apply_events(db=ledger, group="g", events=batch, handler=record_all)

    assert outcomes == [Outcome.applied if n in {3, 5, 6} else Outcome.stale for n in (2, 3, 4, 5, 6)]
    assert await applied_ns(ledger) == [1, 3, 5, 6]
    # The versions recorded in bulk hold for the single-event path too.
    assert await apply_event(db=ledger, group="g", event=stock_event(7, subject="sku/A/DC1", version=6), handler=record)
    assert await applied_ns(ledger) == [1, 3, 5, 6]
    async with ledger.transaction() as session:
        recorded = dict((await session.execute(select(ProcessedEvent.event_id, ProcessedEvent.outcome))).all())
    assert recorded[batch[0].id] == Outcome.stale and recorded[batch[1].id] == Outcome.applied


async def test_a_poison_event_is_nacked_alone_and_a_redelivered_one_is_a_duplicate(
    bus: EventBus, ledger: Database
) -> None:
    redelivered = stock_event(1)
    await apply_event(db=ledger, group="g", event=redelivered, handler=record)  # applied before a crash
    await bus.publish(events=[redelivered, stock_event(2), stock_event(3, poison=True), stock_event(4)])

    async def refuses_poison(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        if any(e.data.get("poison") for e in events):
            raise ValueError("cannot apply")
        await record_all(session=session, events=events)

    done = await consume_events(
        bus=bus, db=ledger, group="g", consumer="c", types=TYPES, handler=refuses_poison, wait_seconds=0
    )

    assert sorted((int(d.event.data["n"]), outcome) for d, outcome in done) == [
        (1, Outcome.duplicate),
        (2, Outcome.applied),
        (4, Outcome.applied),
    ]
    assert await applied_ns(ledger) == [1, 2, 4]
    assert await bus.pending(group="g") == 1  # the poison event, nacked for a retry


async def test_a_one_event_handler_applies_a_whole_batch_in_one_transaction(bus: EventBus, ledger: Database) -> None:
    """``each_event``: a consumer with per-event logic, batched (one commit for the batch)."""
    await bus.publish(events=[stock_event(n) for n in (1, 2, 3)])

    done = await consume_events(
        bus=bus, db=ledger, group="g", consumer="c", types=TYPES, handler=each_event(record), wait_seconds=0
    )

    assert [outcome for _, outcome in done] == [Outcome.applied] * 3
    assert await applied_ns(ledger) == [1, 2, 3]
    async with ledger.transaction() as session:
        stamps = set((await session.scalars(select(ProcessedEvent.processed_at))).all())
    assert len(stamps) == 1  # recorded together: one transaction
