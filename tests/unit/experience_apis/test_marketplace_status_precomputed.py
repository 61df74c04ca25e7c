"""The v1 and v2 status reads are ``@precomputed`` routes (service_kit.precomputed): served without
FastAPI's per-request dependency solver, with the same answers, problems and v1 deprecation
headers."""

from __future__ import annotations

import httpx

from tests.support.tokens import bearer
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body


async def test_status_reads_skip_fastapis_solver_and_keep_their_answers(
    marketplace: Marketplace, solved: list[object]
) -> None:
    submitted = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert submitted.status_code < 300, submitted.text
    solved.clear()

    v1 = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME | {"X-Correlation-ID": "poll-1"})
    v2 = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)
    missing = await marketplace.client.get("/v2/orders/ACME-NEVER-SENT", headers=ACME)
    unscoped = await marketplace.client.get("/v2/orders/ACME-100234", headers=bearer(partner_id="acme-market"))
    invalid = await marketplace.client.get("/v2/orders/-not-an-id", headers=ACME)

    assert solved == []
    assert v1.status_code == 200, v1.text
    assert v1.json()["order_status"] == "PENDING"
    assert v1.headers["x-correlation-id"] == "poll-1"
    assert "deprecation" in v1.headers and "sunset" in v1.headers
    assert v2.status_code == 200, v2.text
    assert v2.json()["marketplace_order_id"] == "ACME-100234"
    assert "deprecation" not in v2.headers
    for resp, status in ((missing, 404), (unscoped, 403), (invalid, 422)):
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"] == "application/problem+json"


async def test_the_orders_answer_is_read_tolerantly_and_an_unreadable_one_is_a_502(marketplace: Marketplace) -> None:
    submitted = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert submitted.status_code < 300, submitted.text
    order = next(iter(marketplace.orders.orders.values()))

    marketplace.orders.answer = httpx.Response(200, json=order | {"added_later": {"any": "shape"}})
    tolerant = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)
    marketplace.orders.answer = httpx.Response(200, content=b'{"id": "ord_0001", "status": ')
    unreadable = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)

    assert tolerant.status_code == 200, tolerant.text
    assert tolerant.json()["marketplace_order_id"] == "ACME-100234"
    assert unreadable.status_code == 502, unreadable.text
    assert unreadable.headers["content-type"] == "application/problem+json"
    assert "ord_0001" not in unreadable.text
