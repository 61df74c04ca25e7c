"""The order-to-cash first flow through every tier, in one process: a partner gets a token from
the gateway, submits a marketplace order in its dialect, and reads it back accepted, with the ERP
sales order number and the stock reserved in the WMS. Bad input leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.suite import InProcessSuite, running_suite


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[InProcessSuite]:
    async with running_suite(tmp_path) as running:
        yield running


def marketplace_order(order_id: str, *items: tuple[str, int]) -> dict[str, Any]:
    return {
        "marketplace_order_id": order_id,
        "currency_code": "EUR",
        "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
        "shipping_address": {
            "recipient": "Jane Doe",
            "street": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "order_items": [{"seller_sku": sku, "quantity_ordered": qty, "item_price": "19.99"} for sku, qty in items],
    }


async def partner_client(suite: InProcessSuite, partner: str) -> httpx.AsyncClient:
    token = await suite.token(partner)
    return suite.client("gateway", headers={"Authorization": f"Bearer {token}"})


async def wait_for_status(gw: httpx.AsyncClient, order_id: str, *, leaving: str = "PENDING") -> dict[str, Any]:
    for _ in range(400):  # bounded: the saga worker runs in the same event loop
        resp = await gw.get(f"/marketplace/v1/orders/{order_id}")
        assert resp.status_code == 200, resp.text
        if resp.json()["order_status"] != leaving:
            return dict(resp.json())
        await asyncio.sleep(0.025)
    raise AssertionError(f"order {order_id} stayed {leaving}")


async def system_get(suite: InProcessSuite, name: str, path: str, **params: Any) -> httpx.Response:
    token = await suite.token("svc-orders")
    async with suite.client(name, headers={"Authorization": f"Bearer {token}"}) as client:
        return await client.get(path, params=params)


async def test_partner_order_is_accepted_with_erp_number_and_reserved_stock(suite: InProcessSuite) -> None:
    before = (await system_get(suite, "wms", "/v1/stock", sku="WIDGET-BLUE")).json()["items"]
    async with await partner_client(suite, "acme-market") as gw:
        submitted = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-1", ("ACME-WB", 3)))
        assert submitted.status_code == 202, submitted.text
        reference = submitted.json()["order_reference"]
        assert submitted.headers["location"].endswith("/MP-1")

        status = await wait_for_status(gw, "MP-1")
        assert status["order_status"] == "ACCEPTED", status
        assert status["seller_order_number"]
        assert status["order_reference"] == reference

        # Submitting the same order again does not create a second one.
        again = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-1", ("ACME-WB", 3)))
        assert again.status_code == 202
        assert again.json()["order_reference"] == reference

    erp = await system_get(suite, "erp", "/v1/sales-orders", external_reference=reference)
    assert [so["number"] for so in erp.json()["items"]] == [status["seller_order_number"]]
    after = (await system_get(suite, "wms", "/v1/stock", sku="WIDGET-BLUE")).json()["items"]
    reserved_before = sum(float(p["reserved"]["value"]) for p in before)
    reserved_after = sum(float(p["reserved"]["value"]) for p in after)
    assert reserved_after - reserved_before == 3
    reservations = await system_get(suite, "wms", "/v1/reservations", reference=reference)
    assert len(reservations.json()["items"]) == 1


async def test_order_without_stock_is_rejected_and_nothing_stays_reserved(suite: InProcessSuite) -> None:
    async with await partner_client(suite, "acme-market") as gw:
        submitted = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-2", ("ACME-WR", 50)))
        assert submitted.status_code == 202, submitted.text
        status = await wait_for_status(gw, "MP-2")
    assert status["order_status"] == "REJECTED"
    # The reason speaks the partner's language: its own seller SKU, not our canonical one.
    assert "ACME-WR" in (status["status_reason"] or "")
    stock = (await system_get(suite, "wms", "/v1/stock", sku="WIDGET-RED")).json()["items"]
    assert all(float(p["reserved"]["value"]) == 0 for p in stock)
    erp = await system_get(suite, "erp", "/v1/sales-orders", external_reference=submitted.json()["order_reference"])
    assert erp.json()["items"] == []


async def test_bad_input_is_a_clear_problem_and_leaves_nothing_behind(suite: InProcessSuite) -> None:
    async with await partner_client(suite, "acme-market") as gw:
        unmapped = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-3", ("NOPE", 1)))
        assert unmapped.status_code == 422
        assert unmapped.headers["content-type"] == "application/problem+json"
        assert unmapped.json()["errors"][0]["pointer"] == "#/order_items/0/seller_sku"

        zero = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-4", ("ACME-WB", 0)))
        assert zero.status_code == 422
        assert "order_items" in zero.json()["errors"][0]["pointer"]

        discontinued = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-5", ("ACME-DIAL", 1)))
        assert discontinued.status_code == 422, discontinued.text
        assert "LEGACY-DIAL" in discontinued.text or "ACME-DIAL" in discontinued.text

        unknown_field = marketplace_order("MP-6", ("ACME-WB", 1)) | {"gift_wrap": True}
        assert (await gw.post("/marketplace/v1/orders", json=unknown_field)).status_code == 422

        malformed = await gw.post(
            "/marketplace/v1/orders", content=b'{"marketplace_order_id": ', headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.headers["content-type"] == "application/problem+json"

        for order_id in ("MP-3", "MP-4", "MP-5", "MP-6"):
            assert (await gw.get(f"/marketplace/v1/orders/{order_id}")).status_code == 404

    # Nothing reached the ERP or the WMS for any of them.
    orders_token = await suite.token("svc-marketplace")
    async with suite.client("orders", headers={"Authorization": f"Bearer {orders_token}"}) as orders:
        listed = await orders.get("/v1/orders", params={"channel": "marketplace"})
        assert listed.json()["items"] == []


async def test_inactive_customer_is_refused_by_the_orders_process(suite: InProcessSuite) -> None:
    token = await suite.token("svc-marketplace")
    async with suite.client("orders", headers={"Authorization": f"Bearer {token}"}) as orders:
        body = {
            "channel": "b2b",
            "channel_order_id": "PO-77",
            "customer_id": "C-2002",
            "currency": "EUR",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}}],
        }
        resp = await orders.post("/v1/orders", json=body, headers={"Idempotency-Key": "b2b:PO-77"})
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["pointer"] == "#/customer_id"
        assert "inactive" in resp.json()["detail"].lower() or "inactive" in resp.text.lower()
        unknown = await orders.post(
            "/v1/orders", json=body | {"customer_id": "C-9999"}, headers={"Idempotency-Key": "b2b:PO-78"}
        )
        assert unknown.status_code == 422
        assert (await orders.get("/v1/orders", params={"channel": "b2b"})).json()["items"] == []


async def test_tokens_and_scopes_are_checked_at_every_tier(suite: InProcessSuite) -> None:
    async with suite.client("gateway") as anonymous:
        no_token = await anonymous.post("/marketplace/v1/orders", json=marketplace_order("MP-9", ("ACME-WB", 1)))
        assert no_token.status_code == 401
        assert no_token.headers["content-type"] == "application/problem+json"
        bad = await anonymous.get("/marketplace/v1/orders/MP-9", headers={"Authorization": "Bearer not.a.jwt"})
        assert bad.status_code == 401
    # A partner token is refused by the tiers a partner must not reach directly.
    partner_token = await suite.token("acme-market")
    for name, path in (("orders", "/v1/orders"), ("erp", "/v1/items/WIDGET-BLUE"), ("wms", "/v1/warehouses")):
        async with suite.client(name, headers={"Authorization": f"Bearer {partner_token}"}) as direct:
            assert (await direct.get(path)).status_code == 403, name
    # A service token lacks partner scopes at the experience tier.
    service_token = await suite.token("svc-orders")
    async with suite.client("marketplace", headers={"Authorization": f"Bearer {service_token}"}) as mk:
        assert (await mk.get("/v1/orders/MP-1")).status_code == 403


async def test_a_partner_never_sees_another_partners_order(suite: InProcessSuite) -> None:
    async with await partner_client(suite, "acme-market") as acme:
        submitted = await acme.post("/marketplace/v1/orders", json=marketplace_order("MP-10", ("ACME-USB", 1)))
        assert submitted.status_code == 202
        reference = submitted.json()["order_reference"]
    async with await partner_client(suite, "zenith-market") as zenith:
        assert (await zenith.get("/marketplace/v1/orders/MP-10")).status_code == 404
    # Nor through the orders process, when the marketplace service acts for zenith.
    token = await suite.token("svc-marketplace")
    headers = {"Authorization": f"Bearer {token}", "X-Interchange-Partner": "zenith-market"}
    async with suite.client("orders", headers=headers) as orders:
        assert (await orders.get(f"/v1/orders/{reference}")).status_code == 404


async def test_order_outcomes_are_published_on_the_event_bus(suite: InProcessSuite) -> None:
    from sqlalchemy import select

    from service_kit.events.outbox import OutboxRecord

    async with await partner_client(suite, "acme-market") as gw:
        accepted = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-20", ("ACME-USB", 1)))
        rejected = await gw.post("/marketplace/v1/orders", json=marketplace_order("MP-21", ("ACME-WR", 50)))
        assert accepted.status_code == rejected.status_code == 202
        assert (await wait_for_status(gw, "MP-20"))["order_status"] == "ACCEPTED"
        assert (await wait_for_status(gw, "MP-21"))["order_status"] == "REJECTED"
    wanted = {
        (accepted.json()["order_reference"], "com.interchange.order.accepted.v1"),
        (rejected.json()["order_reference"], "com.interchange.order.rejected.v1"),
    }
    db = suite.apps["orders"].state.db
    for _ in range(400):  # bounded: the relay publishes committed outbox rows in the background
        async with db.sessions() as session:
            rows = (
                await session.execute(select(OutboxRecord.subject, OutboxRecord.type, OutboxRecord.published_at))
            ).all()
        published = {(subject, type_) for subject, type_, at in rows if at is not None}
        if wanted <= published:
            break
        await asyncio.sleep(0.025)
    assert wanted <= published, rows
