"""The order saga after intake: price, credit check, reserve, sales order (pivot), release for
picking, CRM activity; driven one pass at a time against the fake tier below."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from process_apis.orders import repository
from process_apis.orders.flows.worker import process_pending_orders
from service_kit.events.outbox import OutboxRecord
from tests.unit.process_apis.conftest import Orders, line, order_body
from tests.unit.process_apis.orders_fakes import CRM, ERP, NOW, WMS
from tests.unit.process_apis.saga_helpers import LATER, event_types, history, order_row, steps_run, submit


async def test_valid_order_goes_through_every_step_and_is_released_for_picking(orders: Orders) -> None:
    resp = await orders.submit(order_body(lines=[line("WIDGET-BLUE", "2"), line("CABLE-USB-C", "3")]))
    order_id = resp.json()["id"]
    assert await process_pending_orders(orders.app) == 1

    order = (await orders.get(order_id)).json()
    assert order["status"] == "released"
    assert order["status_reason"] is None
    erp_order = orders.tier.sales_orders[order_id]
    assert order["erp_order_number"] == erp_order["number"]
    reservation = orders.tier.reservations[order["reservation_id"]]
    assert reservation["reference"] == order_id and reservation["status"] == "picking"
    assert order["reservation_ids"] == [reservation["id"]]
    assert [(x["sku"], x["unit_price"], x["line_total"], x["warehouse"]) for x in order["lines"]] == [
        ("WIDGET-BLUE", {"amount": "19.99", "currency": "EUR"}, {"amount": "39.98", "currency": "EUR"}, "AMS"),
        ("CABLE-USB-C", {"amount": "9.50", "currency": "EUR"}, {"amount": "28.50", "currency": "EUR"}, "AMS"),
    ]
    assert order["total"] == {"amount": "68.48", "currency": "EUR"}
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches")) == 1
    assert [x["unit_price"]["amount"] for x in erp_order["lines"]] == ["19.99", "9.50"]
    assert [(a["kind"], a["reference"]) for a in orders.tier.activities] == [("order_accepted", order_id)]
    # Every write below went in a batch call (many partners' orders): acting for no partner, under
    # a correlation id of its own (the log ties it to the orders in it), one call per step.
    correlation = resp.headers["x-correlation-id"]
    writes = [r for r in orders.tier.requests if r.method == "POST"]
    assert sorted(r.url.path for r in writes) == [
        "/v1/activity-batches",
        "/v1/pick-release-batches",
        "/v1/reservation-batches",
        "/v1/sales-order-batches",
    ]
    for batch in writes:
        assert "x-interchange-partner" not in batch.headers and batch.headers["x-correlation-id"] != correlation
    assert await history(orders, order_id) == [
        (None, "received", None, correlation),
        ("received", "accepted", None, correlation),
        ("accepted", "released", None, correlation),
    ]
    assert await steps_run(orders, order_id) == [
        (step, "succeeded")
        for step in (
            "price_order",
            "check_credit",
            "reserve_stock",
            "create_sales_order",
            "release_to_warehouse",
            "record_activity",
        )
    ]
    assert await event_types(orders, order_id) == [
        "com.interchange.order.accepted.v1",
        "com.interchange.order.released.v1",
    ]
    assert await process_pending_orders(orders.app) == 0


async def test_order_accepted_event_is_a_cloudevent_in_the_outbox(orders: Orders) -> None:
    resp = await orders.submit()
    order_id = resp.json()["id"]
    await process_pending_orders(orders.app)
    async with orders.app.state.db.transaction() as session:
        (accepted, _) = await repository.events(session, order_id=order_id)  # in the kit's outbox
        (envelope,) = (
            await session.execute(select(OutboxRecord.envelope).where(OutboxRecord.event_id == accepted.id))
        ).one()
    assert accepted.type == "com.interchange.order.accepted.v1"
    assert (json.loads(envelope)["specversion"], accepted.source, accepted.subject) == (
        "1.0",
        "urn:interchange:process:orders",
        order_id,
    )
    assert accepted.correlationid == resp.headers["x-correlation-id"]
    assert accepted.data["order_id"] == order_id and accepted.data["erp_order_number"]


async def test_customer_price_list_is_applied(orders: Orders) -> None:
    order_id = await submit(orders, order_body(customer_id="C-2001", lines=[line("GADGET-PRO", "2")]))
    await process_pending_orders(orders.app)
    order = (await orders.get(order_id)).json()
    assert order["lines"][0]["unit_price"]["amount"] == "134.10"
    assert order["lines"][0]["warehouse"] == "RTM"
    assert order["total"]["amount"] == "268.20"


async def test_over_the_credit_limit_is_held_for_review_before_any_stock_is_reserved(orders: Orders) -> None:
    # C-2001 may owe 5000.00; 40 x 134.10 = 5364.00.
    order_id = await submit(
        orders, order_body(customer_id="C-2001", lines=[line("WIDGET-BLUE", "40"), line("GADGET-PRO", "34")])
    )
    assert await process_pending_orders(orders.app) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "on_hold"
    assert "credit limit 5000.00 EUR exceeded" in order["status_reason"]
    assert order["failed_step"] == "check_credit"
    assert orders.tier.reservations == {} and orders.tier.sales_orders == {}
    assert await event_types(orders, order_id) == ["com.interchange.order.held.v1"]


async def test_open_orders_count_against_the_credit_limit(orders: Orders) -> None:
    first = await submit(orders, order_body("PO-1", customer_id="C-2001", lines=[line("GADGET-PRO", "12")]))  # 1609.20
    second = await submit(orders, order_body("PO-2", customer_id="C-2001", lines=[line("CABLE-USB-C", "400")]))  # 3420
    assert await process_pending_orders(orders.app) == 2
    assert (await orders.get(first)).json()["status"] == "released"
    assert (await orders.get(second)).json()["status"] == "on_hold"


async def test_split_shipment_only_when_the_order_allows_it(orders: Orders) -> None:
    # WIDGET-BLUE: 100 in AMS, 40 in RTM. 120 fit in no single warehouse.
    whole = await submit(orders, order_body("MP-1", lines=[line("WIDGET-BLUE", "120")]))
    split = await submit(orders, order_body("MP-2", lines=[line("WIDGET-BLUE", "120")], split_shipments_allowed=True))
    await process_pending_orders(orders.app)
    assert (await orders.get(whole)).json()["status_reason"] == "insufficient stock for WIDGET-BLUE"
    order = (await orders.get(split)).json()
    assert order["status"] == "released"
    assert order["lines"][0]["warehouse"] == "AMS+RTM"
    shipped = [
        (orders.tier.reservations[r]["warehouse"], orders.tier.reservations[r]["reference"])
        for r in order["reservation_ids"]
    ]
    assert shipped == [("AMS", f"{split}.1"), ("RTM", f"{split}.2")]
    assert (orders.tier.stock[("WIDGET-BLUE", "AMS")], orders.tier.stock[("WIDGET-BLUE", "RTM")]) == (0, 20)


async def test_a_split_short_in_every_warehouse_together_is_rejected_and_reserves_nothing(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-BLUE", "150")], split_shipments_allowed=True))
    await process_pending_orders(orders.app)
    assert (await orders.get(order_id)).json()["status_reason"] == "insufficient stock for WIDGET-BLUE"
    assert orders.tier.active_reservations() == []


async def test_insufficient_stock_rejects_the_order_naming_the_sku(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-BLUE"), line("WIDGET-RED", "10")]))
    assert await process_pending_orders(orders.app) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "rejected"
    assert order["status_reason"] == "insufficient stock for WIDGET-RED"
    assert order["reservation_id"] is None and order["erp_order_number"] is None
    assert orders.tier.seen("POST", ERP, "/v1/sales-order-batches") == []
    assert orders.tier.activities == []
    assert (await history(orders, order_id))[-1][:3] == ("received", "rejected", "insufficient stock for WIDGET-RED")
    assert await event_types(orders, order_id) == ["com.interchange.order.rejected.v1"]


async def test_erp_refusing_the_sales_order_releases_the_reservation_and_rejects(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-BLUE", "10")]))
    orders.tier.refuse_sales_orders = "customer C-1001 is on credit hold"
    assert await process_pending_orders(orders.app) == 1

    order = (await orders.get(order_id)).json()
    assert order["status"] == "rejected"
    assert "customer C-1001 is on credit hold" in order["status_reason"]
    (reservation,) = orders.tier.reservations.values()
    assert reservation["status"] == "released"
    assert len(orders.tier.seen("POST", WMS, f"/v1/reservations/{reservation['id']}/release")) == 1
    assert orders.tier.stock[("WIDGET-BLUE", "AMS")] == 100  # the stock is back
    assert orders.tier.sales_orders == {}
    assert [s for s in await steps_run(orders, order_id)][-2:] == [
        ("create_sales_order", "refused"),
        ("release_stock", "succeeded"),
    ]


async def test_release_failing_technically_is_retried_before_the_rejection(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.refuse_sales_orders = "credit hold"
    orders.tier.fault(WMS, "POST", "/release", "503")
    assert await process_pending_orders(orders.app) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step, row.reservation_id) == ("received", "release_stock", "res_1")
    assert "credit hold" in (row.rejection_reason or "")
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "rejected"
    assert orders.tier.reservations["res_1"]["status"] == "released"


async def test_erp_down_leaves_the_order_waiting_with_last_error_and_a_later_pass_succeeds(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(ERP)
    assert await process_pending_orders(orders.app) == 0

    # Priced, credit-checked and reserved on the master data copy: it waits at the pivot.
    assert (await orders.get(order_id)).json()["status"] == "received"
    row = await order_row(orders, order_id)
    assert "create_sales_order" in (row.last_error or "") and "erp" in (row.last_error or "")
    assert row.saga_step == "create_sales_order" and row.attempts == 1
    assert repository.aware(row.next_attempt_at or LATER) > repository.aware(row.updated_at)

    # Backing off: an immediate pass leaves the order alone, even once the ERP is back.
    orders.tier.down.clear()
    quotes = len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches"))
    assert await process_pending_orders(orders.app) == 0
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches")) == quotes

    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "released"
    row = await order_row(orders, order_id)
    assert (row.attempts, row.last_error, row.next_attempt_at) == (0, None, None)


async def test_backoff_grows_with_jitter_and_then_the_order_is_parked(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(ERP)
    clock = LATER
    waits = []
    for attempt in (1, 2):
        assert await process_pending_orders(orders.app, now=clock) == 0
        row = await order_row(orders, order_id)
        assert row.attempts == attempt
        due = repository.aware(row.next_attempt_at or clock)
        waits.append((due - clock).total_seconds())
        clock = due
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60  # 30 s then 60 s, each with half of it random
    # The third failure uses up the attempts: parked on hold, in the exception queue.
    assert await process_pending_orders(orders.app, now=clock) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "on_hold"
    row = await order_row(orders, order_id)
    assert row.failed_step == "create_sales_order" and "erp" in (row.last_error or "")
    assert "create_sales_order failed 3 times" in (row.status_reason or "")
    assert await process_pending_orders(orders.app, now=LATER.replace(year=LATER.year + 1)) == 0  # stays parked


async def test_a_restarted_worker_resumes_at_the_step_it_stood(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(CRM)
    assert await process_pending_orders(orders.app) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step) == ("released", "record_activity")
    assert row.erp_order_number is not None and row.reservation_id is not None

    orders.tier.down.clear()
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "released"
    # Finished steps were not run again.
    assert orders.tier.seen("POST", ERP, "/v1/price-quotes") == []  # priced on the master data copy
    assert len(orders.tier.seen("POST", WMS, "/v1/reservation-batches")) == 1
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches")) == 1
    assert len(orders.tier.activities) == 1


@pytest.mark.parametrize("lost", ["drop", "503"])
async def test_a_lost_sales_order_answer_never_books_a_second_order(orders: Orders, lost: str) -> None:
    order_id = await submit(orders)
    orders.tier.lose_next_sales_order_answer = lost
    await process_pending_orders(orders.app)
    await process_pending_orders(orders.app, now=LATER)
    order = (await orders.get(order_id)).json()
    assert order["status"] == "released"
    assert list(orders.tier.sales_orders) == [order_id]
    assert order["erp_order_number"] == orders.tier.sales_orders[order_id]["number"]


async def test_an_activity_recorded_before_a_crash_is_not_recorded_twice(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.failing.add((CRM, "POST", "/v1/activity-batches"))
    await process_pending_orders(orders.app)
    orders.tier.failing.clear()
    orders.tier.activities.append(
        {
            "id": "act_x",
            "customer_id": "C-1001",
            "kind": "order_accepted",
            "subject": "s",
            "reference": order_id,
            "created_at": NOW,
        }
    )
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert [a["id"] for a in orders.tier.activities] == ["act_x"]


async def test_orders_are_processed_oldest_first(orders: Orders) -> None:
    first = await submit(orders, order_body("MP-1", lines=[line("WIDGET-RED", "5")]))
    second = await submit(orders, order_body("MP-2", lines=[line("WIDGET-RED", "5")]))
    assert await process_pending_orders(orders.app) == 2
    assert (await orders.get(first)).json()["status"] == "released"
    assert (await orders.get(second)).json()["status"] == "rejected"  # the first took the stock


@pytest.mark.parametrize("worker_enabled", [True])
async def test_intake_wakes_the_background_worker(orders: Orders) -> None:
    order_id = await submit(orders)
    for _ in range(500):  # bounded: the worker's poll interval is a minute, so only the wake-up can do it
        if (await orders.get(order_id)).json()["status"] != "received":
            break
        await asyncio.sleep(0.01)
    for _ in range(500):
        if (await orders.get(order_id)).json()["status"] == "released":
            break
        await asyncio.sleep(0.01)
    assert (await orders.get(order_id)).json()["status"] == "released"


async def test_a_sales_order_conflict_is_retried_and_never_rejects_the_order(orders: Orders) -> None:
    order_id = await submit(orders)
    # The ERP holds a document under this order's reference with other lines (or is booking it
    # for a concurrent request right now): rejecting would leave that document orphaned.
    orders.tier.sales_orders[order_id] = {"external_reference": order_id, "lines": [], "status": "open"}
    assert await process_pending_orders(orders.app) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step) == ("received", "create_sales_order")
    assert "409" in (row.last_error or "") and "other lines" in (row.last_error or "")
    assert orders.tier.reservations[row.reservation_id or ""]["status"] == "active"

    del orders.tier.sales_orders[order_id]  # someone sorted it out in the ERP
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "released"
