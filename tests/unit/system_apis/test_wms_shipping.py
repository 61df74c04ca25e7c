"""WMS shipments and return receipts: goods leave only from the order's reservation in that
warehouse, come back only for what shipped, once per shipment and return id, announced through the
outbox, and nothing written when refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service_kit.events.outbox import OutboxRecord
from service_kit.settings import ServiceSettings
from system_apis.wms.app import create_app as create_wms
from system_apis.wms.models import WmsReturnReceipt, WmsShipment, WmsShipmentLine, WmsStockMovement
from tests.support.tokens import Bearer, static_verifier

READ, WRITE = Bearer("wms:read"), Bearer("wms:write")


@pytest.fixture
def service() -> str:
    return "wms"


def lines(**skus: int) -> list[dict[str, Any]]:
    return [{"sku": sku.replace("_", "-"), "quantity": {"value": str(n), "unit": "EA"}} for sku, n in skus.items()]


async def events(app: Any, kind: str) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        return [e for e in map(json.loads, rows) if e["type"] == f"com.interchange.{kind}.v1"]


async def count(app: Any, model: Any) -> int:
    async with app.state.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def position(wms: httpx.AsyncClient, sku: str, warehouse: str) -> tuple[str, str]:
    items = (await wms.get("/v1/stock", params={"sku": sku}, headers=READ)).json()["items"]
    (found,) = [p for p in items if p["warehouse"] == warehouse]
    return found["on_hand"]["value"], found["reserved"]["value"]


async def reserve(wms: httpx.AsyncClient, reference: str, **skus: int) -> dict[str, Any]:
    resp = await wms.post("/v1/reservations", json={"reference": reference, "lines": lines(**skus)}, headers=WRITE)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def shipment(shipment_id: str, reference: str = "ord_1", warehouse: str = "WH-3PL", **skus: int) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "reference": reference,
        "warehouse": warehouse,
        "carrier": "DHL",
        "tracking_number": f"JD-{shipment_id}",
        "shipped_at": "2026-12-07T10:00:00Z",
        "lines": lines(**skus),
    }


async def ship(wms: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await wms.post("/v1/shipments", json=body, headers=WRITE)


def return_receipt(return_id: str, reference: str = "ord_1", warehouse: str = "WH-3PL", **conditions: Any) -> Any:
    return {
        "return_id": return_id,
        "reference": reference,
        "warehouse": warehouse,
        "lines": [
            {"sku": sku.replace("_", "-"), "quantity": {"value": str(n), "unit": "EA"}, "condition": condition}
            for sku, (n, condition) in conditions.items()
        ],
    }


async def test_an_order_only_the_3pl_can_ship_whole_is_reserved_there(wms: httpx.AsyncClient) -> None:
    assert (await reserve(wms, "ord_1", WIDGET_RED=2, GADGET_PRO=3))["warehouse"] == "WH-3PL"
    assert (await reserve(wms, "ord_2", WIDGET_RED=1))["warehouse"] == "AMS"
    assert (await reserve(wms, "ord_3", GADGET_PRO=1))["warehouse"] == "RTM"


async def test_a_shipment_in_two_parts_takes_the_goods_from_the_reservation(app: Any, wms: httpx.AsyncClient) -> None:
    await reserve(wms, "ord_1", WIDGET_RED=2, GADGET_PRO=3)
    first = await ship(wms, shipment("ASN-1", WIDGET_RED=2, GADGET_PRO=1))
    assert first.status_code == 201, first.text
    assert first.json() | {"created_at": None} == {
        "shipment_id": "ASN-1",
        "reference": "ord_1",
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": "JD-ASN-1",
        "shipped_at": "2026-12-07T10:00:00Z",
        "lines": lines(WIDGET_RED=2, GADGET_PRO=1),
        "created_at": None,
    }
    assert await position(wms, "WIDGET-RED", "WH-3PL") == ("0", "0")
    assert await position(wms, "GADGET-PRO", "WH-3PL") == ("7", "2")
    second = await wms.post(
        "/v1/shipments", json=shipment("ASN-2", GADGET_PRO=2), headers=WRITE | {"X-Correlation-ID": "cid-asn-2"}
    )
    assert second.status_code == 201
    assert await position(wms, "GADGET-PRO", "WH-3PL") == ("5", "0")
    moved = [e["data"] for e in await events(app, "stock.moved") if e["data"]["movement"] == "shipment"]
    assert [(m["sku"], m["quantity_delta"], m["reference"]) for m in moved] == [
        ("WIDGET-RED", "-2", "ord_1"),
        ("GADGET-PRO", "-1", "ord_1"),
        ("GADGET-PRO", "-2", "ord_1"),
    ]
    shipped = [(e["subject"], e["data"]["tracking_number"]) for e in await events(app, "warehouse.shipped")]
    assert shipped == [("shipment/ASN-1", "JD-ASN-1"), ("shipment/ASN-2", "JD-ASN-2")]
    assert (await events(app, "warehouse.shipped"))[1]["correlationid"] == "cid-asn-2"  # the request's, carried on
    found = await wms.get("/v1/shipments", params={"reference": "ord_1"}, headers=READ)
    assert [s["shipment_id"] for s in found.json()["items"]] == ["ASN-1", "ASN-2"]
    assert (await wms.get("/v1/shipments/ASN-2", headers=READ)).json() == second.json()
    # Shipped goods were picked: too late to give the reservation back.
    (reservation,) = (await wms.get("/v1/reservations", params={"reference": "ord_1"}, headers=READ)).json()["items"]
    assert reservation["status"] == "picked"


async def test_the_same_shipment_again_answers_it_and_moves_nothing(app: Any, wms: httpx.AsyncClient) -> None:
    await reserve(wms, "ord_1", WIDGET_RED=2, GADGET_PRO=3)
    body = shipment("ASN-1", WIDGET_RED=1) | {"publish_event": False}
    first = await ship(wms, body)
    again = await ship(wms, body)
    assert (again.status_code, again.json()) == (200, first.json())
    assert await position(wms, "WIDGET-RED", "WH-3PL") == ("1", "1")
    other = await ship(wms, shipment("ASN-1", WIDGET_RED=2))
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert await events(app, "warehouse.shipped") == []  # publish_event false: the caller tells the business


async def test_a_shipment_above_the_reservation_or_without_one_writes_nothing(app: Any, wms: httpx.AsyncClient) -> None:
    await reserve(wms, "ord_1", WIDGET_RED=2, GADGET_PRO=3)
    journal = await count(app, WmsStockMovement)
    over = await ship(wms, shipment("ASN-1", WIDGET_RED=1, GADGET_PRO=4))
    assert over.status_code == 422
    assert over.json()["errors"] == [
        {
            "pointer": "#/lines/1/quantity",
            "sku": "GADGET-PRO",
            "detail": "GADGET-PRO: 4 EA asked, 3 reserved there and not shipped yet.",
        }
    ]
    not_on_order = await ship(wms, shipment("ASN-2", CABLE_USB_C=1))
    assert not_on_order.status_code == 422
    elsewhere = await ship(wms, shipment("ASN-3", warehouse="AMS", WIDGET_RED=1))
    assert elsewhere.status_code == 404
    unknown_order = await ship(wms, shipment("ASN-4", reference="ord_nope", WIDGET_RED=1))
    assert unknown_order.status_code == 404
    assert unknown_order.headers["content-type"] == "application/problem+json"
    unknown_warehouse = await ship(wms, shipment("ASN-5", warehouse="NOPE", WIDGET_RED=1))
    assert unknown_warehouse.status_code == 422
    fraction = shipment("ASN-6") | {"lines": [{"sku": "WIDGET-RED", "quantity": {"value": "0.5", "unit": "EA"}}]}
    assert (await ship(wms, fraction)).status_code == 422
    for loose in ({"publish_event": 0}, {"shipped_at": 1_765_100_000}):  # the schema's types, not coerced ones
        assert (await ship(wms, shipment("ASN-7", WIDGET_RED=1) | loose)).status_code == 422
    assert (await count(app, WmsShipment), await count(app, WmsShipmentLine)) == (0, 0)
    assert await count(app, WmsStockMovement) == journal
    assert await position(wms, "GADGET-PRO", "WH-3PL") == ("8", "3")
    assert (await wms.get("/v1/shipments/ASN-1", headers=READ)).status_code == 404


async def test_a_split_order_ships_each_part_from_its_own_warehouse(wms: httpx.AsyncClient) -> None:
    await reserve(wms, "ord_9.1", WIDGET_BLUE=2)  # the orders saga names a split's parts <order>.<n>
    shipped = await ship(wms, shipment("SHP-9", reference="ord_9", warehouse="AMS", WIDGET_BLUE=2))
    assert shipped.status_code == 201, shipped.text
    assert await position(wms, "WIDGET-BLUE", "AMS") == ("98", "0")


async def test_returned_goods_come_back_once_sellable_ones_on_hand(app: Any, wms: httpx.AsyncClient) -> None:
    await reserve(wms, "ord_1", WIDGET_RED=2, GADGET_PRO=3)
    await ship(wms, shipment("ASN-1", WIDGET_RED=2, GADGET_PRO=3))
    never_shipped = await wms.post(
        "/v1/return-receipts",
        json=return_receipt("RMA-0", reference="ord_2", WIDGET_RED=(1, "sellable")),
        headers=WRITE,
    )
    assert never_shipped.status_code == 404
    body = return_receipt("RMA-1", WIDGET_RED=(1, "sellable"), GADGET_PRO=(2, "damaged"))
    received = await wms.post("/v1/return-receipts", json=body, headers=WRITE)
    assert received.status_code == 201, received.text
    assert [(x["sku"], x["quantity"]["value"], x["condition"]) for x in received.json()["lines"]] == [
        ("WIDGET-RED", "1", "sellable"),
        ("GADGET-PRO", "2", "damaged"),
    ]
    assert await position(wms, "WIDGET-RED", "WH-3PL") == ("1", "0")
    assert await position(wms, "GADGET-PRO", "WH-3PL") == ("5", "0")  # damaged: recorded, not on hand
    again = await wms.post("/v1/return-receipts", json=body, headers=WRITE)
    assert (again.status_code, again.json()) == (200, received.json())
    over = await wms.post(
        "/v1/return-receipts", json=return_receipt("RMA-2", WIDGET_RED=(2, "sellable")), headers=WRITE
    )
    assert over.status_code == 422
    assert over.json()["errors"][0]["detail"] == "WIDGET-RED: 2 EA asked, 1 shipped and not returned yet."
    assert await count(app, WmsReturnReceipt) == 1
    (announced,) = await events(app, "warehouse.return_received")
    assert (announced["subject"], [line["condition"] for line in announced["data"]["lines"]]) == (
        "return/RMA-1",
        ["sellable", "damaged"],
    )
    receipts = [e["data"] for e in await events(app, "stock.moved") if e["data"]["movement"] == "receipt"]
    assert [(m["sku"], m["quantity_delta"], m["reference"]) for m in receipts] == [("WIDGET-RED", "1", "RMA-1")]
    found = await wms.get("/v1/return-receipts", params={"reference": "ord_1"}, headers=READ)
    assert [r["return_id"] for r in found.json()["items"]] == ["RMA-1"]
    assert (await wms.get("/v1/return-receipts/RMA-9", headers=READ)).status_code == 404


async def test_shipping_needs_the_wms_write_scope(wms: httpx.AsyncClient) -> None:
    resp = await wms.post("/v1/shipments", json=shipment("ASN-1", WIDGET_RED=1), headers=READ)
    assert resp.status_code == 403


@pytest.mark.xdist_group("postgres")
async def test_shipping_and_returns_on_postgres(postgres_url: str) -> None:
    settings = ServiceSettings.load("wms", database_url=postgres_url, seed_demo=True, log_json=False)
    app = create_wms(settings, verifier=static_verifier())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wms.test") as wms,
    ):
        await reserve(wms, "ord_pg.1", WIDGET_RED=2, GADGET_PRO=1)
        shipped = await ship(wms, shipment("ASN-PG", reference="ord_pg", WIDGET_RED=2, GADGET_PRO=1))
        assert shipped.status_code == 201, shipped.text
        assert (await ship(wms, shipment("ASN-PG", reference="ord_pg", WIDGET_RED=2, GADGET_PRO=1))).status_code == 200
        body = return_receipt("RMA-PG", reference="ord_pg", WIDGET_RED=(1, "sellable"))
        assert (await wms.post("/v1/return-receipts", json=body, headers=WRITE)).status_code == 201
        assert await position(wms, "WIDGET-RED", "WH-3PL") == ("1", "0")
