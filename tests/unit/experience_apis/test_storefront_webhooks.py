"""Storefront order webhooks in process: the HMAC over the raw body is checked before anything
(bad: 401 problem+json, nothing written, nothing sent on); a replayed delivery id is answered 200
and changes nothing; an older update never overwrites a newer one; a cancellation cancels the
canonical order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from experience_apis.storefront.app import create_app
from experience_apis.storefront.models import StorefrontOrder, StorefrontShop, WebhookDelivery
from experience_apis.storefront.settings import StorefrontSettings
from experience_apis.storefront.signatures import signature
from tests.support.tokens import static_verifier

SECRET = "shpss_test_secret"
SHOP = "demo-shop.storefront.example"


def order_body(*, updated_at: str = "2026-12-07T21:00:00+00:00", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 5001,
        "name": "#1001",
        "currency": "EUR",
        "updated_at": updated_at,
        "cancelled_at": None,
        "note": "a field this service does not read",
        "shipping_address": {
            "name": "Jane Doe",
            "address1": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "line_items": [{"sku": "WIDGET-BLUE", "quantity": 2, "title": "Blue widget"}],
    }
    return body | changes


@dataclass
class FakeOrders:
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    too_late_to_cancel: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append((request.url.path, request.headers["Idempotency-Key"], body))
        if request.url.path == "/v1/orders":
            return httpx.Response(202, json={"id": "ORD-1", "status": "received", "status_url": "/v1/orders/ORD-1"})
        if self.too_late_to_cancel:
            return httpx.Response(409, json={"type": "about:blank", "status": 409, "detail": "Already shipped."})
        return httpx.Response(202, json={"id": "ORD-1", "status": "received", "cancel_requested": True})


@dataclass
class Webhooks:
    app: Any
    client: httpx.AsyncClient
    orders: FakeOrders

    async def send(
        self, body: dict[str, Any], *, delivery: str, topic: str = "orders/create", secret: str = SECRET
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Storefront-Webhook-Id": delivery,
            "X-Storefront-Shop-Domain": SHOP,
            "X-Storefront-Topic": topic,
            "X-Storefront-Hmac-Sha256": signature(secret=secret, body=raw),
        }
        return await self.client.post("/v1/webhooks/orders", content=raw, headers=headers)

    async def rows(self) -> tuple[int, list[tuple[str, str | None, bool]]]:
        async with self.app.state.db.transaction() as session:
            deliveries = (await session.execute(select(func.count()).select_from(WebhookDelivery))).scalar_one()
            orders = (await session.execute(select(StorefrontOrder))).scalars().all()
            return deliveries, [(o.storefront_order_id, o.order_id, o.cancelled) for o in orders]


@pytest.fixture
async def webhooks(tmp_path: Path) -> AsyncIterator[Webhooks]:
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, log_json=False, webhook_secret=SECRET, push_poll_seconds=3600
    )
    orders = FakeOrders()
    app = create_app(settings, transport=httpx.MockTransport(orders.handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client:
            yield Webhooks(app=app, client=client, orders=orders)


async def test_the_shops_secret_is_stored_sealed(webhooks: Webhooks) -> None:
    async with webhooks.app.state.db.transaction() as session:
        shop = await session.get(StorefrontShop, SHOP)
    assert shop is not None
    assert shop.webhook_secret.startswith("fernet:") and SECRET not in shop.webhook_secret
    assert webhooks.app.state.secrets.open(shop.webhook_secret) == SECRET


async def test_an_order_webhook_becomes_a_canonical_order(webhooks: Webhooks) -> None:
    resp = await webhooks.send(order_body(), delivery="d-1")

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"delivery_id": "d-1", "outcome": "submitted", "order_id": "ORD-1"}
    [(path, key, body)] = webhooks.orders.calls
    assert (path, key) == ("/v1/orders", f"storefront:{SHOP}:5001")
    assert body == {
        "channel": "storefront",
        "channel_order_id": "5001",
        "customer_id": "C-1001",
        "currency": "EUR",
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
        "split_shipments_allowed": False,
    }
    assert await webhooks.rows() == (1, [("5001", "ORD-1", False)])


@pytest.mark.parametrize("secret", ["another-secret", ""])
async def test_a_bad_signature_is_401_and_writes_nothing(webhooks: Webhooks, secret: str) -> None:
    resp = await webhooks.send(order_body(), delivery="d-1", secret=secret)

    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == 401 and "X-Storefront-Hmac-Sha256" in problem["detail"]
    assert SECRET not in resp.text
    assert webhooks.orders.calls == []
    assert await webhooks.rows() == (0, [])


async def test_a_body_changed_after_signing_is_401(webhooks: Webhooks) -> None:
    raw = json.dumps(order_body()).encode()
    headers = {
        "X-Storefront-Webhook-Id": "d-1",
        "X-Storefront-Shop-Domain": SHOP,
        "X-Storefront-Topic": "orders/create",
        "X-Storefront-Hmac-Sha256": signature(secret=SECRET, body=raw),
    }
    tampered = raw.replace(b'"quantity": 2', b'"quantity": 20')

    resp = await webhooks.client.post("/v1/webhooks/orders", content=tampered, headers=headers)

    assert resp.status_code == 401
    assert await webhooks.rows() == (0, [])


async def test_a_replayed_delivery_is_200_and_changes_nothing(webhooks: Webhooks) -> None:
    assert (await webhooks.send(order_body(), delivery="d-1")).status_code == 200
    before = await webhooks.rows()

    again = await webhooks.send(
        order_body(updated_at="2026-12-07T22:00:00+00:00", cancelled_at="2026-12-07T22:00:00+00:00"),
        delivery="d-1",
        topic="orders/cancelled",
    )

    assert again.status_code == 200, again.text
    assert again.json() == {"delivery_id": "d-1", "outcome": "duplicate", "order_id": "ORD-1"}
    assert len(webhooks.orders.calls) == 1  # the cancel under a replayed delivery id was not sent
    assert await webhooks.rows() == before


async def test_an_older_update_never_overwrites_a_newer_one(webhooks: Webhooks) -> None:
    newer = order_body(updated_at="2026-12-07T22:00:00+00:00", cancelled_at="2026-12-07T22:00:00+00:00")
    assert (await webhooks.send(order_body(), delivery="d-1")).json()["outcome"] == "submitted"
    assert (await webhooks.send(newer, delivery="d-2", topic="orders/cancelled")).json()["outcome"] == "cancelled"

    older = await webhooks.send(
        order_body(updated_at="2026-12-07T21:30:00+01:00"), delivery="d-3", topic="orders/updated"
    )

    assert older.status_code == 200
    assert older.json() == {"delivery_id": "d-3", "outcome": "stale", "order_id": "ORD-1"}
    assert [c[:2] for c in webhooks.orders.calls] == [
        ("/v1/orders", f"storefront:{SHOP}:5001"),
        ("/v1/orders/ORD-1/cancel", f"storefront:{SHOP}:5001:cancel"),
    ]
    assert await webhooks.rows() == (3, [("5001", "ORD-1", True)])


async def test_a_cancellation_too_late_for_the_orders_api_is_recorded_not_reported_as_cancelled(
    webhooks: Webhooks,
) -> None:
    assert (await webhooks.send(order_body(), delivery="d-1")).json()["outcome"] == "submitted"
    webhooks.orders.too_late_to_cancel = True
    cancelled = order_body(updated_at="2026-12-07T22:00:00+00:00", cancelled_at="2026-12-07T22:00:00+00:00")

    resp = await webhooks.send(cancelled, delivery="d-2", topic="orders/cancelled")

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"delivery_id": "d-2", "outcome": "recorded", "order_id": "ORD-1"}
    assert [c[0] for c in webhooks.orders.calls] == ["/v1/orders", "/v1/orders/ORD-1/cancel"]
    assert await webhooks.rows() == (2, [("5001", "ORD-1", True)])


async def test_a_cancellation_before_the_order_arrived_keeps_the_late_create_out(webhooks: Webhooks) -> None:
    cancelled = order_body(updated_at="2026-12-07T22:00:00+00:00", cancelled_at="2026-12-07T22:00:00+00:00")
    assert (await webhooks.send(cancelled, delivery="d-2", topic="orders/cancelled")).json()["outcome"] == "recorded"

    late = await webhooks.send(order_body(), delivery="d-1")

    assert late.json()["outcome"] == "stale"
    assert webhooks.orders.calls == []
    assert await webhooks.rows() == (2, [("5001", None, True)])


async def test_an_invalid_order_is_422_naming_the_field_and_writes_nothing(webhooks: Webhooks) -> None:
    resp = await webhooks.send(order_body(line_items=[]), delivery="d-1")

    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/line_items"]
    assert await webhooks.rows() == (0, [])


async def test_an_unknown_topic_is_422(webhooks: Webhooks) -> None:
    resp = await webhooks.send(order_body(), delivery="d-1", topic="products/create")

    assert resp.status_code == 422
    assert "orders/create" in resp.json()["detail"]
