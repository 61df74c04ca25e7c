"""GET /v1/accounts/{customer_id}/prices and /credit: an account's own prices and its credit
headroom, as the pricing and credit check of the saga count them (process_apis.orders.accounts)."""

from __future__ import annotations

from tests.unit.process_apis.conftest import Orders, as_service, line, order_body
from tests.unit.process_apis.saga_helpers import run_until_stopped, submit


async def read(orders: Orders, path: str) -> dict:
    resp = await orders.client.get(f"/v1/accounts{path}", headers=as_service("orders:read", partner=None))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_an_account_sees_its_own_price_list(orders: Orders) -> None:
    trade = await read(orders, "/C-2001/prices")
    retail = await read(orders, "/C-1001/prices")

    trade_prices = {i["sku"]: i["unit_price"] for i in trade["items"]}
    retail_prices = {i["sku"]: i["unit_price"] for i in retail["items"]}
    assert trade["price_list"] != retail["price_list"]
    assert retail_prices["WIDGET-BLUE"] == {"amount": "19.99", "currency": "EUR"}
    assert trade_prices["WIDGET-BLUE"] == {"amount": "17.99", "currency": "EUR"}  # 10 % off, as priced


async def test_the_credit_headroom_is_the_limit_less_the_open_orders(orders: Orders) -> None:
    before = await read(orders, "/C-2001/credit")
    assert before["credit_limit"] == {"amount": "5000.00", "currency": "EUR"}
    assert before["open_orders"] == {"amount": "0.00", "currency": "EUR"}
    assert before["credit_headroom"] == {"amount": "5000.00", "currency": "EUR"}

    body = order_body("PO-1", channel="b2b", customer_id="C-2001", lines=[line("CABLE-USB-C", "10")])
    await submit(orders, body, partner="borealis")
    await run_until_stopped(orders)
    after = await read(orders, "/C-2001/credit")

    total = (await orders.find(partner="borealis"))[0]["total"]
    assert after["open_orders"] == total
    assert after["credit_headroom"]["amount"] == f"{5000 - float(total['amount']):.2f}"


async def test_an_unknown_account_is_a_404_and_the_read_needs_a_scope(orders: Orders) -> None:
    resp = await orders.client.get("/v1/accounts/C-9999/credit", headers=as_service("orders:read", partner=None))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    denied = await orders.client.get("/v1/accounts/C-2001/prices", headers=as_service("orders:admin", partner=None))
    assert denied.status_code == 403
