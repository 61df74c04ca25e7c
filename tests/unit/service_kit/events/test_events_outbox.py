"""Transactional outbox and relay over both buses: nothing published for a rolled-back change,
nothing lost across a relay crash, and consumers turn at-least-once into exactly-once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select

from contracts.events import CloudEvent
from service_kit.app import create_service_app
from service_kit.db import Database
from service_kit.events import EventBus, Outcome, add_event, consume_batch, open_bus, relay_outbox
from service_kit.events.outbox import OutboxRecord, add_events
from service_kit.events.workers import outbox_relay
from service_kit.settings import ServiceSettings
from tests.support.tokens import static_verifier
from tests.unit.service_kit.events.event_helpers import applied_ns, eventually, record, stock_event

HANDLERS = {"com.interchange.stock.moved.v1": record}


class CrashAfterPublish:
    """A relay whose process dies after the bus took the batch, before the rows were marked."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        await self.bus.publish(events=events)
        raise SystemError("relay killed between publish and mark")


class BusDown:
    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        raise ConnectionError("bus unreachable")


async def received(bus: EventBus, group: str = "g") -> list[CloudEvent]:
    deliveries = await bus.receive(group=group, consumer="c", max_messages=100)
    await bus.ack(deliveries=deliveries)
    return [d.event for d in deliveries]


async def test_an_event_added_in_a_rolled_back_transaction_is_never_published(bus: EventBus, ledger: Database) -> None:
    with pytest.raises(RuntimeError):
        async with ledger.transaction() as session:
            await add_event(session=session, event=stock_event(1))
            raise RuntimeError("business rule failed after the event was added")
    async with ledger.transaction() as session:
        await add_event(session=session, event=stock_event(2))

    assert await relay_outbox(db=ledger, bus=bus) == 1
    assert [e.data["n"] for e in await received(bus)] == [2]


async def test_events_added_together_commit_together_and_go_out_in_order(bus: EventBus, ledger: Database) -> None:
    with pytest.raises(RuntimeError):
        async with ledger.transaction() as session:
            await add_events(session=session, events=[stock_event(1), stock_event(2)])
            raise RuntimeError("business rule failed after the events were added")
    batch = [stock_event(n, correlation="c-7") for n in (3, 4, 5)]
    async with ledger.transaction() as session:
        await add_events(session=session, events=batch)

    assert await relay_outbox(db=ledger, bus=bus) == 3
    assert await received(bus) == batch  # the whole envelope, as added


async def test_a_committed_event_is_published_once_per_relay_run(bus: EventBus, ledger: Database) -> None:
    async with ledger.transaction() as session:
        for n in range(3):
            await add_event(session=session, event=stock_event(n))

    assert await relay_outbox(db=ledger, bus=bus) == 3
    assert await relay_outbox(db=ledger, bus=bus) == 0
    assert [e.data["n"] for e in await received(bus)] == [0, 1, 2]
    async with ledger.transaction() as session:
        rows = (await session.scalars(select(OutboxRecord))).all()
    assert all(r.published_at is not None and r.attempts == 1 for r in rows)


async def test_a_relay_crash_between_publish_and_mark_loses_nothing_and_applies_once(
    bus: EventBus, ledger: Database
) -> None:
    events = [stock_event(n) for n in range(5)]
    async with ledger.transaction() as session:
        for event in events:
            await add_event(session=session, event=event)

    assert await relay_outbox(db=ledger, bus=bus, batch_size=2) == 2
    with pytest.raises(SystemError):
        await relay_outbox(db=ledger, bus=CrashAfterPublish(bus), batch_size=2)
    # The restarted relay carries on from what is not marked: the crashed batch goes again.
    while await relay_outbox(db=ledger, bus=bus, batch_size=2):
        pass

    published = [d.event.id for d in await bus.receive(group="audit", consumer="c", max_messages=100)]
    assert published == [e.id for e in events[:4]] + [e.id for e in events[2:]]  # 2 and 3 twice, in order

    outcomes = []
    while done := await consume_batch(
        bus=bus, db=ledger, group="inventory", consumer="c", handlers=HANDLERS, wait_seconds=0
    ):
        outcomes += [o for _, o in done]
    assert outcomes.count(Outcome.duplicate) == 2
    assert await applied_ns(ledger) == [0, 1, 2, 3, 4]


async def test_a_bus_outage_keeps_the_rows_for_the_next_pass(bus: EventBus, ledger: Database) -> None:
    async with ledger.transaction() as session:
        await add_event(session=session, event=stock_event(1))
    with pytest.raises(ConnectionError):
        await relay_outbox(db=ledger, bus=BusDown())
    async with ledger.transaction() as session:
        (row,) = (await session.scalars(select(OutboxRecord))).all()
    assert row.published_at is None and row.attempts == 1 and "bus unreachable" in (row.last_error or "")

    assert await relay_outbox(db=ledger, bus=bus) == 1
    assert [e.data["n"] for e in await received(bus)] == [1]


class Killed(BaseException):
    """The relay's process dying (not an ``Exception``: nothing records or handles it)."""


class KilledAfterPublish:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        await self.bus.publish(events=events)
        raise Killed


async def test_a_relay_killed_after_the_append_sends_the_batch_again(bus: EventBus, ledger: Database) -> None:
    events = [stock_event(n) for n in range(3)]
    async with ledger.transaction() as session:
        await add_events(session=session, events=events)
    with pytest.raises(Killed):
        await relay_outbox(db=ledger, bus=KilledAfterPublish(bus))

    assert await relay_outbox(db=ledger, bus=bus) == 3  # the mark was never committed: sent again
    assert [e.id for e in await received(bus)] == [e.id for e in events] * 2


async def test_a_relay_pass_uses_one_connection_of_the_service_database(bus: EventBus, ledger: Database) -> None:
    async with ledger.transaction() as session:
        await add_events(session=session, events=[stock_event(n) for n in range(3)])
    checkouts: list[object] = []
    statements: list[str] = []
    pool, engine = ledger.engine.sync_engine.pool, ledger.engine.sync_engine
    sqlalchemy_event.listen(pool, "checkout", lambda *args: checkouts.append(args))
    sqlalchemy_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0]))

    assert await relay_outbox(db=ledger, bus=bus) == 3

    # Select, append, mark in one session (was: one for the select and one for the mark).
    assert (len(checkouts), statements) == (1, ["SELECT", "UPDATE"])
    assert [e.data["n"] for e in await received(bus)] == [0, 1, 2]


class EventSettings(ServiceSettings):
    events_url: str = ""  # the field the lead adds to ServiceSettings (INTERCHANGE_EVENTS_URL)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_the_relay_runs_as_a_service_worker(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = "" if backend == "sqlite" else f"{request.getfixturevalue('redis_url')}?stream=worker:{tmp_path.name}"
    settings = EventSettings.load("inventory", data_dir=tmp_path, log_json=False, events_url=url)
    app = create_service_app(
        settings,
        title="t",
        description="t",
        workers=[outbox_relay(idle_seconds=0.01)],
        verifier=static_verifier(),
        configure_logs=False,
    )
    reader = open_bus(settings=settings)  # sqlite: <data_dir>/events.db, the default
    try:
        async with app.router.lifespan_context(app):
            async with app.state.db.transaction() as session:
                await add_event(session=session, event=stock_event(42))
            (event,) = await eventually(lambda: received(reader))
            assert event.data["n"] == 42
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                assert (await client.get("/health/ready")).status_code == 200
    finally:
        await reader.close()
    if backend == "sqlite":
        assert (tmp_path / "events.db").exists()
