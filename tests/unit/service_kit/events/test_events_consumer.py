"""Idempotent, ordered consumers over both buses: at-least-once delivery, exactly-once effect."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, StockMovedV1
from service_kit.db import Database
from service_kit.events import EventBus, Outcome, apply_event, consume_batch, event_data, new_event
from service_kit.events.consumer import ProcessedEvent, SubjectVersion
from tests.unit.service_kit.events.conftest import OpenBus
from tests.unit.service_kit.events.event_helpers import SHORT_LEASE, applied_ns, eventually, record, stock_event

HANDLERS = {"com.interchange.stock.moved.v1": record}


async def consume(bus: EventBus, ledger: Database, *, group: str = "inventory") -> list[Outcome]:
    done = await consume_batch(bus=bus, db=ledger, group=group, consumer="c", handlers=HANDLERS, wait_seconds=0)
    return [outcome for _, outcome in done]


async def test_the_same_event_delivered_twice_applies_once(bus: EventBus, ledger: Database) -> None:
    event = stock_event(1)
    await bus.publish(events=[event])
    await bus.publish(events=[event])  # e.g. a relay that crashed before marking it published

    assert await consume(bus, ledger) == [Outcome.applied, Outcome.duplicate]
    assert await applied_ns(ledger) == [1]
    # Another group keeps its own record: it applies the event too, once.
    assert await consume(bus, ledger, group="marketplace") == [Outcome.applied, Outcome.duplicate]
    assert await applied_ns(ledger) == [1, 1]


async def test_a_redelivery_after_commit_but_before_ack_has_no_second_effect(
    open_test_bus: OpenBus, ledger: Database
) -> None:
    bus = open_test_bus(lease=SHORT_LEASE)
    await bus.publish(events=[stock_event(1)])
    (delivery,) = await bus.receive(group="g", consumer="dies-before-ack")
    assert await apply_event(db=ledger, group="g", event=delivery.event, handler=record) == Outcome.applied

    async def redelivered() -> list[Outcome]:
        return await consume(bus, ledger, group="g")

    assert await eventually(redelivered) == [Outcome.duplicate]
    assert await applied_ns(ledger) == [1]


async def test_a_failing_handler_leaves_no_trace_and_the_retry_applies(bus: EventBus, ledger: Database) -> None:
    calls = {"n": 0}

    async def flaky(*, session: AsyncSession, event: CloudEvent) -> None:
        calls["n"] += 1
        await record(session=session, event=event)
        if calls["n"] == 1:
            raise ConnectionError("ERP timed out")

    await bus.publish(events=[stock_event(7)])
    handlers = {"com.interchange.stock.moved.v1": flaky}

    async def attempt() -> list[object]:
        return await consume_batch(
            bus=bus, db=ledger, group="g", consumer="c", handlers=handlers, wait_seconds=0, retry_base=0
        )

    assert await attempt() == []  # failed: rolled back, nacked
    ((delivery, outcome),) = await eventually(attempt)
    assert outcome == Outcome.applied and delivery.attempt == 2
    assert await applied_ns(ledger) == [7]


async def test_an_older_entity_version_after_a_newer_one_is_ignored(bus: EventBus, ledger: Database) -> None:
    subject = "sku/WIDGET/DC1"
    await bus.publish(
        events=[
            stock_event(1, subject=subject, version=1),
            stock_event(3, subject=subject, version=3),
            stock_event(2, subject=subject, version=2),  # late: a redelivery or a slow producer
            stock_event(30, subject=subject, version=3),  # same version again: not newer
            stock_event(4, subject=subject, version=4),
            stock_event(9, subject="sku/OTHER/DC1", version=1),  # versions are per subject
            stock_event(0, subject=subject),  # unversioned: always applied
        ]
    )
    outcomes = await consume(bus, ledger)

    assert outcomes == [Outcome.applied, Outcome.applied, Outcome.stale, Outcome.stale] + [Outcome.applied] * 3
    assert await applied_ns(ledger) == [1, 3, 4, 9, 0]
    async with ledger.transaction() as session:
        version = await session.scalar(select(SubjectVersion.version).where(SubjectVersion.subject == subject))
        stale = await session.scalar(select(ProcessedEvent).where(ProcessedEvent.outcome == "stale").limit(1))
    assert version == 4 and stale is not None


async def test_events_of_other_types_are_never_handed_to_the_consumer(bus: EventBus, ledger: Database) -> None:
    other = CloudEvent(source="/erp", type="com.interchange.item.changed.v1", data={"n": 5})
    await bus.publish(events=[other, stock_event(1), other.model_copy(update={"id": "other-2"})])
    assert await consume(bus, ledger) == [Outcome.applied]
    assert await consume(bus, ledger) == []
    assert await applied_ns(ledger) == [1]
    assert await bus.pending(group="inventory") == 0


async def test_a_redelivery_of_another_type_is_acked_untouched(open_test_bus: OpenBus, ledger: Database) -> None:
    """Handed out before the group took only some types (an older member), then its lease ran out."""
    bus = open_test_bus(lease=SHORT_LEASE)
    await bus.publish(events=[CloudEvent(source="/erp", type="com.interchange.item.changed.v1", data={"n": 5})])
    assert len(await bus.receive(group="g", consumer="older-member")) == 1  # never acked

    async def redelivered() -> list[Outcome]:
        return await consume(bus, ledger, group="g")

    assert await eventually(redelivered) == [Outcome.ignored]
    assert await bus.pending(group="g") == 0
    assert await applied_ns(ledger) == []


def test_new_event_builds_a_typed_cloud_event_and_event_data_reads_it_back() -> None:
    data = StockMovedV1(
        sku="WIDGET-BLUE",
        warehouse="DC1",
        movement="receipt",
        quantity_delta="5",
        on_hand_after="12",
        reserved_after="2",
        occurred_at="2026-01-05T10:00:00Z",
    )
    event = new_event(data=data, source="/wms", subject="sku/WIDGET-BLUE/DC1", entity_version=8, correlation_id="c-9")
    assert event.type == "com.interchange.stock.moved.v1" and event.specversion == "1.0"
    assert event.entityversion == 8 and event.correlationid == "c-9" and event.id

    # A consumer on an older model version tolerates fields added since.
    wire = CloudEvent.model_validate_json(
        event.model_copy(update={"data": {**event.data, "bin": "A-01"}}).model_dump_json()
    )
    assert event_data(event=wire, model=StockMovedV1) == data
