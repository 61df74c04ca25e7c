"""Storefront orders in, on the real suite (`interchange up --free-ports`, every service its own
process): a signed order webhook posted to the storefront service becomes a canonical order that
reaches ACCEPTED with its ERP sales order; the same delivery again is answered 200 and changes
nothing; a bad signature is a 401."""

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


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[Suite]:
    data_dir = tmp_path / "var"
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

    order = wait_until(accepted, seconds=60, what="the storefront order to be accepted")
    assert (order["channel"], order["channel_order_id"], order["customer_id"]) == ("storefront", "7001", "C-1001")

    again = send(suite, ORDER, delivery="e2e-1")
    assert again.status_code == 200
    assert again.json() == {"delivery_id": "e2e-1", "outcome": "duplicate", "order_id": order_id}
