"""WMS stock movements: receipts, adjustments and cycle counts through the API, each committed with
a versioned stock.moved event in the outbox (reservations and releases too)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service_kit.events.outbox import OutboxRecord
from tests.support.tokens import Bearer

READ, WRITE = Bearer("wms:read"), Bearer("wms:write")


@pytest.fixture
def service() -> str:
    return "wms"


async def events(app: Any) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        return [json.loads(row) for row in rows]


async def test_a_receipt_raises_on_hand_and_announces_it_once(app: Any, wms: httpx.AsyncClient) -> None:
    body = {
        "reference": "ASN-1",
        "warehouse": "AMS",
        "lines": [
            {"sku": "WIDGET-RED", "quantity": {"value": "7", "unit": "EA"}},
            {"sku": "NEW-THING", "quantity": {"value": "3", "unit": "EA"}},
        ],
    }
    resp = await wms.post("/v1/receipts", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    assert {(m["sku"], m["on_hand"]["value"], m["version"]) for m in resp.json()["items"]} == {
        ("WIDGET-RED", "12", 1),
        ("NEW-THING", "3", 1),
    }
    assert (await wms.post("/v1/receipts", json=body, headers=WRITE)).status_code == 200
    other = {**body, "lines": body["lines"][:1]}
    assert (await wms.post("/v1/receipts", json=other, headers=WRITE)).status_code == 409
    moved = [e for e in await events(app) if e["type"] == "com.interchange.stock.moved.v1"]
    assert [(e["subject"], e["entityversion"], e["data"]["on_hand_after"]) for e in moved] == [
        ("sku/WIDGET-RED/AMS", 1, "12"),
        ("sku/NEW-THING/AMS", 1, "3"),
    ]


async def test_an_adjustment_never_takes_on_hand_below_reserved(app: Any, wms: httpx.AsyncClient) -> None:
    reserve = {"reference": "ord-1", "lines": [{"sku": "WIDGET-RED", "quantity": {"value": "4", "unit": "EA"}}]}
    assert (await wms.post("/v1/reservations", json=reserve, headers=WRITE)).status_code == 201
    too_much = {"reference": "ADJ-1", "warehouse": "AMS", "sku": "WIDGET-RED", "quantity_delta": "-2", "reason": "x"}
    resp = await wms.post("/v1/adjustments", json=too_much, headers=WRITE)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    ok = {**too_much, "reference": "ADJ-2", "quantity_delta": "-1"}
    resp = await wms.post("/v1/adjustments", json=ok, headers=WRITE)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["on_hand"]["value"], resp.json()["reserved"]["value"], resp.json()["version"]) == ("4", "4", 2)
    kinds = [(e["data"]["movement"], e["entityversion"]) for e in await events(app)]
    assert kinds == [("reservation", 1), ("adjustment", 2)]


async def test_a_cycle_count_sets_on_hand_if_nothing_moved_since(app: Any, wms: httpx.AsyncClient) -> None:
    stale = {
        "reference": "CC-1",
        "warehouse": "RTM",
        "sku": "GADGET-PRO",
        "counted": {"value": "10", "unit": "EA"},
        "expected_version": 3,
    }
    assert (await wms.post("/v1/cycle-counts", json=stale, headers=WRITE)).status_code == 409
    resp = await wms.post("/v1/cycle-counts", json={**stale, "expected_version": 0}, headers=WRITE)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["quantity_delta"], resp.json()["on_hand"]["value"]) == ("-2", "10")
    snapshot = (await wms.get("/v1/stock-snapshot", params={"limit": 2}, headers=READ)).json()
    assert snapshot["next_after"] == "GADGET-PRO"
    rest = (await wms.get("/v1/stock-snapshot", params={"after": "GADGET-PRO"}, headers=READ)).json()
    assert rest["next_after"] is None
    gadget = [p for p in snapshot["items"] if p["sku"] == "GADGET-PRO" and p["warehouse"] == "RTM"]
    assert (gadget[0]["on_hand"]["value"], gadget[0]["version"]) == ("10", 1)


async def test_a_release_is_announced_with_the_next_version(app: Any, wms: httpx.AsyncClient) -> None:
    reserve = {"reference": "ord-2", "lines": [{"sku": "CABLE-USB-C", "quantity": {"value": "5", "unit": "EA"}}]}
    created = (await wms.post("/v1/reservations", json=reserve, headers=WRITE)).json()
    await wms.post(f"/v1/reservations/{created['id']}/release", headers=WRITE)
    moved = [(e["data"]["movement"], e["data"]["reserved_after"], e["entityversion"]) for e in await events(app)]
    assert moved == [("reservation", "5", 1), ("release", "0", 2)]
