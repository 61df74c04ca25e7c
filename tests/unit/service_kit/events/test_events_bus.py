"""The bus contract, run against both adapters (embedded SQLite log, Redis Streams)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent
from service_kit.db import Database
from service_kit.events import Delivery, EventBus, UnknownDeadLetter, consume_batch
from service_kit.events.sqlite_log import SKIP_AHEAD, SqliteEventLog
from tests.unit.service_kit.events.conftest import OpenBus
from tests.unit.service_kit.events.event_helpers import (
    MAX_DELIVERIES,
    SHORT_LEASE,
    applied_ns,
    eventually,
    record,
    stock_event,
)


def ns(deliveries: list[Delivery]) -> list[int]:
    return [int(d.event.data["n"]) for d in deliveries]


async def drain(bus: EventBus, *, group: str, consumer: str = "c1") -> list[Delivery]:
    got: list[Delivery] = []
    while batch := await bus.receive(group=group, consumer=consumer, max_messages=4):
        got += batch
        await bus.ack(deliveries=batch)
    return got


async def test_published_events_are_received_in_order_with_their_envelope(bus: EventBus) -> None:
    events = [stock_event(n, version=n, correlation="x") for n in range(7)]
    events[0] = events[0].model_copy(update={"correlationid": "corr-1"})
    ids = await bus.publish(events=events)
    assert len(ids) == len(set(ids)) == 7

    got = await drain(bus, group="inventory")

    assert ns(got) == list(range(7))
    assert [d.message_id for d in got] == ids
    assert [d.event for d in got] == events
    assert got[0].event.correlationid == "corr-1" and got[3].event.entityversion == 3
    assert {d.attempt for d in got} == {1}


async def test_every_group_gets_every_event(bus: EventBus) -> None:
    await bus.publish(events=[stock_event(n) for n in range(5)])
    assert ns(await drain(bus, group="inventory")) == list(range(5))
    assert ns(await drain(bus, group="marketplace")) == list(range(5))
    await bus.publish(events=[stock_event(5)])
    assert ns(await drain(bus, group="inventory")) == [5]
    assert ns(await drain(bus, group="marketplace")) == [5]


async def test_a_group_created_at_latest_sees_only_new_events(bus: EventBus) -> None:
    await bus.publish(events=[stock_event(0)])
    await bus.ensure_group(group="late", start="latest")
    await bus.publish(events=[stock_event(1)])
    assert ns(await drain(bus, group="late")) == [1]


async def test_members_of_one_group_share_the_work(open_test_bus: OpenBus) -> None:
    first, second = open_test_bus(), open_test_bus()  # two processes on one log
    await first.publish(events=[stock_event(n) for n in range(10)])
    seen: dict[str, list[int]] = {"a": [], "b": []}
    while True:
        a = await first.receive(group="g", consumer="a", max_messages=3)
        b = await second.receive(group="g", consumer="b", max_messages=3)
        if not a and not b:
            break
        seen["a"] += ns(a)
        seen["b"] += ns(b)
        await first.ack(deliveries=a)
        await second.ack(deliveries=b)
    assert seen["a"] and seen["b"]
    assert sorted(seen["a"] + seen["b"]) == list(range(10))


async def test_unacked_message_is_redelivered_to_another_member_after_its_lease(open_test_bus: OpenBus) -> None:
    dying, survivor = open_test_bus(lease=SHORT_LEASE), open_test_bus(lease=SHORT_LEASE)
    await dying.publish(events=[stock_event(1), stock_event(2)])
    held = await dying.receive(group="g", consumer="dying", max_messages=2)
    assert ns(held) == [1, 2]
    await dying.ack(deliveries=held[:1])  # finished 1, then died holding 2
    assert await survivor.pending(group="g") == 1

    again = await eventually(lambda: survivor.receive(group="g", consumer="survivor", max_messages=10))

    assert ns(again) == [2]  # the acked one never came back, though its lease ran out too
    assert again[0].attempt == 2 and again[0].consumer == "survivor"
    await survivor.ack(deliveries=again)
    assert await survivor.pending(group="g") == 0
    assert await survivor.pending(group="never-read") == 0


async def test_nack_makes_a_message_available_again(bus: EventBus) -> None:
    await bus.publish(events=[stock_event(1)])
    (first,) = await bus.receive(group="g", consumer="c")
    await bus.nack(delivery=first, error="ValueError: not yet", retry_after=0)
    (second,) = await eventually(lambda: bus.receive(group="g", consumer="c"))
    assert second.event == first.event and second.attempt == 2


async def test_poison_message_is_dead_lettered_after_n_deliveries_without_blocking_the_rest(
    bus: EventBus, ledger: Database
) -> None:
    poison = {"value": True}

    async def handler(*, session: AsyncSession, event: CloudEvent) -> None:
        if event.data["n"] == 2 and poison["value"]:
            raise ValueError("cannot parse quantity")
        await record(session=session, event=event)

    handlers = {"com.interchange.stock.moved.v1": handler}
    await bus.publish(events=[stock_event(n) for n in (1, 2, 3)])

    async def dead_letters() -> list[object]:
        await consume_batch(
            bus=bus, db=ledger, group="g", consumer="c", handlers=handlers, wait_seconds=0, retry_base=0
        )
        return list(await bus.dead_letters(group="g"))

    (letter,) = await eventually(dead_letters)
    assert await applied_ns(ledger) == [1, 3]  # 3 was not held up behind the poison
    assert letter.event.data["n"] == 2 and letter.group == "g"
    assert letter.deliveries == MAX_DELIVERIES
    assert "ValueError: cannot parse quantity" in letter.error
    assert await bus.dead_letters(group="other") == []

    # Fixed: replay hands it back to its group, which applies it; the list is empty again.
    poison["value"] = False
    replayed = await bus.replay(dead_letter_id=letter.id)
    assert replayed.event == letter.event
    done = await consume_batch(bus=bus, db=ledger, group="g", consumer="c", handlers=handlers, wait_seconds=5)
    assert [d.attempt for d, _ in done] == [1]
    assert await applied_ns(ledger) == [1, 3, 2]
    assert await bus.dead_letters() == []
    with pytest.raises(UnknownDeadLetter):
        await bus.replay(dead_letter_id=letter.id)


async def test_replay_reaches_only_the_group_that_parked_the_message(open_test_bus: OpenBus) -> None:
    bus = open_test_bus(lease=SHORT_LEASE)
    await bus.publish(events=[stock_event(1)])
    assert ns(await drain(bus, group="healthy")) == [1]
    # A member of "crashy" dies holding the message, every time: the lease runs out N times.
    for _ in range(MAX_DELIVERIES):
        await eventually(lambda: bus.receive(group="crashy", consumer="c"))

    async def parked() -> list[object]:
        assert await bus.receive(group="crashy", consumer="c") == []
        return list(await bus.dead_letters())

    (letter,) = await eventually(parked)
    assert letter.deliveries == MAX_DELIVERIES and "lease" in letter.error

    await bus.replay(dead_letter_id=letter.id)
    assert ns(await drain(bus, group="crashy")) == [1]
    assert await drain(bus, group="healthy") == []


async def test_replay_of_an_unknown_id_is_refused(bus: EventBus) -> None:
    for bad in ("42", "0-1", "nonsense"):
        with pytest.raises(UnknownDeadLetter):
            await bus.replay(dead_letter_id=bad)


async def test_sqlite_log_commits_offsets_per_group(tmp_path: object) -> None:
    log = SqliteEventLog(path=f"{tmp_path}/events.db")
    try:
        await log.publish(events=[stock_event(n) for n in range(4)])
        held = await log.receive(group="g", consumer="c", max_messages=3)
        assert await log.committed_offset(group="g") == 0
        await log.ack(deliveries=[held[1], held[2]])
        assert await log.committed_offset(group="g") == 0  # offset 1 still pending
        await log.ack(deliveries=[held[0]])
        assert await log.committed_offset(group="g") == 3
        assert await log.committed_offset(group="unknown") is None
    finally:
        await log.close()


async def test_a_group_receives_only_the_types_it_takes(bus: EventBus) -> None:
    other = CloudEvent(source="/erp", type="com.interchange.item.changed.v1", data={"n": 0})
    await bus.publish(events=[other, stock_event(1), other, other, stock_event(2), other])
    wanted = {"com.interchange.stock.moved.v1"}
    got = await bus.receive(group="g", consumer="c", max_messages=10, types=wanted)
    assert ns(got) == [1, 2]
    await bus.ack(deliveries=got)
    assert await bus.receive(group="g", consumer="c", max_messages=10, types=wanted) == []
    assert await bus.pending(group="g") == 0
    # Another group, without a filter, still gets everything.
    assert len(await drain(bus, group="all")) == 6


async def test_sqlite_log_moves_a_group_past_the_types_it_does_not_take(tmp_path: object) -> None:
    """Without claiming anything (no write lock) while few pile up; past them once they do."""
    log = SqliteEventLog(path=f"{tmp_path}/events.db")
    wanted = {"com.interchange.item.changed.v1"}
    try:
        await log.ensure_group(group="g")
        await log.publish(events=[stock_event(n) for n in range(3)])
        assert await log.receive(group="g", consumer="c", types=wanted) == []
        assert await log.committed_offset(group="g") == 0
        await log.publish(events=[stock_event(n) for n in range(SKIP_AHEAD)])
        assert await log.receive(group="g", consumer="c", types=wanted) == []
        assert await log.committed_offset(group="g") == SKIP_AHEAD + 3
        assert await log.pending(group="g") == 0
    finally:
        await log.close()
