"""The fault matrix: for every saga step, a business refusal, a success whose answer is lost, a
timeout and a crash of the process running the saga, each checked against the final state of
the order, the ERP, the WMS and the outbox: nothing left reserved for a rejected order, never a
second ERP sales order, compensation run at most once (and never after the pivot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from process_apis.orders.app import create_app
from process_apis.orders.flows.worker import process_pending_orders
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import CRM, ERP, WMS, FakeTier, SimulatedCrash
from tests.unit.process_apis.saga_helpers import event_types, run_until_stopped, submit

#: Where each step reaches the tier below. Pricing and the credit check read the copy of the ERP's
#: master data; the tests make it stale after intake, so both steps make their fallback calls.
STEPS: dict[str, tuple[str, str, str]] = {
    "price_order": (ERP, "GET", "/v1/price-lists"),
    "check_credit": (ERP, "GET", "/v1/customer-terms/C-1001"),
    "reserve_stock": (WMS, "POST", "/v1/reservation-batches"),
    "create_sales_order": (ERP, "POST", "/v1/sales-order-batches"),
    "release_to_warehouse": (WMS, "POST", "/v1/pick-release-batches"),
    "record_activity": (CRM, "POST", "/v1/activity-batches"),
}
ACCEPTED, RELEASED, REJECTED, HELD = (
    f"com.interchange.order.{v}.v1" for v in ("accepted", "released", "rejected", "held")
)


@asynccontextmanager
async def restarted(tmp_path: Path, tier: FakeTier) -> AsyncIterator[Orders]:
    """A fresh app on the same database: the process started again after the crash."""
    settings = orders_settings(tmp_path, worker_poll_interval=60.0)
    app = create_app(settings, transport=httpx.MockTransport(tier.handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier)


def assert_accepted_once(tier: FakeTier, order_id: str) -> None:
    assert [o["external_reference"] for o in tier.sales_orders.values()] == [order_id]  # never a second one
    assert tier.open_sales_orders() != []
    assert [r["status"] for r in tier.reservations.values()] == ["picking"]
    assert [a["reference"] for a in tier.activities] == [order_id]
    assert [r for r in tier.requests if r.url.path.endswith("/release")] == []  # no compensation


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("fault", ["lost", "timeout", "crash"])
async def test_a_technical_fault_at_any_step_ends_with_one_order_everywhere(
    orders: Orders, tmp_path: Path, step: str, fault: str
) -> None:
    order_id = await submit(orders)
    orders.app.state.master_data.max_age = 0  # every price and credit decision asks the ERP
    host, method, suffix = STEPS[step]
    if fault == "crash":
        orders.tier.fault(host, method, suffix, "crash")
        with pytest.raises(SimulatedCrash):
            await process_pending_orders(orders.app)
        async with restarted(tmp_path, orders.tier) as again:
            await run_until_stopped(again)
            final = (await again.get(order_id)).json()
            events = await event_types(again, order_id)
    else:
        # Twice: the kit's own immediate retry of a retry-safe call is used up as well.
        orders.tier.fault(host, method, suffix, fault, fault)
        await run_until_stopped(orders)
        final = (await orders.get(order_id)).json()
        events = await event_types(orders, order_id)
    assert final["status"] == "released", final
    assert final["erp_order_number"] == orders.tier.sales_orders[order_id]["number"]
    assert_accepted_once(orders.tier, order_id)
    assert events == [ACCEPTED, RELEASED]


def _refusal_setup(orders: Orders, step: str) -> dict[str, Any]:
    if step == "check_credit":  # the business answer here is "over the limit"
        return order_body(customer_id="C-2001", lines=[line("GADGET-PRO", "12"), line("CABLE-USB-C", "500")])
    if step == "price_order":  # the ERP prices cables in EA only
        return order_body(lines=[{"sku": "CABLE-USB-C", "quantity": {"value": "2", "unit": "KG"}}])
    return order_body()


REFUSALS: dict[str, tuple[str, list[str], str]] = {
    # step: final status, events, what the tier below must hold
    "price_order": ("rejected", [REJECTED], "nothing"),
    "check_credit": ("on_hold", [HELD], "nothing"),
    "reserve_stock": ("rejected", [REJECTED], "nothing"),
    "create_sales_order": ("rejected", [REJECTED], "released"),
    "release_to_warehouse": ("on_hold", [ACCEPTED, HELD], "booked"),
    "record_activity": ("released", [ACCEPTED, RELEASED], "booked"),
}


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_business_refusal_at_any_step(orders: Orders, step: str) -> None:
    order_id = await submit(orders, _refusal_setup(orders, step))
    if step not in ("check_credit", "price_order"):
        orders.tier.fault(*STEPS[step], "refuse")
    await run_until_stopped(orders)
    final = (await orders.get(order_id)).json()
    status, events, below = REFUSALS[step]
    assert final["status"] == status, final
    assert final["status_reason"]
    assert await event_types(orders, order_id) == events
    releases = [r for r in orders.tier.requests if r.url.path.endswith("/release")]
    cancels = [r for r in orders.tier.requests if r.url.path.endswith("/cancel")]
    assert orders.tier.active_reservations() == [] or below == "booked"  # no stock kept by a rejected order
    if below == "nothing":
        assert orders.tier.reservations == {} and orders.tier.sales_orders == {} and releases == []
    elif below == "released":
        assert orders.tier.sales_orders == {}
        assert [r["status"] for r in orders.tier.reservations.values()] == ["released"]
        assert len(releases) == 1  # compensation ran once
    else:  # after the pivot: forward only, never compensated
        assert len(orders.tier.open_sales_orders()) == 1
        assert releases == [] and cancels == []
        assert len(orders.tier.active_reservations()) == 1
