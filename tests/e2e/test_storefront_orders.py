"""Storefront orders in, on the real suite (`interchange up --free-ports`, every service its own
process): a signed order webhook posted to the storefront service becomes a canonical order that
reaches ACCEPTED with its ERP sales order; the same delivery again is answered 200 and changes
nothing; a bad signature is a 401. And the whole loop with the reference shop the launcher starts
beside it: an order placed in the shop arrives as the shop's signed webhook and is accepted, and
the storefront's stock pushes reach the shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from experience_apis.storefront.signatures import signature
from tests.support.launcher import launched_suite
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

SECRET = "e2e-storefront-webhook-secret"
SHOP = "demo-shop.storefront.example"


@dataclass(frozen=True)
class Suite:
    data_dir: Path
    services: dict[str, str]

    def orders_token(self) -> str:
        secret = json.loads((self.data_dir / "secrets.json").read_text())["svc-storefront"]
        resp = httpx.post(
            f"{self.services['gateway']}/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "orders:read"},
            auth=("svc-storefront", secret),
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """One suite for the module's tests (each starts the whole suite otherwise)."""
    data_dir = tmp_path_factory.mktemp("storefront") / "var"
    with launched_suite(data_dir, settings={"INTERCHANGE_STOREFRONT_WEBHOOK_SECRET": SECRET}) as described:
        yield Suite(data_dir, dict(described["services"]))


def send(suite: Suite, body: dict[str, Any], *, delivery: str, secret: str = SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Storefront-Webhook-Id": delivery,
        "X-Storefront-Shop-Domain": SHOP,
        "X-Storefront-Topic": "orders/create",
        "X-Storefront-Hmac-Sha256": signature(secret=secret, body=raw),
    }
    return httpx.post(f"{suite.services['storefront']}/v1/webhooks/orders", content=raw, headers=headers, timeout=30)


def wait_accepted(suite: Suite, order_id: str) -> dict[str, Any]:
    token = suite.orders_token()

    def accepted() -> dict[str, Any] | None:
        resp = httpx.get(
            f"{suite.services['orders']}/v1/orders/{order_id}",
            headers={"Authorization": f"Bearer {token}", "X-Interchange-Partner": "storefront"},
        )
        resp.raise_for_status()
        order = dict(resp.json())
        assert order["status"] in ("received", "accepted", "released"), order
        return order if order["status"] in ("accepted", "released") and order.get("erp_order_number") else None

    return wait_until(accepted, seconds=60, what="the storefront order to be accepted")


ORDER = {
    "id": 7001,
    "name": "#7001",
    "currency": "EUR",
    "updated_at": "2026-12-07T21:00:00+00:00",
    "shipping_address": {
        "name": "Jane Doe",
        "address1": "Damrak 1",
        "city": "Amsterdam",
        "zip": "1012 LG",
        "country_code": "NL",
    },
    "line_items": [{"sku": "WIDGET-BLUE", "quantity": 1}],
}


def test_a_storefront_order_webhook_reaches_accepted_with_its_erp_sales_order(suite: Suite) -> None:
    forged = send(suite, ORDER, delivery="e2e-0", secret="not-the-shops-secret")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"

    first = send(suite, ORDER, delivery="e2e-1")
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "submitted"
    order_id = first.json()["order_id"]

    order = wait_accepted(suite, order_id)
    assert (order["channel"], order["channel_order_id"], order["customer_id"]) == ("storefront", "7001", "C-1001")

    again = send(suite, ORDER, delivery="e2e-1")
    assert again.status_code == 200
    assert again.json() == {"delivery_id": "e2e-1", "outcome": "duplicate", "order_id": order_id}


def test_an_order_placed_in_the_reference_shop_is_accepted_and_the_stock_push_reaches_the_shop(suite: Suite) -> None:
    admin = f"{suite.services['shop']}/admin/api/2024-01"
    placed = httpx.post(
        f"{admin}/orders.json",
        json={
            "order": {
                "line_items": [{"sku": "WIDGET-BLUE", "quantity": 1}],
                "shipping_address": ORDER["shipping_address"],
            }
        },
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    shop_order = placed.json()["order"]
    assert shop_order["name"] == "#1001"

    def delivered() -> dict[str, Any] | None:
        sent = httpx.get(f"{admin}/webhook_deliveries.json", params={"order_id": shop_order["id"]}).json()
        taken = [d for d in sent["webhook_deliveries"] if d["status_code"] == 200]
        assert all(d["status_code"] != 401 for d in sent["webhook_deliveries"]), sent  # the secret is shared
        return dict(json.loads(taken[0]["response"])) if taken else None

    receipt = wait_until(delivered, seconds=60, what="the shop's webhook to be taken")
    assert receipt["outcome"] == "submitted"
    order = wait_accepted(suite, receipt["order_id"])
    assert (order["channel"], order["channel_order_id"]) == ("storefront", str(shop_order["id"]))

    def pushed() -> list[dict[str, Any]] | None:
        levels = httpx.get(f"{admin}/inventory_levels.json").json()["inventory_levels"]
        return levels or None

    levels = wait_until(pushed, seconds=90, what="the storefront to push a level to the shop")
    assert {lv["inventory_item_id"] for lv in levels} <= {44001, 44002, 44003, 44004}
