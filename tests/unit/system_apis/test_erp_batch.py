"""ERP batch booking (POST /v1/sales-order-batches) and the master data snapshots and events the
orders process keeps its copy from (customer terms, price lists; customer.changed, pricelist.changed)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from service_kit.events.outbox import OutboxRecord
from tests.support.tokens import bearer


def entry(reference: str, *, customer: str = "C-1001", sku: str = "CABLE-USB-C", price: str = "9.50") -> dict[str, Any]:
    return {
        "external_reference": reference,
        "customer_id": customer,
        "currency": "EUR",
        "lines": [
            {"sku": sku, "quantity": {"value": "2", "unit": "EA"}, "unit_price": {"amount": price, "currency": "EUR"}}
        ],
    }


def booked(tmp_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(tmp_path / "erp.db") as conn:
        return conn.execute(
            "SELECT o.ext_ref, count(l.line_no) FROM erp_sales_orders o JOIN erp_sales_order_lines l "
            "ON l.doc_no = o.doc_no GROUP BY o.ext_ref ORDER BY o.ext_ref"
        ).fetchall()


async def test_a_batch_books_each_entry_once_and_refuses_only_the_bad_one(
    erp: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = {"entries": [entry("ord_a"), entry("ord_b", customer="C-2002"), entry("ord_c", sku="LEGACY-DIAL")]}
    resp = await erp.post("/v1/sales-order-batches", json=body, headers=bearer("erp:write"))
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [(r["external_reference"], r["outcome"]) for r in results] == [
        ("ord_a", "created"),
        ("ord_b", "refused"),
        ("ord_c", "refused"),
    ]
    assert results[0]["sales_order"]["total"] == {"amount": "19.00", "currency": "EUR"}
    assert results[1]["problem"]["status"] == 422
    assert "blocked" in results[1]["problem"]["detail"]
    assert results[1]["problem"]["errors"][0]["pointer"] == "#/customer_id"
    assert "can no longer be sold" in results[2]["problem"]["detail"]
    assert booked(tmp_path) == [("ord_a", 1)]

    again = await erp.post(
        "/v1/sales-order-batches", json={"entries": [entry("ord_a"), entry("ord_d")]}, headers=bearer("erp:write")
    )
    outcomes = [(r["external_reference"], r["outcome"]) for r in again.json()["results"]]
    assert outcomes == [("ord_a", "existing"), ("ord_d", "created")]
    assert again.json()["results"][0]["sales_order"]["number"] == results[0]["sales_order"]["number"]
    assert booked(tmp_path) == [("ord_a", 1), ("ord_d", 1)]
    single = await erp.get("/v1/sales-orders", params={"external_reference": "ord_d"}, headers=bearer("erp:read"))
    assert single.json()["items"][0] == again.json()["results"][1]["sales_order"]


async def test_a_reference_booked_with_other_lines_is_a_conflict_entry(erp: httpx.AsyncClient, tmp_path: Path) -> None:
    await erp.post("/v1/sales-order-batches", json={"entries": [entry("ord_x")]}, headers=bearer("erp:write"))
    resp = await erp.post(
        "/v1/sales-order-batches",
        json={"entries": [entry("ord_x", price="1.00"), entry("ord_x")]},
        headers=bearer("erp:write"),
    )
    assert [r["outcome"] for r in resp.json()["results"]] == ["conflict", "existing"]
    assert resp.json()["results"][0]["problem"]["status"] == 409
    assert booked(tmp_path) == [("ord_x", 1)]


async def test_a_malformed_batch_is_a_problem_and_writes_need_the_write_scope(erp: httpx.AsyncClient) -> None:
    empty = await erp.post("/v1/sales-order-batches", json={"entries": []}, headers=bearer("erp:write"))
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")
    too_many = await erp.post(
        "/v1/sales-order-batches", json={"entries": [entry(f"r{n}") for n in range(101)]}, headers=bearer("erp:write")
    )
    assert too_many.status_code == 422
    reader = await erp.post("/v1/sales-order-batches", json={"entries": [entry("r")]}, headers=bearer("erp:read"))
    assert reader.status_code == 403


async def masterdata_events(app: Any) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        return [e for e in map(json.loads, rows) if e["subject"].startswith(("customer/", "pricelist/"))]


async def test_customer_terms_snapshot_and_changes_are_versioned(erp: httpx.AsyncClient, app: Any) -> None:
    first = (await erp.get("/v1/customer-terms", params={"limit": 2}, headers=bearer("erp:read"))).json()
    rest = (
        await erp.get("/v1/customer-terms", params={"after": first["next_after"]}, headers=bearer("erp:read"))
    ).json()
    terms = {t["customer"]["id"]: t for t in first["items"] + rest["items"]}
    assert sorted(terms) == ["C-1001", "C-1002", "C-2001", "C-2002"]
    assert (terms["C-2001"]["price_list"], terms["C-2001"]["version"]) == ("TRADE-10", 0)
    assert terms["C-1001"]["price_list"] == "LIST"

    changed = await erp.patch("/v1/customers/C-2001", json={"credit_limit": "250.00"}, headers=bearer("erp:write"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["customer"]["credit_limit"] == {"amount": "250.00", "currency": "EUR"}
    await erp.patch("/v1/customers/C-2001", json={"credit_limit": "250.00"}, headers=bearer("erp:write"))  # no change
    await erp.patch("/v1/customers/C-2001", json={"status": "inactive"}, headers=bearer("erp:write"))
    events = await masterdata_events(app)
    assert [(e["type"], e["subject"], e["entityversion"]) for e in events] == [
        ("com.interchange.customer.changed.v1", "customer/C-2001", 1),
        ("com.interchange.customer.changed.v1", "customer/C-2001", 2),
    ]
    assert events[1]["data"] | {} == {
        "customer_id": "C-2001",
        "name": "Borealis Hardware GmbH",
        "kind": "b2b",
        "status": "inactive",
        "currency": "EUR",
        "credit_limit": "250.00",
        "price_list": "TRADE-10",
    }
    one = (await erp.get("/v1/customer-terms/C-2001", headers=bearer("erp:read"))).json()
    assert one["version"] == 2
    missing = await erp.patch("/v1/customers/C-9999", json={"status": "active"}, headers=bearer("erp:write"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_price_lists_carry_net_prices_and_a_price_change_announces_every_list(
    erp: httpx.AsyncClient, app: Any
) -> None:
    lists = {p["code"]: p for p in (await erp.get("/v1/price-lists", headers=bearer("erp:read"))).json()["items"]}
    assert sorted(lists) == ["LIST", "TRADE-10"]
    cable = {p: next(x for x in lists[p]["lines"] if x["sku"] == "CABLE-USB-C") for p in lists}
    assert cable["LIST"]["unit_price"]["amount"] == "9.50"
    assert cable["TRADE-10"]["unit_price"]["amount"] == "8.55"
    changed = await erp.patch(
        "/v1/items/CABLE-USB-C",
        json={"list_price": {"amount": "10.00", "currency": "EUR"}},
        headers=bearer("erp:write"),
    )
    assert changed.status_code == 200, changed.text
    events = await masterdata_events(app)
    assert [(e["subject"], e["entityversion"]) for e in events] == [("pricelist/LIST", 1), ("pricelist/TRADE-10", 1)]
    trade = next(x for x in events[1]["data"]["lines"] if x["sku"] == "CABLE-USB-C")
    assert trade == {"sku": "CABLE-USB-C", "unit": "EA", "unit_price": "9.00", "status": "active"}
    only = (await erp.get("/v1/price-lists", params={"code": "TRADE-10"}, headers=bearer("erp:read"))).json()["items"]
    assert [(p["code"], p["version"]) for p in only] == [("TRADE-10", 1)]
    wrong = await erp.patch(
        "/v1/items/CABLE-USB-C",
        json={"list_price": {"amount": "10.001", "currency": "EUR"}},
        headers=bearer("erp:write"),
    )
    assert wrong.status_code == 422


async def test_a_price_list_code_that_cannot_be_one_is_a_problem(erp: httpx.AsyncClient) -> None:
    resp = await erp.get("/v1/price-lists", params={"code": ["LIST", "true"]}, headers=bearer("erp:read"))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/code/1"]
