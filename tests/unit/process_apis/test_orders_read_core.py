"""A status read builds the canonical order from one Core statement: no ORM object is loaded
(identity map, attribute instrumentation and relationship loading were most of a read's CPU)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from process_apis.orders.flows.worker import process_pending_orders
from process_apis.orders.models import OrderLineRow, OrderReservationRow, OrderRow
from tests.unit.process_apis.conftest import Orders, line, order_body
from tests.unit.process_apis.saga_helpers import submit


async def test_a_status_read_loads_no_orm_objects(orders: Orders) -> None:
    body = order_body(
        "MP-1", lines=[line("WIDGET-BLUE", "120"), line("CABLE-USB-C", "3")], split_shipments_allowed=True
    )
    order_id = await submit(orders, body)
    await process_pending_orders(orders.app)
    loaded: list[str] = []

    def record(target: Any, _context: Any) -> None:
        loaded.append(type(target).__name__)

    mapped = (OrderRow, OrderLineRow, OrderReservationRow)
    for cls in mapped:
        event.listen(cls, "load", record)
    try:
        resp = await orders.get(order_id)
    finally:
        for cls in mapped:
            event.remove(cls, "load", record)

    assert resp.status_code == 200, resp.text
    order = resp.json()
    assert [ln["sku"] for ln in order["lines"]] == ["WIDGET-BLUE", "CABLE-USB-C"]
    assert len(order["reservation_ids"]) == 2
    assert loaded == []
