"""ERP item changes: PATCH /v1/items/{sku} changes status and safety stock and announces
item.changed through the ERP's outbox, versioned per item; the same values again change nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from service_kit.events.outbox import OutboxRecord
from tests.support.tokens import Bearer, bearer

READ, WRITE = Bearer("erp:read"), Bearer("erp:write")


async def item_events(app: Any, *, subject: str = "item/") -> list[dict[str, Any]]:
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        return [event for event in map(json.loads, rows) if event["subject"].startswith(subject)]


async def test_changing_an_item_announces_it_with_its_version(app: Any, erp: httpx.AsyncClient) -> None:
    resp = await erp.patch("/v1/items/WIDGET-BLUE", json={"safety_stock": {"value": "5", "unit": "EA"}}, headers=WRITE)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "sku": "WIDGET-BLUE",
        "status": "active",
        "safety_stock": {"value": "5", "unit": "EA"},
        "version": 1,
    }
    await erp.patch("/v1/items/WIDGET-BLUE", json={"safety_stock": {"value": "5", "unit": "EA"}}, headers=WRITE)
    await erp.patch("/v1/items/WIDGET-BLUE", json={"status": "discontinued"}, headers=WRITE)
    announced = [(e["subject"], e["entityversion"], e["data"]) for e in await item_events(app)]
    assert announced == [
        ("item/WIDGET-BLUE", 1, {"sku": "WIDGET-BLUE", "status": "active", "safety_stock": "5", "unit": "EA"}),
        ("item/WIDGET-BLUE", 2, {"sku": "WIDGET-BLUE", "status": "discontinued", "safety_stock": "5", "unit": "EA"}),
    ]
    product = (await erp.get("/v1/items/WIDGET-BLUE", headers=READ)).json()
    assert product["status"] == "discontinued"


async def test_unknown_items_and_fractional_safety_stock_are_problems(erp: httpx.AsyncClient) -> None:
    missing = await erp.patch("/v1/items/NO-SUCH", json={"status": "active"}, headers=WRITE)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    half = await erp.patch("/v1/items/WIDGET-RED", json={"safety_stock": {"value": "1.5", "unit": "EA"}}, headers=WRITE)
    assert half.status_code == 422
    assert (
        await erp.patch("/v1/items/WIDGET-RED", json={"status": "active"}, headers=bearer("erp:read"))
    ).status_code == 403


async def test_stock_policies_list_every_item_page_by_page(erp: httpx.AsyncClient) -> None:
    first = (await erp.get("/v1/item-stock-policies", params={"limit": 3}, headers=READ)).json()
    rest = (await erp.get("/v1/item-stock-policies", params={"after": first["next_after"]}, headers=READ)).json()
    skus = [p["sku"] for p in first["items"] + rest["items"]]
    assert skus == sorted(["WIDGET-BLUE", "WIDGET-RED", "GADGET-PRO", "CABLE-USB-C", "LEGACY-DIAL"])
    assert rest["next_after"] is None
    legacy = next(p for p in first["items"] + rest["items"] if p["sku"] == "LEGACY-DIAL")
    assert legacy["status"] == "discontinued"
