"""B2B quotes (issue 12), with the orders process API faked: the reseller's own prices and totals
kept until valid_until and replayed by Idempotency-Key; another reseller's quote is not there; a
purchase order naming a quote is refused, with nothing submitted, once the quote expired, a line is
not on it or its price moved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from sqlalchemy import update

from contracts.scopes import B2B_CATALOG_READ, B2B_ORDERS_WRITE
from experience_apis.b2b.app import create_app
from experience_apis.b2b.models import Quote
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings
from tests.support.tokens import Bearer, static_verifier
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi

BOREALIS = Bearer(B2B_CATALOG_READ, B2B_ORDERS_WRITE, client_id="borealis-hw", partner_id="borealis-hw", channel="b2b")
CLOSED = Bearer(B2B_CATALOG_READ, B2B_ORDERS_WRITE, client_id="closed-shop", partner_id="closed-shop", channel="b2b")


def units(n: int, unit: str = "EA") -> dict[str, str]:
    return {"value": str(n), "unit": unit}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


@dataclass
class PricedOrdersApi(FakeOrdersApi):
    """The fake orders API, with the account's price list (TRADE-10) as the orders process serves it."""

    prices: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "WIDGET-BLUE": ("17.99", "active"),
            "CABLE-USB-C": ("8.55", "active"),
            "LEGACY-DIAL": ("27.00", "discontinued"),
        }
    )

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/prices"):
            items = [
                {"sku": sku, "unit": "EA", "unit_price": eur(price), "status": status}
                for sku, (price, status) in self.prices.items()
            ]
            body = {"customer_id": "C-2001", "price_list": "TRADE-10", "currency": "EUR", "version": 1, "items": items}
            return httpx.Response(200, json=body)
        return super().handle(request)


@dataclass
class B2b:
    app: Any
    client: httpx.AsyncClient
    orders: PricedOrdersApi


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
async def b2b(tmp_path: Path) -> AsyncIterator[B2b]:
    orders = PricedOrdersApi()
    settings = ServiceSettings.load(
        "b2b",
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        orders_url="http://orders.test",
        client_id="",
        client_secret="",
    )
    app = create_app(
        settings,
        transport=RoutingTransport({"orders.test": httpx.MockTransport(orders.handle)}),
        verifier=static_verifier(),
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b2b.test") as client:
            yield B2b(app=app, client=client, orders=orders)


async def quote(b2b: B2b, key: str, *lines: tuple[str, int]) -> httpx.Response:
    body = {"lines": [{"sku": sku, "quantity": units(n)} for sku, n in lines]}
    return await b2b.client.post("/v1/quotes", json=body, headers=BOREALIS | {"Idempotency-Key": key})


async def po(b2b: B2b, number: str, quote_id: str, *lines: tuple[str, int]) -> httpx.Response:
    body = {"po_number": number, "quote_id": quote_id, "lines": [{"sku": s, "quantity": units(n)} for s, n in lines]}
    return await b2b.client.post("/v1/purchase-orders", json=body, headers=BOREALIS | {"Idempotency-Key": number})


async def test_a_quote_prices_the_lines_at_the_resellers_prices_and_is_kept(b2b: B2b) -> None:
    before = datetime.now(UTC)
    made = await quote(b2b, "q-1", ("WIDGET-BLUE", 10), ("CABLE-USB-C", 25))
    again = await quote(b2b, "q-1", ("WIDGET-BLUE", 10), ("CABLE-USB-C", 25))
    assert made.status_code == 201, made.text
    body = made.json()
    assert [(line["sku"], line["unit_price"], line["line_total"]) for line in body["lines"]] == [
        ("WIDGET-BLUE", eur("17.99"), eur("179.90")),
        ("CABLE-USB-C", eur("8.55"), eur("213.75")),
    ]
    assert body["total"] == eur("393.65")
    assert datetime.fromisoformat(body["valid_until"]) >= before + timedelta(hours=72)
    assert again.status_code == 201 and again.json() == body  # replayed, not a second quote
    read = await b2b.client.get(f"/v1/quotes/{body['quote_id']}", headers=BOREALIS)
    theirs = await b2b.client.get(f"/v1/quotes/{body['quote_id']}", headers=CLOSED)
    assert read.json() == body
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"


async def test_lines_that_cannot_be_quoted_are_each_named(b2b: B2b) -> None:
    resp = await quote(b2b, "q-2", ("WIDGET-BLUE", 1), ("LEGACY-DIAL", 1), ("NO-SUCH", 1))
    assert resp.status_code == 422
    assert [(e["pointer"], e["detail"]) for e in resp.json()["errors"]] == [
        ("#/lines/1/sku", "'LEGACY-DIAL' is discontinued."),
        ("#/lines/2/sku", "'NO-SUCH' is not in your catalog."),
    ]


async def test_a_purchase_order_holding_to_its_quote_is_submitted(b2b: B2b) -> None:
    quote_id = (await quote(b2b, "q-3", ("WIDGET-BLUE", 10))).json()["quote_id"]
    resp = await po(b2b, "PO-Q-1", quote_id, ("WIDGET-BLUE", 12))
    assert resp.status_code == 202, resp.text
    assert len(b2b.orders.posted()) == 1


async def test_a_moved_price_an_unquoted_line_an_expired_or_anothers_quote_refuse_the_order(b2b: B2b) -> None:
    quote_id = (await quote(b2b, "q-4", ("WIDGET-BLUE", 10))).json()["quote_id"]
    unquoted = await po(b2b, "PO-Q-2", quote_id, ("CABLE-USB-C", 1))
    b2b.orders.prices["WIDGET-BLUE"] = ("18.49", "active")
    moved = await po(b2b, "PO-Q-3", quote_id, ("WIDGET-BLUE", 1))
    b2b.orders.prices["WIDGET-BLUE"] = ("17.99", "active")
    async with b2b.app.state.db.transaction() as session:
        await session.execute(update(Quote).values(valid_until=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await po(b2b, "PO-Q-4", quote_id, ("WIDGET-BLUE", 1))
    other = (await quote(b2b, "q-5", ("WIDGET-BLUE", 1))).json()["quote_id"]
    body = {"po_number": "PO-Q-5", "quote_id": other, "lines": [{"sku": "WIDGET-BLUE", "quantity": units(1)}]}
    anothers = await b2b.client.post("/v1/purchase-orders", json=body, headers=CLOSED | {"Idempotency-Key": "x"})

    for resp in (unquoted, moved, expired, anothers):
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
    assert unquoted.json()["errors"][0]["pointer"] == "#/lines/0/sku"
    assert "Quoted at 17.99, now 18.49" in moved.json()["errors"][0]["detail"]
    assert expired.json()["errors"][0]["pointer"] == "#/quote_id" and "expired" in expired.json()["detail"]
    assert anothers.json()["errors"][0]["pointer"] == "#/quote_id"
    assert b2b.orders.posted() == []


async def test_a_retry_of_an_accepted_purchase_order_replays_it_after_its_quote_expired(b2b: B2b) -> None:
    # The quote was checked before the key: a reseller whose answer was lost, retrying after the
    # quote's valid_until, was told 422 "expired" for an order the orders process had accepted,
    # and would order again under a new quote (twice the goods).
    quote_id = (await quote(b2b, "q-6", ("WIDGET-BLUE", 10))).json()["quote_id"]
    first = await po(b2b, "PO-Q-6", quote_id, ("WIDGET-BLUE", 10))
    async with b2b.app.state.db.transaction() as session:
        await session.execute(update(Quote).values(valid_until=datetime.now(UTC) - timedelta(seconds=1)))

    again = await po(b2b, "PO-Q-6", quote_id, ("WIDGET-BLUE", 10))

    assert first.status_code == 202, first.text
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert len(b2b.orders.posted()) == 1
