"""The marketplace experience API in process, version 1 of the dialect, with the orders process API
faked behind the kit's routing transport (the fake records what it was sent and answers like the
orders API would)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from contracts.scopes import MARKETPLACE_ORDERS_READ, MARKETPLACE_ORDERS_WRITE
from experience_apis.marketplace.models import Listing, PartnerAccount
from experience_apis.marketplace.seed import seed_demo
from tests.support.tokens import Bearer, bearer
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, ZENITH, order_body, problem


async def test_order_is_mapped_to_the_canonical_order_and_taken_in(marketplace: Marketplace) -> None:
    resp = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    assert resp.status_code == 202, resp.text
    assert resp.json() == {
        "marketplace_order_id": "ACME-100234",
        "order_reference": "ord_0001",
        "order_status": "PENDING",
        "status_url": "/marketplace/v1/orders/ACME-100234",
    }
    assert resp.headers["location"] == "/marketplace/v1/orders/ACME-100234"
    [sent] = marketplace.orders.posted()
    assert sent.url == "http://orders.test/v1/orders"
    assert sent.headers["Idempotency-Key"] == "marketplace:acme-market:ACME-100234"
    assert sent.headers["X-Interchange-Partner"] == "acme-market"
    assert sent.headers["X-Correlation-ID"] == resp.headers["x-correlation-id"]
    assert json.loads(sent.content) == {
        "channel": "marketplace",
        "channel_order_id": "ACME-100234",
        "customer_id": "C-1001",
        "currency": "EUR",
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        "lines": [
            {"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}},
            {"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}},
        ],
        # Marketplace orders ship whole from one warehouse: the canonical default.
        "split_shipments_allowed": False,
    }


async def test_the_same_order_sent_again_answers_the_same_order_reference(marketplace: Marketplace) -> None:
    first = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    again = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len(marketplace.orders.orders) == 1


async def test_the_same_order_sent_twice_at_once_is_one_order(marketplace: Marketplace) -> None:
    first, second = await asyncio.gather(
        marketplace.client.post("/v1/orders", json=order_body(), headers=ACME),
        marketplace.client.post("/v1/orders", json=order_body(), headers=ACME),
    )

    assert first.status_code == second.status_code == 202, (first.text, second.text)
    assert first.json() == second.json()
    assert len(marketplace.orders.orders) == 1


async def test_a_reused_marketplace_order_id_with_other_contents_is_a_conflict(marketplace: Marketplace) -> None:
    await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    other = order_body(order_items=[{"seller_sku": "ACME-GP", "quantity_ordered": 1, "item_price": "149.00"}])

    resp = await marketplace.client.post("/v1/orders", json=other, headers=ACME)

    assert resp.status_code == 409
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["errors"][0]["pointer"] == "#/marketplace_order_id"
    assert len(marketplace.orders.posted()) == 1


async def test_an_unlisted_seller_sku_is_a_422_at_the_item_and_nothing_is_sent(marketplace: Marketplace) -> None:
    body = order_body(order_items=[{"seller_sku": "ZEN-0001", "quantity_ordered": 1, "item_price": "19.99"}])

    resp = await marketplace.client.post("/v1/orders", json=body, headers=ACME)

    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    problem_body = resp.json()
    assert problem_body["type"] == "urn:interchange:problem:business-rule-violation"
    assert [e["pointer"] for e in problem_body["errors"]] == ["#/order_items/0/seller_sku"]
    assert "ZEN-0001" in problem_body["errors"][0]["detail"]
    assert marketplace.orders.requests == []


async def test_a_currency_other_than_the_partners_is_a_422(marketplace: Marketplace) -> None:
    resp = await marketplace.client.post("/v1/orders", json=order_body(currency_code="USD"), headers=ACME)

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/currency_code"
    assert marketplace.orders.requests == []


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        (
            order_body(order_items=[{"seller_sku": "ACME-WB", "quantity_ordered": 0, "item_price": "19.99"}]),
            422,
            "#/order_items/0/quantity_ordered",
        ),
        (
            order_body(order_items=[{"seller_sku": "ACME-WB", "quantity_ordered": "2", "item_price": "19.99"}]),
            422,
            "#/order_items/0/quantity_ordered",
        ),
        (
            order_body(order_items=[{"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": 19.99}]),
            422,
            "#/order_items/0/item_price",
        ),
        (order_body(gift_wrap=True), 422, "#/gift_wrap"),
        (order_body(order_items=[]), 422, "#/order_items"),
        (b"{not json", 400, None),
    ],
    ids=["zero-quantity", "quantity-as-string", "price-as-number", "unknown-field", "no-items", "malformed-json"],
)
async def test_a_body_that_is_not_a_marketplace_order_is_refused(
    marketplace: Marketplace, body: Any, status: int, pointer: str | None
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**ACME, "content-type": "application/json"}

    resp = await marketplace.client.post("/v1/orders", content=content, headers=headers)

    assert resp.status_code == status
    assert resp.headers["content-type"] == PROBLEM
    if pointer:
        assert pointer in [e["pointer"] for e in resp.json()["errors"]]
    assert marketplace.orders.requests == []


async def test_an_orders_api_refusal_is_passed_through_in_the_dialect(marketplace: Marketplace) -> None:
    marketplace.orders.answer = problem(
        422,
        "business-rule-violation",
        "Fix these fields: #/lines/1/sku (see http://127.0.0.1:8201/v1/orders).",
        errors=[{"pointer": "#/lines/1/sku", "in": "body", "detail": "SKU LEGACY-DIAL is discontinued."}],
        instance="/v1/orders",
    )
    body = order_body(
        order_items=[
            {"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": "19.99"},
            {"seller_sku": "ACME-DIAL", "quantity_ordered": 1, "item_price": "30.00"},
        ]
    )

    resp = await marketplace.client.post("/v1/orders", json=body, headers=ACME)

    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    refused = resp.json()
    assert refused["type"] == "urn:interchange:problem:business-rule-violation"
    assert refused["errors"] == [
        {"pointer": "#/order_items/1/seller_sku", "in": "body", "detail": "SKU ACME-DIAL is discontinued."}
    ]
    assert "#/order_items/1/seller_sku" in refused["detail"]
    assert refused["instance"] == "/v1/orders"
    assert "127.0.0.1" not in resp.text
    assert "LEGACY-DIAL" not in resp.text
    marketplace.orders.answer = None
    assert (await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)).status_code == 404


@pytest.mark.parametrize("failure", ["unreachable", "server-error"])
async def test_orders_api_down_is_a_502_problem_without_internal_addresses(
    marketplace: Marketplace, failure: str
) -> None:
    if failure == "unreachable":
        marketplace.orders.down = True
    else:
        marketplace.orders.answer = problem(503, "upstream-unavailable", "ERP at http://erp.internal:8301 is down")

    resp = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    assert resp.status_code == 502
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"
    for internal in ("orders.test", "erp.internal", "8201", "8301", "http://"):
        assert internal not in resp.text
    marketplace.orders.down, marketplace.orders.answer = False, None
    retried = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert retried.status_code == 202


async def test_status_of_a_received_order_is_pending(marketplace: Marketplace) -> None:
    await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    resp = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)

    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "marketplace_order_id": "ACME-100234",
        "order_reference": "ord_0001",
        "order_status": "PENDING",
        "status_reason": None,
        "status_reason_code": None,
        "seller_order_number": None,
        "order_total": None,
        "order_items": [
            {"seller_sku": "ACME-WB", "quantity_ordered": 2, "unit_price": None},
            {"seller_sku": "ACME-USB", "quantity_ordered": 1, "unit_price": None},
        ],
    }


async def test_status_of_an_accepted_order_shows_the_seller_order_and_totals(marketplace: Marketplace) -> None:
    submitted = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    marketplace.orders.accept(submitted.json()["order_reference"], erp_order_number="SO-000042")

    resp = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)

    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "marketplace_order_id": "ACME-100234",
        "order_reference": "ord_0001",
        "order_status": "ACCEPTED",
        "status_reason": None,
        "status_reason_code": None,
        "seller_order_number": "SO-000042",
        "order_total": {"amount": "49.48", "currency_code": "EUR"},
        "order_items": [
            {"seller_sku": "ACME-WB", "quantity_ordered": 2, "unit_price": "19.99"},
            {"seller_sku": "ACME-USB", "quantity_ordered": 1, "unit_price": "9.50"},
        ],
    }
    read = marketplace.orders.requests[-1]
    assert (read.method, read.url.path) == ("GET", "/v1/orders/ord_0001")
    assert read.headers["X-Interchange-Partner"] == "acme-market"


async def test_another_partners_order_is_not_found_exactly_like_a_missing_one(marketplace: Marketplace) -> None:
    await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    calls = len(marketplace.orders.requests)

    theirs = await marketplace.client.get("/v1/orders/ACME-100234", headers=ZENITH)
    own = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)
    nowhere = await marketplace.client.get("/v1/orders/ACME-999999", headers=ZENITH)

    assert own.status_code == 200
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.headers["content-type"] == PROBLEM

    def shape(resp: httpx.Response) -> dict[str, Any]:
        body = resp.json()
        return {k: v for k, v in body.items() if k not in {"correlation_id", "instance", "detail"}}

    assert shape(theirs) == shape(nowhere)
    assert theirs.json()["detail"] == nowhere.json()["detail"].replace("ACME-999999", "ACME-100234")
    assert len(marketplace.orders.requests) == calls + 1  # only acme's own read reached the orders API


async def test_the_same_marketplace_order_id_is_separate_per_partner(marketplace: Marketplace) -> None:
    acme = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    zenith_body = order_body(order_items=[{"seller_sku": "ZEN-0002", "quantity_ordered": 3, "item_price": "9.50"}])
    zenith = await marketplace.client.post("/v1/orders", json=zenith_body, headers=ZENITH)

    assert acme.status_code == zenith.status_code == 202
    assert acme.json()["order_reference"] != zenith.json()["order_reference"]
    assert marketplace.orders.posted()[1].headers["Idempotency-Key"] == "marketplace:zenith-market:ACME-100234"
    assert json.loads(marketplace.orders.posted()[1].content)["customer_id"] == "C-1002"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "needle"),
    [
        ("POST", "/v1/orders", {}, 401, "Bearer"),
        ("POST", "/v1/orders", Bearer(MARKETPLACE_ORDERS_READ, partner_id="acme-market"), 403, "orders.write"),
        ("GET", "/v1/orders/ACME-1", Bearer(MARKETPLACE_ORDERS_WRITE, partner_id="acme-market"), 403, "orders.read"),
        ("POST", "/v1/orders", Bearer(MARKETPLACE_ORDERS_WRITE, client_id="svc-x"), 403, "names no partner"),
        ("GET", "/v1/orders/ACME-1", Bearer(MARKETPLACE_ORDERS_READ, client_id="svc-x"), 403, "names no partner"),
        (
            "POST",
            "/v1/orders",
            Bearer(MARKETPLACE_ORDERS_WRITE, partner_id="nova-market", channel="marketplace"),
            403,
            "not set up as a marketplace partner",
        ),
    ],
    ids=["no-token", "no-write-scope", "no-read-scope", "post-no-partner", "get-no-partner", "unknown-partner"],
)
async def test_scope_and_partner_are_required(
    marketplace: Marketplace, method: str, path: str, headers: dict[str, str], status: int, needle: str
) -> None:
    body = order_body() if method == "POST" else None

    resp = await marketplace.client.request(method, path, json=body, headers=headers)

    assert resp.status_code == status
    assert resp.headers["content-type"] == PROBLEM
    assert needle in resp.json()["detail"]
    assert marketplace.orders.requests == []


async def test_a_service_token_cannot_act_as_a_partner_through_the_header(marketplace: Marketplace) -> None:
    headers = bearer(MARKETPLACE_ORDERS_WRITE, client_id="svc-x") | {"X-Interchange-Partner": "acme-market"}

    resp = await marketplace.client.post("/v1/orders", json=order_body(), headers=headers)

    assert resp.status_code == 403
    assert marketplace.orders.requests == []


async def test_seed_is_idempotent_and_health_is_up(marketplace: Marketplace) -> None:
    await seed_demo(marketplace.app.state.db)
    async with marketplace.app.state.db.transaction() as session:
        partners = await session.scalar(select(func.count()).select_from(PartnerAccount))
        listings = await session.scalar(select(func.count()).select_from(Listing))
    assert (partners, listings) == (2, 7)
    assert (await marketplace.client.get("/health/ready")).json()["database"] is True
