"""Cancellation: before release it compensates (release stock, cancel the ERP order); after
release it asks the WMS to cancel picking and says honestly when it is too late."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from process_apis.orders import repository
from process_apis.orders.app import create_app
from process_apis.orders.flows.worker import process_pending_orders
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, WMS, FakeTier
from tests.unit.process_apis.saga_helpers import event_types, run_until_stopped, steps_run, submit

CANCELLED = "com.interchange.order.cancelled.v1"


def calls(tier: FakeTier, suffix: str) -> int:
    return len([r for r in tier.requests if r.method == "POST" and r.url.path.endswith(suffix)])


async def test_cancel_before_anything_ran_touches_nothing_below(orders: Orders) -> None:
    order_id = await submit(orders)
    resp = await orders.cancel(order_id)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {
        "id": order_id,
        "status": "received",
        "cancel_requested": True,
        "status_url": f"/v1/orders/{order_id}",
    }
    await run_until_stopped(orders)
    order = (await orders.get(order_id)).json()
    assert order["status"] == "cancelled" and order["status_reason"] == "changed my mind"
    assert orders.tier.reservations == {} and orders.tier.sales_orders == {}
    assert await event_types(orders, order_id) == [CANCELLED]


async def test_cancel_after_the_pivot_before_release_cancels_the_erp_order_and_gives_stock_back(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.fault(WMS, "POST", "/pick-release-batches", "503", "503")
    await process_pending_orders(orders.app)
    assert await orders.status(order_id) == "accepted"
    assert (await orders.cancel(order_id)).status_code == 202
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "cancelled"
    assert orders.tier.sales_orders[order_id]["status"] == "cancelled"
    assert [r["status"] for r in orders.tier.reservations.values()] == ["released"]
    assert orders.tier.stock[("WIDGET-BLUE", "AMS")] == 100
    assert (calls(orders.tier, "/cancel"), calls(orders.tier, "/release")) == (1, 1)
    assert (await steps_run(orders, order_id))[-2:] == [
        ("cancel_sales_order", "succeeded"),
        ("release_stock", "succeeded"),
    ]


async def test_cancel_after_release_cancels_picking_first(orders: Orders) -> None:
    order_id = await submit(orders)
    await process_pending_orders(orders.app)
    assert await orders.status(order_id) == "released"
    assert (await orders.cancel(order_id)).status_code == 202
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "cancelled"
    assert [r["status"] for r in orders.tier.reservations.values()] == ["released"]
    assert orders.tier.sales_orders[order_id]["status"] == "cancelled"
    assert calls(orders.tier, "/cancel-picking") == 1
    assert await event_types(orders, order_id) == [
        "com.interchange.order.accepted.v1",
        "com.interchange.order.released.v1",
        CANCELLED,
    ]


async def test_cancel_once_picked_is_too_late_and_says_so(orders: Orders) -> None:
    order_id = await submit(orders)
    await process_pending_orders(orders.app)
    (reservation,) = orders.tier.reservations.values()
    reservation["status"] = "picked"  # the warehouse got there first
    assert (await orders.cancel(order_id)).status_code == 202
    await run_until_stopped(orders)
    order = (await orders.get(order_id)).json()
    assert order["status"] == "released"
    assert "too late" in order["cancel_outcome"]
    assert orders.tier.sales_orders[order_id]["status"] == "open"
    assert reservation["status"] == "picked"
    assert CANCELLED not in await event_types(orders, order_id)


async def test_cancel_of_a_parked_order_compensates_what_was_done(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.fault(ERP, "POST", "/v1/sales-order-batches", *["503"] * 10)
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "on_hold"
    assert (await orders.cancel(order_id)).status_code == 202
    orders.tier.faults.clear()
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "cancelled"
    assert orders.tier.active_reservations() == []
    assert orders.tier.sales_orders == {}  # looked up by reference: none was booked


async def test_cancel_is_refused_when_shipped_or_rejected_and_replayed_under_its_key(orders: Orders) -> None:
    order_id = await submit(orders)
    first = await orders.cancel(order_id, key="cancel-1")
    again = await orders.cancel(order_id, key="cancel-1")
    assert again.json() == first.json()
    other_body = await orders.cancel(order_id, reason="another reason", key="cancel-1")
    assert other_body.status_code == 422
    await run_until_stopped(orders)
    done = await orders.cancel(order_id)
    assert done.status_code == 202 and done.json()["cancel_requested"] is False

    shipped = await submit(
        orders,
        {
            "channel": "marketplace",
            "channel_order_id": "MP-2",
            "customer_id": "C-1001",
            "currency": "EUR",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}}],
        },
    )
    async with orders.app.state.db.transaction() as session:
        row = await repository.get_order(session, order_id=shipped)
        assert row is not None
        row.status = "shipped"
    too_late = await orders.cancel(shipped)
    assert too_late.status_code == 409
    assert too_late.headers["content-type"] == "application/problem+json"
    assert "too late" in too_late.json()["detail"]
    assert (await orders.cancel("ord_nope")).status_code == 404
    assert (await orders.cancel(order_id, partner="zenith-market")).status_code == 404


class GatedTransport(httpx.AsyncBaseTransport):
    """Holds the WMS reservation call until the test lets it through."""

    def __init__(self, tier: FakeTier) -> None:
        self.inner = tier.transport()
        self.reached = asyncio.Event()
        self.proceed = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/reservation-batches" and not self.proceed.is_set():
            self.reached.set()
            await self.proceed.wait()
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def gated(tmp_path: Path, tier: FakeTier) -> AsyncIterator[tuple[Orders, GatedTransport]]:
    gate = GatedTransport(tier)
    app = create_app(orders_settings(tmp_path, worker_poll_interval=60.0), transport=gate, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier), gate


async def test_cancel_racing_the_reservation_leaves_no_stock_reserved(gated: tuple[Orders, GatedTransport]) -> None:
    orders, gate = gated
    order_id = await submit(orders)
    worker = asyncio.create_task(process_pending_orders(orders.app))
    await asyncio.wait_for(gate.reached.wait(), timeout=30)  # the worker is inside reserve_stock
    assert (await orders.cancel(order_id)).status_code == 202
    gate.proceed.set()
    await worker
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "cancelled"
    assert len(orders.tier.reservations) == 1 and orders.tier.active_reservations() == []
    assert orders.tier.stock[("WIDGET-BLUE", "AMS")] == 100
    assert calls(orders.tier, "/release") == 1  # compensated exactly once
    assert orders.tier.seen("POST", ERP, "/v1/sales-order-batches") == []  # never went past the cancel
