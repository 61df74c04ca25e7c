"""Intake under more concurrent orders than the database pool has connections: every order is
answered. Intake validates against the master data copy, which reads with a connection of its own;
a request that already held one while it waited for a second deadlocked the pool once as many
requests as connections were in flight (every one timed out after the pool's 30 s)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from process_apis.orders.app import create_app
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, as_service, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import FakeTier

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
