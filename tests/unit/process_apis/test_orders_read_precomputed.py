"""GET /v1/orders/{id} is a ``@precomputed`` route (service_kit.precomputed): served without
FastAPI's per-request dependency solver, with the same answers and problems."""

from __future__ import annotations

from tests.unit.process_apis.conftest import Orders, as_service
from tests.unit.process_apis.saga_helpers import submit


async def test_the_status_read_skips_fastapis_solver(orders: Orders, solved: list[object]) -> None:
    order_id = await submit(orders)
    solved.clear()

    own = await orders.get(order_id)
    others = await orders.get(order_id, partner="another-partner")
    long_partner = await orders.client.get(f"/v1/orders/{order_id}", headers=as_service(partner="p" * 65))
    unscoped = await orders.client.get(f"/v1/orders/{order_id}", headers=as_service("orders:write"))

    assert solved == []
    assert own.status_code == 200, own.text
    assert own.json()["id"] == order_id
    for resp, status in ((others, 404), (long_partner, 422), (unscoped, 403)):
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
