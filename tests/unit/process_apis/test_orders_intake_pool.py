"""Intake's use of the database: one statement per table in one transaction, and every order answered under more
concurrent orders than the pool has connections. Intake validates against the master data copy,
which reads with a connection of its own; a request that already held one while it waited for a
second deadlocked the pool once as many requests as connections were in flight (every one timed
out after the pool's 30 s)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from process_apis.orders import repository
from process_apis.orders.app import create_app
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import FakeTier

INTAKE_TABLES = {"idempotency_keys", "orders", "order_lines", "order_status_history"}
POOL_SIZE = 1
OVERFLOW = 10  # SQLAlchemy's default max_overflow: the pool hands out at most 11 connections


@pytest.fixture
async def small_pool_orders(tmp_path: Path) -> AsyncIterator[Orders]:
    tier = FakeTier.demo()
    settings = orders_settings(tmp_path, db_pool_size=POOL_SIZE)
    app = create_app(settings, transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier)


@pytest.mark.timeout(25)
async def test_more_concurrent_orders_than_connections_are_all_accepted(small_pool_orders: Orders) -> None:
    orders = small_pool_orders
    count = POOL_SIZE + OVERFLOW + 4
    # The master data copy is read from the database on first use (nothing memoised yet).
    orders.app.state.master_data._memo.clear()

    answers = await asyncio.gather(
        *(orders.client.post("/v1/orders", json=order_body(f"MP-{n}"), headers=as_service()) for n in range(count))
    )

    assert [a.status_code for a in answers] == [202] * count, [a.text for a in answers if a.status_code != 202]
    assert len(await orders.find()) == count


async def test_intake_writes_each_table_once_in_one_transaction_and_the_order_is_complete(orders: Orders) -> None:
    """One statement per table and one commit: the key with its answer, the order (its unique
    natural key is the duplicate check), its lines (all of them in one) and its first history entry."""
    seen: list[str] = []
    intake_connections: list[object] = []
    commits: list[object] = []

    pruning: set[object] = set()  # connections in the key pruner's transaction (flows/worker.py)

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Intake's tables only (not the master data copy's reads or the outbox relay's work).
        words = " ".join(statement.split()[:3])
        if words == "DELETE FROM idempotency_keys":  # the pruner's start-up pass, not intake
            pruning.add(conn)
        elif INTAKE_TABLES & set(words.split()) or "FROM orders" in statement:
            seen.append(words)
            intake_connections.append(conn)

    def committed(conn: Any) -> None:
        if conn in pruning:
            pruning.discard(conn)
        else:
            commits.append(conn)

    engine = orders.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        resp = await orders.submit(order_body(lines=[line("WIDGET-BLUE", "2"), line("CABLE-USB-C", "3")]))
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)

    assert resp.status_code == 202, resp.text
    assert seen == [
        "INSERT INTO idempotency_keys",
        "INSERT INTO orders",
        "INSERT INTO order_lines",
        "INSERT INTO order_status_history",
    ]
    assert len([conn for conn in commits if conn in intake_connections]) == 1
    order = (await orders.get(resp.json()["id"])).json()
    assert (order["status"], [(ln["sku"], ln["quantity"]["value"]) for ln in order["lines"]]) == (
        "received",
        [("WIDGET-BLUE", "2"), ("CABLE-USB-C", "3")],
    )
    async with orders.app.state.db.transaction() as session:
        stored = await repository.get_order(session, order_id=resp.json()["id"])
    assert stored is not None
    assert (stored.version, stored.saga_active, stored.saga_step, stored.attempts) == (1, True, "price_order", 0)
