"""Version 2 of the marketplace dialect beside version 1, in process: one service, one stored order,
two dialects; version 1 deprecated with a sunset."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.scopes import MARKETPLACE_ORDERS_READ, MARKETPLACE_ORDERS_WRITE
from tests.support.tokens import Bearer
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, ZENITH, order_body, order_body_v2, problem

KEY = {"Idempotency-Key": "acme-req-1"}
SUBMIT = ACME | KEY


def line(seller_sku: str, quantity: Any, amount: Any = "19.99", currency: str = "EUR") -> dict[str, Any]:
    return {"seller_sku": seller_sku, "quantity": quantity, "item_price": {"amount": amount, "currency": currency}}


async def test_a_v2_order_is_mapped_to_the_same_canonical_order_as_v1(marketplace: Marketplace) -> None:
    resp = await marketplace.client.post("/v2/orders", json=order_body_v2(), headers=SUBMIT)

    assert resp.status_code == 202, resp.text
    assert resp.json() == {
        "marketplace_order_id": "ACME-100234",
        "order_reference": "ord_0001",
        "order_status": "PENDING",
        "status_url": "/marketplace/v2/orders/ACME-100234",
    }
    assert resp.headers["location"] == "/marketplace/v2/orders/ACME-100234"
    assert "deprecation" not in resp.headers and "sunset" not in resp.headers
    [sent] = marketplace.orders.posted()
    # The orders API sees the marketplace order's natural key, never the partner's own Idempotency-Key.
    assert sent.headers["Idempotency-Key"] == "marketplace:acme-market:ACME-100234"
    assert sent.headers["X-Interchange-Partner"] == "acme-market"
    canonical = json.loads(sent.content)
    assert canonical["currency"] == "EUR"
    assert canonical["lines"] == [
        {"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}},
        {"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}},
    ]
    # The same order on version 1 (under another id) is the same canonical order.
    await marketplace.client.post("/v1/orders", json=order_body(marketplace_order_id="ACME-1"), headers=ACME)
    from_v1 = json.loads(marketplace.orders.posted()[-1].content)
    assert from_v1 | {"channel_order_id": "ACME-100234"} == canonical


async def test_the_status_of_an_accepted_order_is_in_v2_money(marketplace: Marketplace) -> None:
    submitted = await marketplace.client.post("/v2/orders", json=order_body_v2(), headers=SUBMIT)
    marketplace.orders.accept(submitted.json()["order_reference"], erp_order_number="SO-000042")

    resp = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)

    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "marketplace_order_id": "ACME-100234",
        "order_reference": "ord_0001",
        "order_status": "ACCEPTED",
        "status_reason": None,
        "status_reason_code": None,
        "seller_order_number": "SO-000042",
        "total": {"amount": "49.48", "currency": "EUR"},
        "lines": [
            {"seller_sku": "ACME-WB", "quantity": 2, "unit_price": {"amount": "19.99", "currency": "EUR"}},
            {"seller_sku": "ACME-USB", "quantity": 1, "unit_price": {"amount": "9.50", "currency": "EUR"}},
        ],
    }


async def test_an_order_submitted_on_v1_is_read_on_v2_and_the_other_way_round(marketplace: Marketplace) -> None:
    on_v1 = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    on_v2 = await marketplace.client.post(
        "/v2/orders", json=order_body_v2(marketplace_order_id="ACME-200"), headers=SUBMIT
    )

    v1_on_v2 = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)
    v2_on_v1 = await marketplace.client.get("/v1/orders/ACME-200", headers=ACME)

    assert v1_on_v2.status_code == v2_on_v1.status_code == 200
    assert v1_on_v2.json()["order_reference"] == on_v1.json()["order_reference"]
    assert v1_on_v2.json()["lines"] == [
        {"seller_sku": "ACME-WB", "quantity": 2, "unit_price": None},
        {"seller_sku": "ACME-USB", "quantity": 1, "unit_price": None},
    ]
    assert v2_on_v1.json()["order_reference"] == on_v2.json()["order_reference"]
    assert v2_on_v1.json()["order_items"] == [
        {"seller_sku": "ACME-WB", "quantity_ordered": 2, "unit_price": None},
        {"seller_sku": "ACME-USB", "quantity_ordered": 1, "unit_price": None},
    ]


async def test_the_same_order_sent_on_v1_then_on_v2_is_one_order(marketplace: Marketplace) -> None:
    on_v1 = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    on_v2 = await marketplace.client.post("/v2/orders", json=order_body_v2(), headers=SUBMIT)

    assert on_v1.status_code == on_v2.status_code == 202
    assert on_v2.json()["order_reference"] == on_v1.json()["order_reference"]
    assert on_v2.json()["status_url"] == "/marketplace/v2/orders/ACME-100234"
    assert len(marketplace.orders.posted()) == 1


async def test_a_reused_marketplace_order_id_with_other_contents_is_a_conflict_across_versions(
    marketplace: Marketplace,
) -> None:
    await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    resp = await marketplace.client.post(
        "/v2/orders", json=order_body_v2(lines=[line("ACME-GP", 1, "149.00")]), headers=SUBMIT
    )

    assert resp.status_code == 409
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["errors"][0]["pointer"] == "#/marketplace_order_id"
    assert len(marketplace.orders.posted()) == 1


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        (order_body_v2(lines=[line("ZEN-0001", 1)]), ["#/lines/0/seller_sku"]),
        (order_body_v2(lines=[line("ACME-WB", 1, currency="USD")]), ["#/lines/0/item_price/currency"]),
        (
            order_body_v2(lines=[line("ACME-WB", 1), line("ACME-USB", 1, currency="USD"), line("ACME-GP", 1)]),
            ["#/lines/1/item_price/currency"],
        ),
    ],
    ids=["unlisted-seller-sku", "not-the-partners-currency", "mixed-currencies"],
)
async def test_business_rules_are_422s_at_v2_fields_and_nothing_is_sent(
    marketplace: Marketplace, body: dict[str, Any], pointers: list[str]
) -> None:
    resp = await marketplace.client.post("/v2/orders", json=body, headers=SUBMIT)

    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in resp.json()["errors"]] == pointers
    assert marketplace.orders.requests == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (order_body_v2(lines=[line("ACME-WB", 0)]), "#/lines/0/quantity"),
        (order_body_v2(lines=[line("ACME-WB", "2")]), "#/lines/0/quantity"),
        (
            order_body_v2(lines=[{"seller_sku": "ACME-WB", "quantity": 1, "item_price": "19.99"}]),
            "#/lines/0/item_price",
        ),
        (order_body_v2(lines=[line("ACME-WB", 1, amount=19.99)]), "#/lines/0/item_price/amount"),
        (order_body_v2(currency_code="EUR"), "#/currency_code"),
        (
            order_body_v2(order_items=[{"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": "1.00"}]),
            "#/order_items",
        ),
        (order_body_v2(lines=[]), "#/lines"),
    ],
    ids=["zero", "quantity-as-string", "bare-price", "amount-as-number", "v1-currency", "v1-items", "no-lines"],
)
async def test_a_body_that_is_not_a_v2_order_is_refused(marketplace: Marketplace, body: Any, pointer: str) -> None:
    resp = await marketplace.client.post("/v2/orders", json=body, headers=SUBMIT)

    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    assert pointer in [e["pointer"] for e in resp.json()["errors"]]
    assert marketplace.orders.requests == []


async def test_an_orders_api_refusal_is_passed_through_in_the_v2_dialect(marketplace: Marketplace) -> None:
    marketplace.orders.answer = problem(
        422,
        "business-rule-violation",
        "Fix these fields: #/lines/1/sku, #/lines/0/quantity (see http://127.0.0.1:8201/v1/orders).",
        errors=[{"pointer": "#/lines/1/sku", "in": "body", "detail": "SKU LEGACY-DIAL is discontinued."}],
    )
    body = order_body_v2(lines=[line("ACME-WB", 1), line("ACME-DIAL", 1, "30.00")])

    resp = await marketplace.client.post("/v2/orders", json=body, headers=SUBMIT)

    assert resp.status_code == 422
    refused = resp.json()
    assert refused["detail"] == "Fix these fields: #/lines/1/seller_sku, #/lines/0/quantity (see an internal address)."
    assert refused["errors"] == [
        {"pointer": "#/lines/1/seller_sku", "in": "body", "detail": "SKU ACME-DIAL is discontinued."}
    ]


async def test_another_partners_order_is_not_found_on_v2(marketplace: Marketplace) -> None:
    await marketplace.client.post("/v2/orders", json=order_body_v2(), headers=SUBMIT)

    theirs = await marketplace.client.get("/v2/orders/ACME-100234", headers=ZENITH)

    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "needle"),
    [
        ("POST", "/v2/orders", KEY, 401, "Bearer"),
        ("POST", "/v2/orders", Bearer(MARKETPLACE_ORDERS_READ, partner_id="acme-market") | KEY, 403, "orders.write"),
        ("GET", "/v2/orders/ACME-1", Bearer(MARKETPLACE_ORDERS_WRITE, partner_id="acme-market"), 403, "orders.read"),
        ("POST", "/v2/orders", Bearer(MARKETPLACE_ORDERS_WRITE, client_id="svc-x") | KEY, 403, "names no partner"),
    ],
    ids=["no-token", "no-write-scope", "no-read-scope", "no-partner"],
)
async def test_v2_needs_the_scope_and_a_partner(
    marketplace: Marketplace, method: str, path: str, headers: dict[str, str], status: int, needle: str
) -> None:
    body = order_body_v2() if method == "POST" else None

    resp = await marketplace.client.request(method, path, json=body, headers=headers)

    assert resp.status_code == status
    assert resp.headers["content-type"] == PROBLEM
    assert needle in resp.json()["detail"]
    assert marketplace.orders.requests == []


@pytest.mark.parametrize(
    ("method", "path", "successor"),
    [
        ("POST", "/v1/orders", "/marketplace/v2/orders"),
        ("GET", "/v1/orders/ACME-100234", "/marketplace/v2/orders/ACME-100234"),
        ("GET", "/v1/orders/ACME-404", "/marketplace/v2/orders/ACME-404"),
    ],
    ids=["submit", "read", "not-found"],
)
async def test_every_v1_answer_says_v1_is_deprecated_with_its_sunset_and_successor(
    marketplace: Marketplace, method: str, path: str, successor: str
) -> None:
    if method == "GET":
        await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    resp = await marketplace.client.request(method, path, json=order_body() if method == "POST" else None, headers=ACME)

    assert resp.status_code in {200, 202, 404}
    assert resp.headers["deprecation"] == "@1795392000"  # 2026-11-23T00:00:00Z, RFC 9745
    assert resp.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594
    assert resp.headers["link"] == f'<{successor}>; rel="successor-version"'


async def test_the_apps_own_document_flags_v1_operations_deprecated(marketplace: Marketplace) -> None:
    spec = (await marketplace.client.get("/openapi.json")).json()

    flags = {
        f"{method.upper()} {path}": op.get("deprecated", False)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }

    channel = [
        "GET /{v}/availability",
        "POST /{v}/webhooks",
        "GET /{v}/webhooks",
        "DELETE /{v}/webhooks/{{webhook_id}}",
        "GET /{v}/webhooks/{{webhook_id}}/deliveries",
        "POST /{v}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/replay",
    ]
    assert flags == {
        "POST /v1/orders": True,
        "GET /v1/orders/{marketplace_order_id}": True,
        "POST /v2/orders": False,
        "GET /v2/orders/{marketplace_order_id}": False,
        "GET /v2/orders/{marketplace_order_id}/shipments": False,
        "GET /v2/orders/{marketplace_order_id}/invoices": False,
        "POST /v2/orders/{marketplace_order_id}/returns": False,
        "POST /v2/dialect-orders": False,
        **{op.format(v="v1"): True for op in channel},
        **{op.format(v="v2"): False for op in channel},
    }
