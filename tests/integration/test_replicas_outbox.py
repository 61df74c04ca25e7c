"""Two replicas of a service on one PostgreSQL run two outbox relays over one ``event_outbox``
(issue 9): every event is published once, in the order it was committed. The second relay's pass
waits for the rows the first one is publishing (``FOR UPDATE``) instead of publishing them a
second time. Each relay is its own ``Database`` (engine, connections), as two replicas would be;
the bus is a recording one (what the relay hands over is what is tested). Skips locally without
PostgreSQL (tests/support/postgres.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from sqlalchemy import func, select, text

from contracts.events import CloudEvent
from service_kit.db import Database
from service_kit.events import relay_outbox
from service_kit.events.outbox import OutboxRecord, add_events
from tests.unit.service_kit.events.event_helpers import stock_event

pytestmark = pytest.mark.xdist_group("postgres")

EVENTS = 250


class RecordingBus:
    """Takes every batch into one shared list; ``hold`` (optional) runs before the first batch."""

    def __init__(self, published: list[str], hold: Callable[[], object] | None = None) -> None:
        self.published, self.hold = published, hold

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        if self.hold is not None:
            hold, self.hold = self.hold, None
            await hold()  # type: ignore[misc]
        self.published += [event.id for event in events]
        return [event.id for event in events]


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    a, b = Database(postgres_url), Database(postgres_url)
    await a.create_schema()
    async with a.transaction() as session:
        await add_events(session=session, events=[stock_event(n) for n in range(EVENTS)])
    yield a, b
    await a.dispose()
    await b.dispose()


async def committed_order(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(select(OutboxRecord.event_id).order_by(OutboxRecord.seq))).scalars())


async def waiting_on_a_lock(db: Database) -> int:
    async with db.engine.connect() as conn:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return int((await conn.execute(query)).scalar_one())


async def test_a_batch_one_relay_is_publishing_is_not_published_again_by_the_other(
    replicas: tuple[Database, Database],
) -> None:
    a, b = replicas
    published: list[str] = []
    second: asyncio.Task[int] | None = None

    async def let_b_pass_first() -> None:
        # A has read its batch and not yet marked it: B's pass runs now, to its end or to a lock.
        nonlocal second
        second = asyncio.create_task(relay_outbox(db=b, bus=RecordingBus(published), batch_size=100))
        for _ in range(1000):
            if second.done() or await waiting_on_a_lock(a):
                return
            await asyncio.sleep(0.01)

    first = await relay_outbox(db=a, bus=RecordingBus(published, hold=let_b_pass_first), batch_size=100)
    assert second is not None
    then = await second
    assert first == 100 and then == 100  # B waited, then took the next hundred, not the same
    expected = await committed_order(a)
    assert published == expected[:200]


async def test_two_relays_draining_together_publish_each_event_once_in_commit_order(
    replicas: tuple[Database, Database],
) -> None:
    published: list[str] = []

    async def drain(db: Database) -> None:
        while await relay_outbox(db=db, bus=RecordingBus(published), batch_size=20):
            pass

    await asyncio.gather(*(drain(db) for db in replicas))
    assert published == await committed_order(replicas[0])
    async with replicas[0].engine.connect() as conn:
        unpublished = select(func.count()).where(OutboxRecord.published_at.is_(None))
        assert (await conn.execute(unpublished)).scalar_one() == 0
