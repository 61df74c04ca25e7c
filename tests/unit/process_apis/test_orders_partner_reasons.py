"""A held order's recorded reason names internal steps, systems and errors: partners read a stable
code and a fixed message instead; the operations views keep the detail."""

from __future__ import annotations

from process_apis.orders.reasons import HELD_FOR_RETRY
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body
from tests.unit.process_apis.orders_fakes import CRM
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


async def park_at_the_crm(orders: Orders) -> str:
    order_id = await submit(orders)
    orders.tier.down.add(CRM)
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "on_hold"
    return order_id


async def test_a_partner_reads_a_code_and_a_fixed_message_never_the_internal_error(orders: Orders) -> None:
    order_id = await park_at_the_crm(orders)
    internal = (await order_row(orders, order_id)).status_reason
    assert internal and "crm" in internal  # what the operations team reads

    as_partner = (await orders.get(order_id)).json()
    listed = await orders.find(partner="acme-market")
    for seen in (as_partner, listed[0]):
        assert seen["status"] == "on_hold"
        assert seen["status_reason_code"] == "held_for_retry"
        assert seen["status_reason"] == HELD_FOR_RETRY
        assert seen["failed_step"] is None and seen["last_error"] is None

    queue = (await orders.admin("GET", "/exceptions")).json()["items"]
    assert [(p["order_id"], p["reason"]) for p in queue] == [(order_id, internal)]
    internal_read = await orders.client.get(f"/v1/orders/{order_id}", headers=as_service("orders:read", partner=None))
    assert internal_read.json()["status_reason"] == internal


async def test_a_rejection_keeps_its_business_reason_for_the_partner(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-RED", "10")]))
    await run_until_stopped(orders)
    seen = (await orders.get(order_id)).json()
    assert seen["status"] == "rejected"
    assert seen["status_reason_code"] == "rejected"
    assert seen["status_reason"] == "insufficient stock for WIDGET-RED"
