"""Control characters never reach the ERP through the orders API: names and addresses are one
printable line (422 naming the field); a cancellation reason keeps its line breaks."""

from __future__ import annotations

from tests.unit.process_apis.conftest import Orders, order_body
from tests.unit.process_apis.saga_helpers import submit


async def test_a_nul_in_the_ship_to_address_is_a_422_at_the_field_and_nothing_is_recorded(orders: Orders) -> None:
    body = order_body()
    body["ship_to"] = {**body["ship_to"], "line1": "Damrak\x001"}
    resp = await orders.submit(body)
    assert resp.status_code == 422, resp.text
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/ship_to/line1"]
    assert await orders.find() == []
    assert orders.tier.requests == []


async def test_a_line_break_in_an_id_is_a_422(orders: Orders) -> None:
    resp = await orders.submit(order_body("MP-1\n2"))
    assert resp.status_code == 422
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/channel_order_id"]


async def test_a_cancellation_reason_keeps_its_line_breaks_but_not_a_nul(orders: Orders) -> None:
    order_id = await submit(orders)
    assert (await orders.cancel(order_id, reason="wrong size\nordered twice")).status_code == 202
    refused = await orders.cancel(order_id, reason="wrong\x00size")
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["#/reason"]
