"""Two orders workers on one PostgreSQL (READ COMMITTED) claim due orders together (issue 9): no
order is claimed twice, none is left, and a worker does not wait on the rows the other one is
claiming (``FOR UPDATE SKIP LOCKED``). Each worker is its own ``Database`` (engine, connections),
as two replicas would be. Skips locally without PostgreSQL (tests/support/postgres.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from process_apis.orders.claims import claim_due
from process_apis.orders.models import Base, OrderRow
from service_kit.db import Database

pytestmark = pytest.mark.xdist_group("postgres")

ORDERS = 120
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    a, b = Database(postgres_url, metadata=[Base.metadata]), Database(postgres_url, metadata=[Base.metadata])
    await a.create_schema()
    async with a.transaction() as session:
        for n in range(ORDERS):
            session.add(
                OrderRow(
                    id=f"ord-{n:04d}",
                    channel="marketplace",
                    channel_order_id=f"MP-{n}",
                    customer_id="CUST-1",
                    currency="EUR",
                    status="RECEIVED",
                    created_at=NOW - timedelta(seconds=ORDERS - n),
                    updated_at=NOW,
                )
            )
    yield a, b
    await a.dispose()
    await b.dispose()


async def claim(db: Database, *, worker_id: str, limit: int = 5) -> list[str]:
    async with db.transaction() as session:
        return await claim_due(
            session, now=NOW, lease_until=NOW + timedelta(minutes=5), worker_id=worker_id, limit=limit
        )


async def test_two_workers_claiming_at_once_never_claim_one_order_twice(workers: tuple[Database, Database]) -> None:
    claimed: dict[str, list[str]] = {"a": [], "b": []}

    async def worker(db: Database, name: str) -> None:
        while got := await claim(db, worker_id=f"orders-{name}"):
            claimed[name] += got

    await asyncio.gather(*(worker(db, name) for db, name in zip(workers, claimed, strict=True)))
    everything = claimed["a"] + claimed["b"]
    assert len(everything) == len(set(everything)) == ORDERS  # each order once, none left behind
    a, _ = workers
    async with a.engine.connect() as conn:
        holders = {row[0]: row[1] for row in await conn.execute(text("SELECT id, claimed_by FROM orders"))}
    assert {holders[i] for i in claimed["a"]} == {"orders-a"}
    assert {holders[i] for i in claimed["b"]} == {"orders-b"}


async def test_a_worker_claims_other_orders_while_the_first_one_holds_its_claim_open(
    workers: tuple[Database, Database],
) -> None:
    a, b = workers
    async with a.transaction() as first:  # worker A's claim, not committed yet
        held = await claim_due(first, now=NOW, lease_until=NOW + timedelta(minutes=5), worker_id="orders-a", limit=10)
        second = asyncio.create_task(claim(b, worker_id="orders-b", limit=10))
        # Until B has its answer or waits on A's row locks (the old claim did: then it found them
        # claimed once A committed, and came back with nothing).
        for _ in range(1000):
            async with a.engine.connect() as conn:
                waiting = (
                    await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))
                ).scalar_one()
            if second.done() or waiting:
                break
            await asyncio.sleep(0.01)
    got = await second
    assert len(held) == len(got) == 10
    assert not set(held) & set(got)
    assert got == [f"ord-{n:04d}" for n in range(10, 20)]  # the next oldest, not nothing
