"""Bad input to the fulfilment API: each a clear problem+json, and nothing written (no shipment,
no return, the request's shipped quantities unchanged, no call below)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from process_apis.fulfillment.models import ReturnRow, ShipmentRow
from tests.unit.process_apis.fulfillment_support import (  # noqa: F401
    Fulfillment,
    asn,
    fulfillment_fixture,
)


async def _count(fulfillment: Fulfillment, model: Any) -> int:
    async with fulfillment.app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _request_id(fulfillment: Fulfillment) -> str:
    await fulfillment.release("ord_1")
    return str((await fulfillment.requests())[0]["request_id"])


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ([(1, "WIDGET-BLUE", "4")], "line 1: 4 is above what is left (3"),
        ([(2, "CABLE-USB-C", "1")], "line 2 (CABLE-USB-C) is not on the request"),  # the own warehouse's line
        ([(7, "WIDGET-BLUE", "1")], "line 7 (WIDGET-BLUE) is not on the request"),
        ([(1, "GADGET-PRO", "1")], "line 1 (GADGET-PRO) is not on the request"),
        ([(1, "WIDGET-BLUE", "1"), (1, "WIDGET-BLUE", "1")], "line 1 is listed more than once"),
    ],
)
async def test_lines_not_on_the_request_or_above_what_is_left_are_refused_and_nothing_is_written(
    fulfillment: Fulfillment, lines: list[tuple[int, str, str]], said: str
) -> None:
    rid = await _request_id(fulfillment)
    resp = await fulfillment.ship(asn(rid, "ASN-X", *lines))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(said in error["msg"] for error in resp.json()["errors"]), resp.json()
    assert await _count(fulfillment, ShipmentRow) == 0
    assert (await fulfillment.requests())[0]["status"] == "open"
    assert not fulfillment.below.wms_shipments and not fulfillment.below.invoices


async def test_a_quantity_above_what_is_left_after_a_partial_shipment_is_refused(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))).status_code == 202
    resp = await fulfillment.ship(asn(rid, "ASN-2", (1, "WIDGET-BLUE", "2")))
    assert resp.status_code == 422
    assert "above what is left (1" in resp.json()["errors"][0]["msg"]
    assert await _count(fulfillment, ShipmentRow) == 1


async def test_another_partners_request_is_not_found_and_nothing_is_written(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    resp = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")), partner="other-3pl")
    assert resp.status_code == 404
    assert resp.json()["detail"] == f"No fulfilment request {rid}."
    assert await _count(fulfillment, ShipmentRow) == 0


async def test_a_partners_shipment_must_name_its_request(fulfillment: Fulfillment) -> None:
    body = asn("x", "ASN-1", (1, "WIDGET-BLUE", "1"))
    del body["request_id"]
    resp = await fulfillment.ship(body)
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "request_id"]


async def test_a_shipment_id_used_with_other_content_is_a_conflict(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))).status_code == 202
    resp = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    assert resp.status_code == 409 and "other content" in resp.json()["detail"]


async def test_a_return_for_goods_never_shipped_or_above_what_shipped_is_refused(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)

    def rma(return_id: str, quantity: str, line_no: int = 1, sku: str = "WIDGET-BLUE") -> dict[str, Any]:
        line = {"line_no": line_no, "sku": sku, "quantity": {"value": quantity, "unit": "EA"}, "reason": "broken"}
        return {"return_id": return_id, "order_id": "ord_1", "lines": [line]}

    never = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="acme-market")
    assert never.status_code == 422 and "Nothing of order ord_1 has shipped" in never.json()["detail"]
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))
    above = await fulfillment.post("/v1/returns", rma("RMA-1", "2"), partner="acme-market")
    assert above.status_code == 422 and "above what is left (1" in above.json()["errors"][0]["msg"]
    unshipped_line = await fulfillment.post("/v1/returns", rma("RMA-1", "1", 2, "CABLE-USB-C"), partner="acme-market")
    assert unshipped_line.status_code == 422
    others = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="zenith-market")
    assert others.status_code == 404
    assert await _count(fulfillment, ReturnRow) == 0
    ok = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="acme-market")
    assert ok.status_code == 201
    twice = await fulfillment.post("/v1/returns", rma("RMA-2", "1"), partner="acme-market")
    assert twice.status_code == 422 and "above what is left (0" in twice.json()["errors"][0]["msg"]
