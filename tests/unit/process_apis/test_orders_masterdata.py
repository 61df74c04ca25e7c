"""The copy of the ERP's master data in the orders process (and, at the end, the retired second
outbox of older databases): the saga prices and checks credit on
it without calling the ERP, ERP events keep it current (an older version never wins), a stale
copy is refreshed by a fallback call, and intake keeps taking orders while the ERP is down."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.events import CustomerTermsChangedV1, PriceListChangedV1, PriceListLine
from process_apis.orders import masterdata_repository
from process_apis.orders.app import create_app
from process_apis.orders.clients import ErpClient
from process_apis.orders.flows.worker import process_pending_orders
from service_kit.app import upstream
from service_kit.errors import UpstreamUnavailable
from service_kit.events import new_event
from service_kit.events.consumer import apply_event
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, FakeTier
from tests.unit.process_apis.saga_helpers import order_row, submit


def erp_calls(orders: Orders, method: str, prefix: str) -> int:
    return sum(1 for r in orders.tier.requests if r.method == method and r.url.path.startswith(prefix))


async def deliver(orders: Orders, data: CustomerTermsChangedV1 | PriceListChangedV1, *, version: int) -> None:
    subject = f"customer/{data.customer_id}" if isinstance(data, CustomerTermsChangedV1) else f"pricelist/{data.code}"
    event = new_event(data=data, source="urn:interchange:system:erp", subject=subject, entity_version=version)
    handler = orders.app.state.master_data.event_handlers()[data.event_type]
    await apply_event(db=orders.app.state.db, group="orders-masterdata", event=event, handler=handler)


def cable_price_list(price: str, *, code: str = "LIST") -> PriceListChangedV1:
    lines = [
        PriceListLine(sku=sku, unit="EA", unit_price=price, status="active") for sku in ("CABLE-USB-C", "WIDGET-BLUE")
    ]
    return PriceListChangedV1(code=code, currency="EUR", lines=lines)


async def test_the_saga_prices_and_checks_credit_on_the_copy_without_an_erp_call(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("CABLE-USB-C", "3")]))
    reads = erp_calls(orders, "GET", "/v1/")
    assert await process_pending_orders(orders.app) == 1
    assert erp_calls(orders, "GET", "/v1/") == reads  # intake's lookups were enough
    assert erp_calls(orders, "POST", "/v1/price-quotes") == 0
    order = (await orders.get(order_id)).json()
    assert order["status"] == "released"
    assert order["total"] == {"amount": "28.50", "currency": "EUR"}


async def test_a_newer_price_list_event_reprices_and_an_older_one_is_ignored(orders: Orders) -> None:
    first = await submit(orders, order_body("MP-1", lines=[line("CABLE-USB-C", "2")]))
    await deliver(orders, cable_price_list("7.00"), version=5)
    await deliver(orders, cable_price_list("1.00"), version=4)  # late: older than what is held
    assert await process_pending_orders(orders.app) == 1
    assert (await orders.get(first)).json()["total"] == {"amount": "14.00", "currency": "EUR"}
    booked = orders.tier.sales_orders[first]["lines"][0]["unit_price"]
    assert booked == {"amount": "7.00", "currency": "EUR"}


async def test_a_lowered_credit_limit_event_holds_the_next_order_for_review(orders: Orders) -> None:
    body = order_body("MP-2", customer_id="C-2001", lines=[line("GADGET-PRO", "2")])  # 268.20 after 10 %
    order_id = await submit(orders, body)
    changed = CustomerTermsChangedV1(
        customer_id="C-2001",
        name="Borealis Hardware GmbH",
        kind="b2b",
        status="active",
        currency="EUR",
        credit_limit="100.00",
        price_list="DISCOUNT-0.10",
    )
    await deliver(orders, changed, version=1)
    assert await process_pending_orders(orders.app) == 1
    row = await order_row(orders, order_id)
    assert (row.status, row.hold_kind) == ("on_hold", "credit_review")
    assert "credit limit 100.00 EUR exceeded" in (row.status_reason or "")
    assert orders.tier.reservations == {}


async def test_a_stale_copy_is_refreshed_by_one_call_before_the_saga_uses_it(orders: Orders) -> None:
    order_id = await submit(orders, order_body(lines=[line("CABLE-USB-C", "1")]))
    orders.tier.items["CABLE-USB-C"]["list_price"]["amount"] = "11.00"  # changed, no event reached us
    orders.app.state.master_data.max_age = 0
    assert await process_pending_orders(orders.app) == 1
    assert (await orders.get(order_id)).json()["total"] == {"amount": "11.00", "currency": "EUR"}
    assert erp_calls(orders, "GET", "/v1/price-lists") >= 2  # intake's, then the saga's refresh


async def test_intake_takes_orders_while_the_erp_is_down_when_the_copy_has_what_it_needs(orders: Orders) -> None:
    await submit(orders, order_body("MP-10"))  # the copy now holds C-1001 and the price list
    orders.app.state.master_data.max_age = 0  # even a stale copy will do for validation
    orders.tier.down.add(ERP)
    resp = await orders.submit(order_body("MP-11"))
    assert resp.status_code == 202, resp.text
    unknown = await orders.submit(order_body("MP-12", customer_id="C-1002"))  # never seen: cannot check
    assert unknown.status_code in (502, 503)  # the ERP cannot be asked: try again later
    assert unknown.headers["content-type"].startswith("application/problem+json")
    invalid = await orders.submit(order_body("MP-13", lines=[line("LEGACY-DIAL")]))
    assert invalid.status_code == 422  # still validated on the copy
    assert "LEGACY-DIAL is discontinued" in invalid.json()["detail"]


async def test_the_snapshot_fills_the_copy_with_every_customer_and_price_list(orders: Orders) -> None:
    from process_apis.orders.clients import ErpClient
    from service_kit.app import upstream

    customers, price_lists = await orders.app.state.master_data.load_snapshot(ErpClient(upstream(orders.app, "erp")))
    assert (customers, price_lists) == (4, 2)
    orders.tier.down.add(ERP)
    terms = await orders.app.state.master_data.terms(None, "C-2001")  # fresh: no call needed
    assert terms is not None and terms.price_list == "DISCOUNT-0.10"
    assert terms.refreshed_at <= datetime.now(UTC)


async def test_an_older_database_loses_its_second_outbox_on_start(tmp_path: Path, tier: FakeTier) -> None:
    settings = orders_settings(tmp_path)
    database = sqlite3.connect(tmp_path / "orders.db")
    database.execute("CREATE TABLE order_events (seq INTEGER PRIMARY KEY, id VARCHAR(64), published_at DATETIME)")
    database.execute("INSERT INTO order_events (id) VALUES ('never-relayed')")
    database.commit()
    database.close()
    app = create_app(settings, transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        pass
    with sqlite3.connect(tmp_path / "orders.db") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "order_events" not in tables and "orders" in tables and "event_outbox" in tables


async def test_orders_asking_for_the_same_terms_at_once_share_one_read(
    orders: Orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = orders.app.state.master_data
    erp = ErpClient(upstream(orders.app, "erp"))
    await master.terms(erp, "C-1001")  # the copy holds it (a call when the snapshot did not)
    reads = 0
    read_customer = masterdata_repository.get_customer

    async def counted(session: Any, *, customer_id: str) -> Any:
        nonlocal reads
        reads += 1
        return await read_customer(session, customer_id=customer_id)

    monkeypatch.setattr(masterdata_repository, "get_customer", counted)
    master.forget("customer/C-1001")  # as when the memo runs out

    held = await asyncio.gather(*(master.terms(erp, "C-1001") for _ in range(20)))

    assert reads == 1
    assert {terms.customer.id for terms in held} == {"C-1001"}


async def test_orders_finding_the_copy_stale_at_once_share_one_fallback_call(orders: Orders) -> None:
    """A burst that meets a stale (or not yet loaded) copy makes one ERP call per state between
    them, not one each: under an ERP call quota, one each queued the burst behind the pacer."""
    master = orders.app.state.master_data
    erp = ErpClient(upstream(orders.app, "erp"))
    master.max_age = 0  # every state held is stale: each caller needs the fallback call
    terms_before = erp_calls(orders, "GET", "/v1/customer-terms/C-1001")
    lists_before = erp_calls(orders, "GET", "/v1/price-lists")

    held = await asyncio.gather(*(master.terms(erp, "C-1001") for _ in range(20)))
    prices = await asyncio.gather(*(master.prices(erp, "LIST") for _ in range(20)))

    assert erp_calls(orders, "GET", "/v1/customer-terms/C-1001") == terms_before + 1
    assert erp_calls(orders, "GET", "/v1/price-lists") == lists_before + 1
    assert {terms.customer.id for terms in held} == {"C-1001"}
    assert {p.code for p in prices} == {"LIST"} and all("CABLE-USB-C" in p.lines for p in prices)


async def test_a_shared_fallback_call_that_fails_fails_every_order_waiting_on_it(orders: Orders) -> None:
    master = orders.app.state.master_data
    erp = ErpClient(upstream(orders.app, "erp"))
    master.max_age = 0
    orders.tier.down.add(ERP)
    outcomes = await asyncio.gather(*(master.terms(erp, "C-1002") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(o, UpstreamUnavailable) for o in outcomes), outcomes
    orders.tier.down.clear()
    terms = await master.terms(erp, "C-1002")  # the failed call is not kept: the next one asks again
    assert terms is not None and terms.customer.id == "C-1002"
