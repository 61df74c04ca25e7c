from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from system_apis.erp.models import ErpCustomer, ErpItem, ErpSalesOrder, ErpSalesOrderLine
from system_apis.erp.seed import seed_demo
from tests.support.tokens import Bearer, bearer

READ, WRITE = Bearer("erp:read"), Bearer("erp:write")


def qty(value: str, unit: str = "EA") -> dict[str, str]:
    return {"value": value, "unit": unit}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def sales_order(reference: str = "ord_0001", customer: str = "C-1001", **lines: int) -> dict[str, Any]:
    lines = lines or {"WIDGET-BLUE": 2}
    return {
        "external_reference": reference,
        "customer_id": customer,
        "currency": "EUR",
        "lines": [
            {"sku": sku.replace("_", "-"), "quantity": qty(str(n)), "unit_price": eur("19.99")}
            for sku, n in lines.items()
        ],
    }


async def count(app: Any, model: Any) -> int:
    async with app.state.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_item_is_mapped_from_the_erp_item_number_unit_and_cents(erp: httpx.AsyncClient, app: Any) -> None:
    resp = await erp.get("/v1/items/WIDGET-BLUE", headers=READ)
    assert resp.status_code == 200
    assert resp.json() == {
        "sku": "WIDGET-BLUE",
        "name": "Blue widget",
        "unit": "EA",
        "status": "active",
        "list_price": {"amount": "19.99", "currency": "EUR"},
    }
    async with app.state.db.transaction() as session:
        native = await session.get(ErpItem, "100-2001")
    assert (native.catalog_sku, native.base_uom, native.list_price_cents) == ("WIDGET-BLUE", "PCS", 1999)


async def test_blocked_item_is_discontinued_and_unknown_item_is_404(erp: httpx.AsyncClient) -> None:
    dial = await erp.get("/v1/items/LEGACY-DIAL", headers=READ)
    assert dial.json()["status"] == "discontinued"
    assert dial.json()["list_price"] == eur("30.00")
    missing = await erp.get("/v1/items/NOPE", headers=READ)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_item_list_answers_only_the_skus_that_exist(erp: httpx.AsyncClient) -> None:
    resp = await erp.get("/v1/items", params={"sku": ["GADGET-PRO", "NOPE", "CABLE-USB-C"]}, headers=READ)
    assert resp.status_code == 200
    assert [(i["sku"], i["list_price"]["amount"]) for i in resp.json()["items"]] == [
        ("GADGET-PRO", "149.00"),
        ("CABLE-USB-C", "9.50"),
    ]
    too_many = await erp.get("/v1/items", params={"sku": [f"SKU-{n}" for n in range(101)]}, headers=READ)
    assert too_many.status_code == 422


async def test_customer_carries_kind_status_and_credit_limit(erp: httpx.AsyncClient) -> None:
    borealis = await erp.get("/v1/customers/C-2001", headers=READ)
    assert borealis.json() == {
        "id": "C-2001",
        "name": "Borealis Hardware GmbH",
        "kind": "b2b",
        "status": "active",
        "currency": "EUR",
        "credit_limit": {"amount": "5000.00", "currency": "EUR"},
        "email": None,
    }
    closed = await erp.get("/v1/customers/C-2002", headers=READ)
    assert (closed.json()["kind"], closed.json()["status"]) == ("b2b", "inactive")
    acme = await erp.get("/v1/customers/C-1001", headers=READ)
    assert (acme.json()["kind"], acme.json()["credit_limit"]) == ("b2c", None)
    assert (await erp.get("/v1/customers/C-9999", headers=READ)).status_code == 404


async def test_price_quote_applies_the_customers_price_list(erp: httpx.AsyncClient) -> None:
    lines = [{"sku": "WIDGET-BLUE", "quantity": qty("2")}, {"sku": "GADGET-PRO", "quantity": qty("1")}]
    trade = await erp.post(
        "/v1/price-quotes", json={"customer_id": "C-2001", "currency": "EUR", "lines": lines}, headers=READ
    )
    assert trade.status_code == 200, trade.text
    assert [(q["unit_price"]["amount"], q["line_total"]["amount"]) for q in trade.json()["lines"]] == [
        ("17.99", "35.98"),
        ("134.10", "134.10"),
    ]
    assert trade.json()["total"] == eur("170.08")
    retail = await erp.post(
        "/v1/price-quotes", json={"customer_id": "C-1001", "currency": "EUR", "lines": lines}, headers=READ
    )
    assert retail.json()["lines"][0] == {
        "customer_id": "C-1001",
        "sku": "WIDGET-BLUE",
        "quantity": qty("2"),
        "unit_price": eur("19.99"),
        "line_total": eur("39.98"),
    }
    assert retail.json()["total"] == eur("188.98")


async def test_price_quote_names_unknown_sku_and_customer(erp: httpx.AsyncClient) -> None:
    unknown_sku = {"customer_id": "C-2001", "currency": "EUR", "lines": [{"sku": "NOPE", "quantity": qty("1")}]}
    resp = await erp.post("/v1/price-quotes", json=unknown_sku, headers=READ)
    assert resp.status_code == 422
    assert resp.json()["type"] == "urn:interchange:problem:business-rule-violation"
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/lines/0/sku"]
    assert "NOPE" in resp.json()["errors"][0]["detail"]
    unknown_customer = {**unknown_sku, "customer_id": "C-9999", "lines": [{"sku": "WIDGET-BLUE", "quantity": qty("1")}]}
    resp = await erp.post("/v1/price-quotes", json=unknown_customer, headers=READ)
    assert resp.status_code == 422
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/customer_id"]


async def test_sales_order_is_booked_once_per_external_reference(erp: httpx.AsyncClient, app: Any) -> None:
    first = await erp.post("/v1/sales-orders", json=sales_order(), headers=WRITE)
    assert first.status_code == 201, first.text
    assert first.json()["number"] == "SO-000001"
    assert first.json()["status"] == "open"
    assert first.json()["total"] == eur("39.98")
    again = await erp.post("/v1/sales-orders", json=sales_order(), headers=WRITE)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await count(app, ErpSalesOrder) == 1
    async with app.state.db.transaction() as session:
        line = (await session.execute(select(ErpSalesOrderLine))).scalar_one()
    assert (line.line_no, line.item_no, line.qty, line.unit_price_cents) == (10, "100-2001", 2, 1999)
    found = await erp.get("/v1/sales-orders", params={"external_reference": "ord_0001"}, headers=READ)
    assert found.json() == {"items": [first.json()]}
    assert (await erp.get("/v1/sales-orders/SO-000001", headers=READ)).json() == first.json()
    none = await erp.get("/v1/sales-orders", params={"external_reference": "other"}, headers=READ)
    assert none.json() == {"items": []}


async def test_same_reference_with_other_lines_is_a_409(erp: httpx.AsyncClient, app: Any) -> None:
    assert (await erp.post("/v1/sales-orders", json=sales_order(), headers=WRITE)).status_code == 201
    other = await erp.post("/v1/sales-orders", json=sales_order(WIDGET_BLUE=3), headers=WRITE)
    assert other.status_code == 409
    assert other.json()["type"] == "urn:interchange:problem:conflict"
    assert "SO-000001" in other.json()["detail"]
    assert await count(app, ErpSalesOrder) == 1


async def test_sales_order_for_a_blocked_customer_or_item_is_refused(erp: httpx.AsyncClient, app: Any) -> None:
    blocked = await erp.post("/v1/sales-orders", json=sales_order(customer="C-2002", LEGACY_DIAL=1), headers=WRITE)
    assert blocked.status_code == 422
    assert [e["pointer"] for e in blocked.json()["errors"]] == ["#/customer_id", "#/lines/0/sku"]
    assert await count(app, ErpSalesOrder) == 0


async def test_cancel_is_idempotent_and_unknown_order_is_404(erp: httpx.AsyncClient) -> None:
    number = (await erp.post("/v1/sales-orders", json=sales_order(), headers=WRITE)).json()["number"]
    first = await erp.post(f"/v1/sales-orders/{number}/cancel", headers=WRITE)
    second = await erp.post(f"/v1/sales-orders/{number}/cancel", headers=WRITE)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "cancelled"
    assert (await erp.get(f"/v1/sales-orders/{number}", headers=READ)).json()["status"] == "cancelled"
    assert (await erp.post("/v1/sales-orders/SO-999999/cancel", headers=WRITE)).status_code == 404
    assert (await erp.get("/v1/sales-orders/garbage", headers=READ)).status_code == 404


async def test_scopes_are_enforced(erp: httpx.AsyncClient) -> None:
    assert (await erp.get("/v1/items/WIDGET-BLUE")).status_code == 401
    assert (await erp.get("/v1/items/WIDGET-BLUE", headers=bearer("wms:read"))).status_code == 403
    refused = await erp.post("/v1/sales-orders", json=sales_order(), headers=READ)
    assert refused.status_code == 403
    assert "erp:write" in refused.json()["detail"]


async def test_unknown_fields_are_refused(erp: httpx.AsyncClient) -> None:
    body = {"customer_id": "C-2001", "currency": "EUR", "lines": [{"sku": "WIDGET-BLUE", "quantity": qty("1")}]}
    resp = await erp.post("/v1/price-quotes", json={**body, "discount": "50"}, headers=READ)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/discount"
    order = await erp.post("/v1/sales-orders", json={**sales_order(), "status": "shipped"}, headers=WRITE)
    assert order.status_code == 422
    assert order.json()["errors"][0]["pointer"] == "#/status"


async def test_seeding_twice_adds_nothing(app: Any) -> None:
    before = (await count(app, ErpItem), await count(app, ErpCustomer))
    await seed_demo(app.state.db)
    assert (await count(app, ErpItem), await count(app, ErpCustomer)) == before == (5, 4)
