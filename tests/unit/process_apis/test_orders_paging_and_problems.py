"""Orders API edges a partner can reach: paging past any database integer, and conflict problems
whose ``status`` is the HTTP status (RFC 9457), with the order's status in its own member."""

from __future__ import annotations

from process_apis.orders import repository
from service_kit.errors import Conflict
from tests.unit.process_apis.conftest import Orders, as_service
from tests.unit.process_apis.saga_helpers import submit


async def test_an_offset_beyond_64_bits_is_an_empty_page_not_a_500(orders: Orders) -> None:
    await submit(orders)
    for offset in (2**63, 2**64 + 1, 10**40):
        resp = await orders.client.get(
            "/v1/orders", params={"offset": offset}, headers=as_service("orders:read", partner="acme-market")
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["items"] == []
        admin = await orders.admin("GET", "/orders", params={"offset": offset})
        assert admin.status_code == 200 and admin.json()["items"] == []
    negative = await orders.client.get("/v1/orders", params={"offset": -1}, headers=as_service("orders:read"))
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["pointer"] == "#/query/offset"


async def test_a_conflict_carries_the_http_status_and_the_order_status_apart(orders: Orders) -> None:
    order_id = await submit(orders)
    async with orders.app.state.db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        assert row is not None
        row.status = "shipped"
    resp = await orders.cancel(order_id)
    assert resp.status_code == 409
    assert resp.json()["status"] == 409
    assert resp.json()["order_status"] == "shipped"


def test_an_extension_never_replaces_a_problem_member() -> None:
    problem = Conflict("busy", status="shipped", type="x", order_status="shipped").to_problem("/v1/x")
    assert problem["status"] == 409
    assert problem["type"] == "urn:interchange:problem:conflict"
    assert problem["order_status"] == "shipped"
