"""The order flow after intake: price, reserve, sales order, activity, driven one pass at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from process_apis.orders import repository
from process_apis.orders.flows.worker import process_pending_orders
from process_apis.orders.models import OrderRow
from tests.unit.process_apis.conftest import Orders, line, order_body
from tests.unit.process_apis.orders_fakes import CRM, ERP, NOW, WMS

LATER = datetime.now(UTC) + timedelta(days=1)


async def submit(orders: Orders, body: dict[str, Any] | None = None) -> str:
    resp = await orders.submit(body)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


async def order_row(orders: Orders, order_id: str) -> OrderRow:
    async with orders.app.state.db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        assert row is not None
        return row


async def history(orders: Orders, order_id: str) -> list[tuple[str | None, str, str | None, str]]:
    async with orders.app.state.db.transaction() as session:
        changes = await repository.status_history(session, order_id=order_id)
    return [(c.from_status, c.to_status, c.reason, c.correlation_id) for c in changes]


async def test_valid_order_is_accepted_with_erp_number_and_reservation(orders: Orders) -> None:
    resp = await orders.submit(order_body(lines=[line("WIDGET-BLUE", "2"), line("CABLE-USB-C", "3")]))
    order_id = resp.json()["id"]
    assert await process_pending_orders(orders.app) == 1

    order = (await orders.get(order_id)).json()
    assert order["status"] == "accepted"
    assert order["status_reason"] is None
    erp_order = orders.tier.sales_orders[order_id]
    assert order["erp_order_number"] == erp_order["number"]
    reservation = orders.tier.reservations[order["reservation_id"]]
    assert reservation["reference"] == order_id and reservation["status"] == "active"
    assert [(x["sku"], x["unit_price"], x["line_total"], x["warehouse"]) for x in order["lines"]] == [
        ("WIDGET-BLUE", {"amount": "19.99", "currency": "EUR"}, {"amount": "39.98", "currency": "EUR"}, "AMS"),
        ("CABLE-USB-C", {"amount": "9.50", "currency": "EUR"}, {"amount": "28.50", "currency": "EUR"}, "AMS"),
    ]
    assert order["total"] == {"amount": "68.48", "currency": "EUR"}
    # Exactly one sales order, at the quoted prices, and one activity on the customer's timeline.
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-orders")) == 1
    assert [x["unit_price"]["amount"] for x in erp_order["lines"]] == ["19.99", "9.50"]
    assert [(a["kind"], a["reference"]) for a in orders.tier.activities] == [("order_accepted", order_id)]
    # Every call below carried the intake's correlation id and acted for the order's partner.
    worker_calls = [r for r in orders.tier.requests if r.method == "POST"]
    assert {r.headers["x-correlation-id"] for r in worker_calls} == {resp.headers["x-correlation-id"]}
    assert {r.headers["x-interchange-partner"] for r in worker_calls} == {"acme-market"}
    assert await history(orders, order_id) == [
        (None, "received", None, resp.headers["x-correlation-id"]),
        ("received", "accepted", None, resp.headers["x-correlation-id"]),
    ]
    assert await process_pending_orders(orders.app) == 0


async def test_customer_price_list_is_applied(orders: Orders) -> None:
    order_id = await submit(orders, order_body(customer_id="C-2001", lines=[line("GADGET-PRO", "2")]))
    await process_pending_orders(orders.app)
    order = (await orders.get(order_id)).json()
    assert order["lines"][0]["unit_price"]["amount"] == "134.10"
    assert order["lines"][0]["warehouse"] == "RTM"
    assert order["total"]["amount"] == "268.20"


async def test_insufficient_stock_rejects_the_order_naming_the_sku(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-BLUE"), line("WIDGET-RED", "10")]))
    assert await process_pending_orders(orders.app) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "rejected"
    assert order["status_reason"] == "insufficient stock for WIDGET-RED"
    assert order["reservation_id"] is None and order["erp_order_number"] is None
    assert orders.tier.seen("POST", ERP, "/v1/sales-orders") == []
    assert orders.tier.activities == []
    assert [h[:3] for h in await history(orders, order_id)][-1] == (
        "received",
        "rejected",
        "insufficient stock for WIDGET-RED",
    )


async def test_erp_refusing_the_sales_order_releases_the_reservation_and_rejects(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("WIDGET-BLUE", "10")]))
    orders.tier.refuse_sales_orders = "customer C-1001 is on credit hold"
    assert await process_pending_orders(orders.app) == 1

    order = (await orders.get(order_id)).json()
    assert order["status"] == "rejected"
    assert "customer C-1001 is on credit hold" in order["status_reason"]
    (reservation,) = orders.tier.reservations.values()
    assert reservation["status"] == "released"
    assert orders.tier.seen("POST", WMS, f"/v1/reservations/{reservation['id']}/release")
    assert orders.tier.stock[("WIDGET-BLUE", "AMS")] == 100  # the stock is back
    assert orders.tier.sales_orders == {}


async def test_release_failing_technically_is_retried_before_the_rejection(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.refuse_sales_orders = "credit hold"
    orders.tier.down.add(WMS)
    # The reservation itself fails first: nothing is reserved, the order waits.
    assert await process_pending_orders(orders.app) == 0
    orders.tier.down.clear()
    orders.tier.failing.add((WMS, "POST", "/v1/reservations/res_1/release"))
    assert await process_pending_orders(orders.app, now=LATER) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step, row.reservation_id) == ("received", "release_reservation", "res_1")
    assert "credit hold" in (row.rejection_reason or "")
    orders.tier.failing.clear()
    assert await process_pending_orders(orders.app, now=LATER + timedelta(days=1)) == 1
    assert (await orders.get(order_id)).json()["status"] == "rejected"
    assert orders.tier.reservations["res_1"]["status"] == "released"


async def test_erp_down_leaves_the_order_received_with_last_error_and_a_later_pass_succeeds(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(ERP)
    assert await process_pending_orders(orders.app) == 0

    assert (await orders.get(order_id)).json()["status"] == "received"
    row = await order_row(orders, order_id)
    assert row.saga_step == "price_order" and row.attempts == 1
    assert "price_order" in (row.last_error or "") and "erp" in (row.last_error or "")
    assert repository.aware(row.next_attempt_at or LATER) > datetime.now(UTC)

    # Backing off: an immediate pass leaves the order alone, even once the ERP is back.
    orders.tier.down.clear()
    quotes = len(orders.tier.seen("POST", ERP, "/v1/price-quotes"))
    assert await process_pending_orders(orders.app) == 0
    assert len(orders.tier.seen("POST", ERP, "/v1/price-quotes")) == quotes

    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "accepted"
    row = await order_row(orders, order_id)
    assert (row.attempts, row.last_error, row.next_attempt_at) == (0, None, None)


async def test_backoff_grows_with_each_failure(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(ERP)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    waits = []
    for attempt in range(1, 4):
        row = await order_row(orders, order_id)
        now = repository.aware(row.next_attempt_at) if row.next_attempt_at else start
        assert await process_pending_orders(orders.app, now=now) == 0
        row = await order_row(orders, order_id)
        assert row.attempts == attempt
        waits.append((repository.aware(row.next_attempt_at or now) - now).total_seconds())
    assert waits == [30.0, 60.0, 120.0]


async def test_a_restarted_worker_resumes_at_the_step_it_stood(orders: Orders) -> None:
    order_id = await submit(orders)
    orders.tier.down.add(CRM)
    assert await process_pending_orders(orders.app) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step) == ("received", "record_activity")
    assert row.erp_order_number is not None and row.reservation_id is not None

    orders.tier.down.clear()
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "accepted"
    # Finished steps were not run again.
    assert len(orders.tier.seen("POST", ERP, "/v1/price-quotes")) == 1
    assert len(orders.tier.seen("POST", WMS, "/v1/reservations")) == 1
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-orders")) == 1
    assert len(orders.tier.activities) == 1


@pytest.mark.parametrize("lost", ["drop", "503"])
async def test_a_lost_sales_order_answer_never_books_a_second_order(orders: Orders, lost: str) -> None:
    order_id = await submit(orders)
    orders.tier.lose_next_sales_order_answer = lost
    await process_pending_orders(orders.app)
    await process_pending_orders(orders.app, now=LATER)
    order = (await orders.get(order_id)).json()
    assert order["status"] == "accepted"
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-orders")) == 2
    assert list(orders.tier.sales_orders) == [order_id]
    assert order["erp_order_number"] == orders.tier.sales_orders[order_id]["number"]


async def test_an_activity_recorded_before_a_crash_is_not_recorded_twice(orders: Orders) -> None:
    order_id = await submit(orders)
    # The CRM took the activity but the answer was lost: the order stays at record_activity.
    orders.tier.failing.add((CRM, "POST", "/v1/activities"))
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


async def test_orders_are_processed_one_at_a_time_oldest_first(orders: Orders) -> None:
    first = await submit(orders, order_body("MP-1", lines=[line("WIDGET-RED", "5")]))
    second = await submit(orders, order_body("MP-2", lines=[line("WIDGET-RED", "5")]))
    assert await process_pending_orders(orders.app) == 2
    assert (await orders.get(first)).json()["status"] == "accepted"
    assert (await orders.get(second)).json()["status"] == "rejected"  # the first took the stock


@pytest.mark.parametrize("worker_enabled", [True])
async def test_intake_wakes_the_background_worker(orders: Orders) -> None:
    order_id = await submit(orders)
    for _ in range(500):  # bounded: the worker's poll interval is a minute, so only the wake-up can do it
        if (await orders.get(order_id)).json()["status"] != "received":
            break
        await asyncio.sleep(0.01)
    assert (await orders.get(order_id)).json()["status"] == "accepted"


async def test_a_sales_order_conflict_is_retried_and_never_rejects_the_order(orders: Orders) -> None:
    order_id = await submit(orders)
    # The ERP holds a document under this order's reference with other lines (or is booking it
    # for a concurrent request right now): rejecting would leave that document orphaned.
    orders.tier.sales_orders[order_id] = {"external_reference": order_id, "lines": []}
    assert await process_pending_orders(orders.app) == 0
    row = await order_row(orders, order_id)
    assert (row.status, row.saga_step) == ("received", "create_sales_order")
    assert "409" in (row.last_error or "") and "other lines" in (row.last_error or "")
    assert orders.tier.reservations[row.reservation_id or ""]["status"] == "active"

    del orders.tier.sales_orders[order_id]  # someone sorted it out in the ERP
    assert await process_pending_orders(orders.app, now=LATER) == 1
    assert (await orders.get(order_id)).json()["status"] == "accepted"
