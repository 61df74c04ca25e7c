"""Version 2's shipments, invoices and returns of the partner's own orders (issue 11), with the
orders and fulfilment process APIs faked: seller SKUs by order line, another partner's order a 404
before the fulfilment process is asked, a return for goods never shipped a 422 and nothing asked
of it; shipment.confirmed and return.credited queued as webhooks for the order's partner only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from contracts.events import ReturnCreditedV1, ShipmentConfirmedV1
from contracts.scopes import MARKETPLACE_ORDERS_WRITE, MARKETPLACE_SHIPMENTS_READ, MARKETPLACE_WEBHOOKS_WRITE
from experience_apis.marketplace.app import create_app
from experience_apis.marketplace.fulfillment import GROUP, fulfillment_handler
from experience_apis.marketplace.settings import MarketplaceSettings
from service_kit.events import new_event
from service_kit.events.batch import apply_events, each_event
from service_kit.http import RoutingTransport
from service_kit.webhooks import WebhookDelivery
from tests.support.tokens import Bearer, static_verifier
from tests.unit.experience_apis.fulfillment_fakes import T0, FakeFulfillmentApi, qty
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi, order_body_v2

SCOPES = (MARKETPLACE_ORDERS_WRITE, MARKETPLACE_SHIPMENTS_READ, MARKETPLACE_WEBHOOKS_WRITE)
ACME = Bearer(*SCOPES, client_id="acme-market", partner_id="acme-market", channel="marketplace")
ZENITH = Bearer(*SCOPES, client_id="zenith-market", partner_id="zenith-market", channel="marketplace")
HOOKS = "hooks.acme.test"
PROBLEM = "application/problem+json"


@dataclass
class Channel:
    app: FastAPI
    client: httpx.AsyncClient
    fulfillment: FakeFulfillmentApi
    order_id: str


@pytest.fixture
async def channel(tmp_path: Path) -> AsyncIterator[Channel]:
    orders, fulfillment = FakeOrdersApi(), FakeFulfillmentApi()
    settings = MarketplaceSettings.load(
        "marketplace",
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        orders_url="http://orders.test",
        fulfillment_url="http://fulfillment.test",
        client_id="",
        client_secret="",
        webhook_allow_hosts=[HOOKS],
    )
    transport = RoutingTransport(
        {"orders.test": httpx.MockTransport(orders.handle), "fulfillment.test": httpx.MockTransport(fulfillment.handle)}
    )
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mp.test") as client:
            submitted = await client.post("/v2/orders", json=order_body_v2(), headers=ACME | {"Idempotency-Key": "o1"})
            assert submitted.status_code == 202, submitted.text
            order_id = submitted.json()["order_reference"]
            fulfillment.order_partners[order_id] = "acme-market"
            yield Channel(app=app, client=client, fulfillment=fulfillment, order_id=order_id)


def shipment(order_id: str, shipment_id: str = "ASN-1", *, line_no: int = 1, quantity: int = 2) -> dict[str, Any]:
    sku = {1: "WIDGET-BLUE", 2: "CABLE-USB-C"}[line_no]
    return {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": f"JD-{shipment_id}",
        "shipped_at": T0,
        "lines": [{"line_no": line_no, "sku": sku, "quantity": qty(quantity)}],
        "partner_id": "northwind-3pl",
        "status": "invoiced",
        "invoice_number": "INV-000001",
        "created_at": T0,
    }


def fulfillment_calls(channel: Channel) -> list[httpx.Request]:
    return list(channel.fulfillment.received)


async def test_the_shipments_of_an_order_carry_tracking_and_the_partners_seller_skus(channel: Channel) -> None:
    channel.fulfillment.shipments["ASN-1"] = shipment(channel.order_id)
    channel.fulfillment.shipments["ASN-2"] = shipment(channel.order_id, "ASN-2", line_no=2, quantity=1)

    resp = await channel.client.get("/v2/orders/ACME-100234/shipments", headers=ACME)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["marketplace_order_id"] == "ACME-100234"
    assert [(s["shipment_id"], s["tracking_number"], s["lines"]) for s in body["items"]] == [
        ("ASN-1", "JD-ASN-1", [{"seller_sku": "ACME-WB", "quantity": 2}]),
        ("ASN-2", "JD-ASN-2", [{"seller_sku": "ACME-USB", "quantity": 1}]),
    ]
    assert channel.fulfillment.received[-1].headers["x-interchange-partner"] == "acme-market"


async def test_an_order_with_nothing_shipped_has_no_shipments_nor_invoices(channel: Channel) -> None:
    channel.fulfillment.order_partners.clear()  # the fulfilment process has not heard of it yet

    shipments = await channel.client.get("/v2/orders/ACME-100234/shipments", headers=ACME)
    invoices = await channel.client.get("/v2/orders/ACME-100234/invoices", headers=ACME)

    assert (shipments.status_code, shipments.json()["items"]) == (200, [])
    assert (invoices.status_code, invoices.json()["items"]) == (200, [])


async def test_invoices_are_in_v2_money(channel: Channel) -> None:
    channel.fulfillment.invoices[channel.order_id] = [
        {
            "invoice_number": "INV-000001",
            "order_id": channel.order_id,
            "erp_order_number": "SO-000001",
            "shipment_id": "ASN-1",
            "currency": "EUR",
            "lines": [
                {
                    "line_no": 1,
                    "sku": "WIDGET-BLUE",
                    "quantity": qty(2),
                    "unit_price": {"amount": "19.99", "currency": "EUR"},
                    "line_total": {"amount": "39.98", "currency": "EUR"},
                }
            ],
            "total": {"amount": "39.98", "currency": "EUR"},
            "issued_at": T0,
        }
    ]

    resp = await channel.client.get("/v2/orders/ACME-100234/invoices", headers=ACME)

    assert resp.status_code == 200, resp.text
    (invoice,) = resp.json()["items"]
    assert invoice["total"] == {"amount": "39.98", "currency": "EUR"}
    assert invoice["lines"][0]["seller_sku"] == "ACME-WB"


async def test_another_partners_order_is_not_found_and_the_fulfilment_process_is_not_asked(channel: Channel) -> None:
    for path in ("shipments", "invoices"):
        resp = await channel.client.get(f"/v2/orders/ACME-100234/{path}", headers=ZENITH)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == PROBLEM
    returned = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(), headers=ZENITH | {"Idempotency-Key": "r-z"}
    )
    assert returned.status_code == 404
    assert fulfillment_calls(channel) == []


def rma(seller_sku: str = "ACME-WB", quantity: int = 1) -> dict[str, Any]:
    return {
        "return_reference": "RMA-1",
        "lines": [{"seller_sku": seller_sku, "quantity": quantity, "reason": "arrived damaged"}],
    }


async def test_a_return_of_shipped_goods_is_authorised_and_a_retry_replays_it(channel: Channel) -> None:
    channel.fulfillment.shipments["ASN-1"] = shipment(channel.order_id)

    first = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(), headers=ACME | {"Idempotency-Key": "r1"}
    )
    again = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(), headers=ACME | {"Idempotency-Key": "r1"}
    )

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "authorised"
    assert first.json()["lines"] == [{"seller_sku": "ACME-WB", "quantity": 1, "reason": "arrived damaged"}]
    assert again.json() == first.json()
    assert first.json()["return_reference"] == "RMA-1"
    sent = json.loads(channel.fulfillment.received[0].content)
    assert sent == {
        "return_id": "acme-market:RMA-1",  # the partner's reference, namespaced by the partner
        "order_id": channel.order_id,
        "lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": qty(1), "reason": "arrived damaged"}],
    }
    assert channel.fulfillment.received[0].headers["idempotency-key"] == "marketplace:acme-market:r1"


async def test_a_return_reference_another_partner_used_is_still_this_partners_own(channel: Channel) -> None:
    channel.fulfillment.shipments["ASN-1"] = shipment(channel.order_id)
    # Another partner's or channel's return under the same reference (as the fulfilment process held
    # it before references were namespaced by partner): its 409 told this partner it exists.
    channel.fulfillment.returns["RMA-1"] = {"return_id": "RMA-1", "order_id": "ord_z"}

    resp = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(), headers=ACME | {"Idempotency-Key": "r-same"}
    )

    assert resp.status_code == 201, resp.text
    assert resp.json()["return_reference"] == "RMA-1"
    assert channel.fulfillment.returns["RMA-1"]["order_id"] == "ord_z"  # theirs, untouched


async def test_a_return_above_what_shipped_or_of_goods_never_shipped_is_refused(channel: Channel) -> None:
    channel.fulfillment.shipments["ASN-1"] = shipment(channel.order_id)

    over = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(quantity=3), headers=ACME | {"Idempotency-Key": "r-over"}
    )
    never = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma("ACME-USB"), headers=ACME | {"Idempotency-Key": "r-never"}
    )
    unknown = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma("ACME-GP"), headers=ACME | {"Idempotency-Key": "r-unknown"}
    )

    assert over.status_code == 422 and over.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in over.json()["errors"]] == ["#/lines/0"]
    assert never.status_code == 422
    assert unknown.status_code == 422
    assert [e["pointer"] for e in unknown.json()["errors"]] == ["#/lines/0/seller_sku"]
    assert channel.fulfillment.returns == {}
    assert len(fulfillment_calls(channel)) == 2  # the unknown seller SKU was refused here


async def test_a_return_when_the_fulfilment_process_knows_nothing_of_the_order_is_never_shipped(
    channel: Channel,
) -> None:
    channel.fulfillment.order_partners.clear()

    resp = await channel.client.post(
        "/v2/orders/ACME-100234/returns", json=rma(), headers=ACME | {"Idempotency-Key": "r"}
    )

    assert resp.status_code == 422
    assert "Nothing of this order has shipped yet" in resp.json()["detail"]


async def test_shipment_and_credit_events_are_queued_for_the_orders_partner_only(channel: Channel) -> None:
    subscribed = await channel.client.post(
        "/v2/webhooks",
        json={"url": f"https://{HOOKS}/in", "event_types": ["shipment.confirmed", "return.credited"]},
        headers=ACME,
    )
    assert subscribed.status_code == 201, subscribed.text
    confirmed = ShipmentConfirmedV1(
        shipment_id="ASN-1",
        order_id=channel.order_id,
        channel="marketplace",
        channel_order_id="ACME-100234",
        partner="acme-market",
        warehouse="WH-3PL",
        carrier="DHL",
        tracking_number="JD-1",
        lines=[{"line_no": 2, "sku": "CABLE-USB-C", "quantity": "1"}],
        invoice_number="INV-000001",
    )
    credited = ReturnCreditedV1(
        return_id="acme-market:RMA-1",
        order_id=channel.order_id,
        channel="marketplace",
        channel_order_id="ACME-100234",
        partner="acme-market",
        credit_memo_number="CM-000001",
        total="19.99",
        currency="EUR",
    )
    storefront = confirmed.model_copy(update={"channel": "storefront", "shipment_id": "ASN-9"})
    handler = each_event(fulfillment_handler())
    for data, subject in ((confirmed, "shipment/ASN-1"), (credited, "return/RMA-1"), (storefront, "shipment/ASN-9")):
        event = new_event(data=data, source="/fulfillment", subject=subject)
        await apply_events(db=channel.app.state.db, group=GROUP, events=[event], handler=handler)

    async with channel.app.state.db.sessions() as session:
        rows = (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.created_at))).scalars().all()
    bodies = {r.event_type: json.loads(r.body)["data"] for r in rows}
    assert sorted(bodies) == ["return.credited", "shipment.confirmed"]
    assert bodies["shipment.confirmed"]["tracking_number"] == "JD-1"
    assert bodies["shipment.confirmed"]["lines"] == [{"seller_sku": "ACME-USB", "quantity": 1}]
    assert bodies["return.credited"]["total"] == {"amount": "19.99", "currency": "EUR"}
    assert bodies["return.credited"]["return_reference"] == "RMA-1"
    assert {r.owner for r in rows} == {"acme-market"}
