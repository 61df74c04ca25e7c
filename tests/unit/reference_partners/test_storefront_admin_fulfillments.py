"""The reference shop's fulfilments: kept per order and listed, only the order's SKUs, an unknown
order a 404 problem that says where the orders are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.reference_partners.test_storefront_admin import API, ORDER, Receiver, shop

FULFILMENT = {
    "fulfillment": {
        "tracking_company": "UPS",
        "tracking_number": "1Z999",
        "tracking_url": "https://ups.example/track/1Z999",
        "line_items": [{"sku": "WIDGET-BLUE", "quantity": 1}],
        "notify_customer": True,
    }
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with shop(tmp_path, Receiver()) as c:
        yield c


async def test_fulfilments_are_kept_per_order(tmp_path: Path, client: httpx.AsyncClient) -> None:
    first = (await client.post(f"{API}/orders.json", json=ORDER)).json()["order"]["id"]
    second = (await client.post(f"{API}/orders.json", json=ORDER)).json()["order"]["id"]
    created = await client.post(f"{API}/orders/{first}/fulfillments.json", json=FULFILMENT)
    assert created.status_code == 201, created.text
    assert created.json()["fulfillment"]["tracking_number"] == "1Z999"

    async with shop(tmp_path, Receiver()) as again:  # a new process on the same data dir
        listed = (await again.get(f"{API}/orders/{first}/fulfillments.json")).json()["fulfillments"]
        other = (await again.get(f"{API}/orders/{second}/fulfillments.json")).json()["fulfillments"]
    assert [(f["id"], f["order_id"], f["tracking_company"], f["line_items"]) for f in listed] == [
        (created.json()["fulfillment"]["id"], first, "UPS", [{"sku": "WIDGET-BLUE", "quantity": 1}])
    ]
    assert other == []


async def test_an_unknown_order_is_a_404_problem(client: httpx.AsyncClient) -> None:
    for resp in (
        await client.post(f"{API}/orders/9999/fulfillments.json", json=FULFILMENT),
        await client.get(f"{API}/orders/9999/fulfillments.json"),
    ):
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        assert "orders.json" in resp.json()["detail"]


async def test_a_sku_not_on_the_order_is_refused_and_nothing_kept(client: httpx.AsyncClient) -> None:
    order_id = (await client.post(f"{API}/orders.json", json=ORDER)).json()["order"]["id"]
    body = {"fulfillment": {**FULFILMENT["fulfillment"], "line_items": [{"sku": "GADGET-PRO", "quantity": 1}]}}
    refused = await client.post(f"{API}/orders/{order_id}/fulfillments.json", json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["pointer"] == "#/fulfillment/line_items/0/sku"
    assert (await client.get(f"{API}/orders/{order_id}/fulfillments.json")).json()["fulfillments"] == []
