from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from system_apis.wms.models import WmsAllocation, WmsStock, WmsWarehouse
from system_apis.wms.seed import seed_demo
from tests.support.tokens import Bearer, bearer

READ, WRITE = Bearer("wms:read"), Bearer("wms:write")


@pytest.fixture
def service() -> str:
    return "wms"


def reservation(reference: str, **lines: int) -> dict[str, Any]:
    return {
        "reference": reference,
        "lines": [
            {"sku": sku.replace("_", "-"), "quantity": {"value": str(n), "unit": "EA"}} for sku, n in lines.items()
        ],
    }


async def reserve(wms: httpx.AsyncClient, reference: str, **lines: int) -> httpx.Response:
    return await wms.post("/v1/reservations", json=reservation(reference, **lines), headers=WRITE)


async def stock(wms: httpx.AsyncClient, *skus: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    resp = await wms.get("/v1/stock", params={"sku": list(skus)}, headers=READ)
    assert resp.status_code == 200, resp.text
    return {
        (p["sku"], p["warehouse"]): (p["on_hand"]["value"], p["reserved"]["value"], p["available"]["value"])
        for p in resp.json()["items"]
    }


async def test_warehouses_are_named_by_their_canonical_codes(wms: httpx.AsyncClient) -> None:
    resp = await wms.get("/v1/warehouses", headers=READ)
    assert resp.json() == {
        "items": [
            {"code": "AMS", "name": "Amsterdam DC", "operated_by": None},
            {"code": "RTM", "name": "Rotterdam DC", "operated_by": None},
            {"code": "WH-3PL", "name": "Northwind 3PL Venlo", "operated_by": "northwind-3pl"},
        ]
    }


async def test_stock_positions_map_native_warehouses_and_units(wms: httpx.AsyncClient, app: Any) -> None:
    resp = await wms.get("/v1/stock", params={"sku": ["WIDGET-BLUE", "NOPE"]}, headers=READ)
    items = resp.json()["items"]
    assert [(p["sku"], p["warehouse"]) for p in items] == [
        ("WIDGET-BLUE", "AMS"),
        ("WIDGET-BLUE", "RTM"),
        ("WIDGET-BLUE", "WH-3PL"),
    ]
    assert items[0]["on_hand"] == {"value": "100", "unit": "EA"}
    assert items[0]["reserved"] == {"value": "0", "unit": "EA"}
    assert items[0]["available"] == {"value": "100", "unit": "EA"}
    async with app.state.db.transaction() as session:
        native = await session.get(WmsStock, ("WH01", "WIDGET-BLUE"))
    assert (native.uom, native.qty_on_hand) == ("EACH", 100)


async def test_reservation_takes_the_warehouse_with_most_stock(wms: httpx.AsyncClient) -> None:
    created = await reserve(wms, "ord_1", WIDGET_BLUE=2)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["reference"], body["status"], body["warehouse"]) == ("ord_1", "active", "AMS")
    assert body["lines"] == [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}, "warehouse": "AMS"}]
    assert (await stock(wms, "WIDGET-BLUE"))[("WIDGET-BLUE", "AMS")] == ("100", "2", "98")


async def test_whole_order_ships_from_the_one_warehouse_that_has_every_line(wms: httpx.AsyncClient) -> None:
    resp = await reserve(wms, "ord_2", WIDGET_BLUE=1, GADGET_PRO=1)
    assert resp.status_code == 201, resp.text
    assert resp.json()["warehouse"] == "RTM"
    assert {line["warehouse"] for line in resp.json()["lines"]} == {"RTM"}
    positions = await stock(wms, "WIDGET-BLUE", "GADGET-PRO")
    assert positions[("WIDGET-BLUE", "RTM")] == ("40", "1", "39")
    assert positions[("WIDGET-BLUE", "AMS")] == ("100", "0", "100")


async def test_equal_stock_is_broken_by_warehouse_code(wms: httpx.AsyncClient) -> None:
    assert (await reserve(wms, "ord_3", CABLE_USB_C=10)).json()["warehouse"] == "AMS"


async def test_insufficient_stock_names_the_short_sku_and_takes_nothing(wms: httpx.AsyncClient, app: Any) -> None:
    resp = await reserve(wms, "ord_4", WIDGET_BLUE=1, WIDGET_RED=6)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["type"] == "urn:interchange:problem:insufficient-stock"
    assert [(e["sku"], e["pointer"]) for e in problem["errors"]] == [("WIDGET-RED", "#/lines/1/quantity")]
    assert "5 available in AMS" in problem["errors"][0]["detail"]
    positions = await stock(wms, "WIDGET-BLUE", "WIDGET-RED")
    assert all(reserved == "0" for _, reserved, _ in positions.values())
    async with app.state.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(WmsAllocation))).scalar_one() == 0


async def test_stock_split_over_two_warehouses_is_insufficient(wms: httpx.AsyncClient) -> None:
    resp = await reserve(wms, "ord_5", WIDGET_RED=5, GADGET_PRO=1)
    assert resp.status_code == 422
    assert [e["sku"] for e in resp.json()["errors"]] == ["WIDGET-RED"]


async def test_same_reference_answers_the_existing_reservation(wms: httpx.AsyncClient) -> None:
    first = await reserve(wms, "ord_6", WIDGET_BLUE=3)
    again = await reserve(wms, "ord_6", WIDGET_BLUE=3)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (await stock(wms, "WIDGET-BLUE"))[("WIDGET-BLUE", "AMS")] == ("100", "3", "97")
    found = await wms.get("/v1/reservations", params={"reference": "ord_6"}, headers=READ)
    assert found.json() == {"items": [first.json()]}
    assert (await wms.get(f"/v1/reservations/{first.json()['id']}", headers=READ)).json() == first.json()


async def test_concurrent_reservations_for_the_last_unit_sell_it_once(wms: httpx.AsyncClient) -> None:
    assert (await reserve(wms, "ord_setup", LEGACY_DIAL=2)).status_code == 201
    first, second = await asyncio.gather(reserve(wms, "ord_a", LEGACY_DIAL=1), reserve(wms, "ord_b", LEGACY_DIAL=1))
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    loser = first if first.status_code == 422 else second
    assert loser.json()["type"] == "urn:interchange:problem:insufficient-stock"
    assert (await stock(wms, "LEGACY-DIAL"))[("LEGACY-DIAL", "AMS")] == ("3", "3", "0")


async def test_release_returns_stock_and_is_idempotent(wms: httpx.AsyncClient) -> None:
    reservation_id = (await reserve(wms, "ord_7", WIDGET_RED=5)).json()["id"]
    assert (await stock(wms, "WIDGET-RED"))[("WIDGET-RED", "AMS")] == ("5", "5", "0")
    first = await wms.post(f"/v1/reservations/{reservation_id}/release", headers=WRITE)
    second = await wms.post(f"/v1/reservations/{reservation_id}/release", headers=WRITE)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "released"
    assert (await stock(wms, "WIDGET-RED"))[("WIDGET-RED", "AMS")] == ("5", "0", "5")
    renewed = await reserve(wms, "ord_7", WIDGET_RED=5)
    assert renewed.status_code == 201
    assert renewed.json()["id"] != reservation_id
    assert (await wms.post("/v1/reservations/RSV-999999/release", headers=WRITE)).status_code == 404


async def test_fractional_or_foreign_unit_quantities_are_refused(wms: httpx.AsyncClient) -> None:
    body = {"reference": "ord_8", "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "1.5", "unit": "EA"}}]}
    resp = await wms.post("/v1/reservations", json=body, headers=WRITE)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/lines/0/quantity/value"


async def test_scopes_are_enforced(wms: httpx.AsyncClient) -> None:
    assert (await wms.get("/v1/warehouses", headers=bearer("erp:read"))).status_code == 403
    refused = await wms.post("/v1/reservations", json=reservation("ord_9", WIDGET_BLUE=1), headers=READ)
    assert refused.status_code == 403
    assert "wms:write" in refused.json()["detail"]
    assert (await wms.post("/v1/reservations/RSV-000001/release", headers=READ)).status_code == 403


async def test_unknown_fields_are_refused(wms: httpx.AsyncClient) -> None:
    body = {**reservation("ord_10", WIDGET_BLUE=1), "warehouse": "RTM"}
    resp = await wms.post("/v1/reservations", json=body, headers=WRITE)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/warehouse"


async def test_seeding_twice_adds_nothing(app: Any) -> None:
    await seed_demo(app.state.db)
    async with app.state.db.transaction() as session:
        warehouses = (await session.execute(select(func.count()).select_from(WmsWarehouse))).scalar_one()
        rows = (await session.execute(select(func.count()).select_from(WmsStock))).scalar_one()
    assert (warehouses, rows) == (3, 15)
