"""The B2B channel (issue 12) through every tier, in one process: a reseller reads its catalog at
its own prices, submits a purchase order (idempotent), follows it to accepted with its ERP sales
order, sees its credit headroom shrink; another reseller sees none of it."""

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


def purchase_order(po_number: str, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "po_number": po_number,
        "lines": [{"sku": sku, "quantity": {"value": str(qty), "unit": "EA"}} for sku, qty in lines],
        "ship_to": {
            "name": "Borealis",
            "line1": "Hafenstrasse 12",
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        },
    }


async def reseller(suite: InProcessSuite, partner: str) -> httpx.AsyncClient:
    token = await suite.token(partner)
    return suite.client("gateway", headers={"Authorization": f"Bearer {token}"})


async def until_processed(gw: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    for _ in range(400):  # bounded: the saga worker runs in the same event loop
        resp = await gw.get(f"/b2b/v1/purchase-orders/{order_id}")
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] != "received":
            return dict(resp.json())
        await asyncio.sleep(0.025)
    raise AssertionError(f"purchase order {order_id} stayed received")


async def test_a_resellers_purchase_order_is_accepted_at_its_own_price(suite: InProcessSuite) -> None:
    async with await reseller(suite, "borealis-hw") as gw:
        catalog = (await gw.get("/b2b/v1/catalog")).json()
        price = {i["sku"]: i["unit_price"] for i in catalog["items"]}["WIDGET-BLUE"]
        assert catalog["price_list"] == "TRADE-10"
        assert price == {"amount": "17.99", "currency": "EUR"}  # the list price is 19.99

        before = (await gw.get("/b2b/v1/account")).json()
        body = purchase_order("PO-1", ("WIDGET-BLUE", 3))
        submitted = await gw.post("/b2b/v1/purchase-orders", json=body, headers={"Idempotency-Key": "po-1"})
        assert submitted.status_code == 202, submitted.text
        order_id = submitted.json()["order_id"]
        assert submitted.headers["location"] == f"/b2b/v1/purchase-orders/{order_id}"
        again = await gw.post("/b2b/v1/purchase-orders", json=body, headers={"Idempotency-Key": "po-1"})
        assert again.status_code == 202
        assert again.json()["order_id"] == order_id

        order = await until_processed(gw, order_id)
        # Accepted, and maybe already released to the warehouse by the time it is read (the same saga goes on).
        assert order["status"] in ("accepted", "released"), order
        assert order["lines"][0]["unit_price"] == price
        assert order["total"] == {"amount": "53.97", "currency": "EUR"}
        assert order["erp_order_number"]
        history = (await gw.get("/b2b/v1/purchase-orders")).json()["items"]
        assert [o["order_id"] for o in history] == [order_id]
        after = (await gw.get("/b2b/v1/account")).json()

    assert before["credit_headroom"] == {"amount": "5000.00", "currency": "EUR"}
    assert after["open_orders"] == order["total"]
    assert after["credit_headroom"] == {"amount": "4946.03", "currency": "EUR"}

    async with await reseller(suite, "closed-shop") as other:
        assert (await other.get(f"/b2b/v1/purchase-orders/{order_id}")).status_code == 404
        assert (await other.get("/b2b/v1/purchase-orders")).json()["items"] == []


async def test_the_same_po_number_under_another_key_and_a_bad_sku_are_told_apart(suite: InProcessSuite) -> None:
    async with await reseller(suite, "borealis-hw") as gw:
        body = purchase_order("PO-2", ("WIDGET-BLUE", 1))
        first = await gw.post("/b2b/v1/purchase-orders", json=body, headers={"Idempotency-Key": "po-2-a"})
        assert first.status_code == 202, first.text
        other_key = await gw.post("/b2b/v1/purchase-orders", json=body, headers={"Idempotency-Key": "po-2-b"})
        unknown = await gw.post(
            "/b2b/v1/purchase-orders",
            json=purchase_order("PO-3", ("NO-SUCH-SKU", 1)),
            headers={"Idempotency-Key": "po-3"},
        )
        no_key = await gw.post("/b2b/v1/purchase-orders", json=purchase_order("PO-4", ("WIDGET-BLUE", 1)))

    assert other_key.status_code == 409, other_key.text
    assert unknown.status_code == 422, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in unknown.json()["errors"]] == ["#/lines/0/sku"]
    assert no_key.status_code in (400, 422)


async def test_a_marketplace_partner_is_not_a_reseller(suite: InProcessSuite) -> None:
    async with await reseller(suite, "acme-market") as gw:
        resp = await gw.get("/b2b/v1/catalog")
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
