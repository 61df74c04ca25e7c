"""GET /v1/admin/orders/lookup: an order found by any reference a person may hold (the ops console's
search box), internal scope only."""

from __future__ import annotations

from tests.unit.process_apis.conftest import Orders, as_service, order_body
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


async def lookup(orders: Orders, reference: str) -> list[tuple[str, list[str]]]:
    resp = await orders.admin("GET", "/orders/lookup", params={"reference": reference})
    assert resp.status_code == 200, resp.text
    return [(m["order"]["id"], m["matched_on"]) for m in resp.json()["items"]]


async def test_an_order_is_found_by_each_of_its_references(orders: Orders) -> None:
    order_id = await submit(orders, order_body("MP-LOOK-1"), key="intake-1")
    await submit(orders, order_body("MP-OTHER"))
    await run_until_stopped(orders)
    row = await order_row(orders, order_id)
    assert row.erp_order_number and row.correlation_id

    assert await lookup(orders, "MP-LOOK-1") == [(order_id, ["channel_order_id"])]
    assert await lookup(orders, order_id) == [(order_id, ["order_id"])]
    assert await lookup(orders, row.erp_order_number) == [(order_id, ["erp_order_number"])]
    assert await lookup(orders, row.correlation_id) == [(order_id, ["correlation_id"])]
    assert await lookup(orders, "MP-NOBODY") == []


async def test_the_lookup_needs_the_internal_scope(orders: Orders) -> None:
    resp = await orders.client.get(
        "/v1/admin/orders/lookup", params={"reference": "MP-1001"}, headers=as_service("orders:read", partner=None)
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    missing = await orders.admin("GET", "/orders/lookup")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"].endswith("reference")
