"""Two inventory replicas' publishers over one PostgreSQL (issue 9): when both read the same due
availability rows, only one marks them told (and so publishes ``availability.changed``); the other
finds them no longer due once the first one's mark commits, instead of publishing them again.
Each replica is its own ``Database``. Skips locally without PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from process_apis.inventory import repository
from process_apis.inventory.models import Base, ChannelAvailability
from service_kit.db import Database

pytestmark = pytest.mark.xdist_group("postgres")

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SKUS = ("WIDGET-BLUE", "WIDGET-RED", "GADGET-1")


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    a, b = Database(postgres_url, metadata=[Base.metadata]), Database(postgres_url, metadata=[Base.metadata])
    await a.create_schema()
    async with a.transaction() as session:
        for sku in SKUS:
            session.add(
                ChannelAvailability(
                    channel="marketplace", sku=sku, desired=5, due_at=NOW - timedelta(seconds=1), told_seq=0, version=1
                )
            )
    yield a, b
    await a.dispose()
    await b.dispose()


async def waiting_on_a_lock(db: Database) -> int:
    async with db.engine.connect() as conn:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return int((await conn.execute(query)).scalar_one())


async def test_rows_both_replicas_read_as_due_are_marked_told_by_one_only(
    replicas: tuple[Database, Database],
) -> None:
    a, b = replicas

    async def replica_b() -> dict[tuple[str, str], int]:
        async with b.transaction() as session:
            due = await repository.due_states(session=session, now=NOW, limit=10)
            assert len(due) == len(SKUS)  # the same rows A read: A has not committed
            return await repository.mark_told(session=session, rows=due, now=NOW)

    async with a.transaction() as session:
        due = await repository.due_states(session=session, now=NOW, limit=10)
        marked_by_a = await repository.mark_told(session=session, rows=due, now=NOW)
        second = asyncio.create_task(replica_b())
        for _ in range(1000):  # until B has its answer or waits on A's rows
            if second.done() or await waiting_on_a_lock(a):
                break
            await asyncio.sleep(0.01)
    marked_by_b = await second
    assert marked_by_a == {("marketplace", sku): 1 for sku in SKUS}
    assert marked_by_b == {}  # told once: no second availability.changed for the same figures
