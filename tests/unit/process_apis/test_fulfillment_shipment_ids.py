"""Shipment ids across shippers (issue 11 review): a 3PL's ASN number reaches this process
namespaced by its partner (as the fulfilment partners' API sends it), so the WMS's own shipment
under the same number is a shipment of its own and is invoiced, not dropped as the 3PL's."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from contracts.events.fulfillment import FulfillmentLine, WarehouseShippedV1
from experience_apis.fulfillment_partners.mapping import shipment_id_of
from process_apis.fulfillment import worker as fulfillment_worker
from process_apis.fulfillment.worker import on_warehouse_shipped
from service_kit.events.envelopes import new_event
from tests.support.logs import fresh_logger
from tests.unit.process_apis.fulfillment_fakes import order
from tests.unit.process_apis.fulfillment_support import PARTNER, Fulfillment, asn, fulfillment_fixture  # noqa: F401


def _wms_shipped(shipment_id: str, order_id: str) -> Any:
    return new_event(
        data=WarehouseShippedV1(
            shipment_id=shipment_id,
            reference=order_id,
            warehouse="AMS",
            carrier="PostNL",
            tracking_number="3S-1",
            lines=[FulfillmentLine(sku="CABLE-USB-C", quantity="1")],
            shipped_at="2026-12-07T12:00:00Z",
        ),
        source="urn:interchange:system:wms",
        subject=f"shipment/{shipment_id}",
    )


async def test_a_wms_shipment_numbered_as_a_3pls_asn_is_invoiced_too(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    asn_id = shipment_id_of(partner_id=PARTNER, asn_number="ASN-1")
    posted = await fulfillment.ship(asn(rid, asn_id, (1, "WIDGET-BLUE", "1")))
    assert posted.status_code == 202, posted.text
    await fulfillment.run()
    fulfillment.below.orders["ord_2"] = order("ord_2")

    async with fulfillment.app.state.db.transaction() as session:
        await on_warehouse_shipped(session=session, event=_wms_shipped("ASN-1", "ord_2"))
    await fulfillment.run()

    invoiced = {shipment_id: invoice["order_id"] for shipment_id, invoice in fulfillment.below.invoices.items()}
    assert invoiced == {asn_id: "ord_1", "ASN-1": "ord_2"}
    own = (await fulfillment.get("/v1/shipments/ASN-1")).json()
    assert (own["order_id"], own["partner_id"], own["status"]) == ("ord_2", None, "notified")
    assert (await fulfillment.get("/v1/shipments/ASN-1", partner=PARTNER)).status_code == 404
    theirs = await fulfillment.get(f"/v1/shipments/{asn_id}", partner=PARTNER)
    assert (theirs.json()["order_id"], theirs.json()["status"]) == ("ord_1", "notified")


async def test_a_namespaced_id_of_the_longest_partner_id_and_asn_number_is_taken(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    longest = shipment_id_of(partner_id="p" * 64, asn_number="A" * 64)

    tracking = {"tracking_number": "TRK-1", "tracking_url": "https://track.example/1"}
    posted = await fulfillment.ship(asn(rid, longest, (1, "WIDGET-BLUE", "1")) | tracking, partner=None)
    too_long = await fulfillment.ship(asn(rid, longest + "X", (1, "WIDGET-BLUE", "1")) | tracking, partner=None)

    assert len(longest) == 129
    assert posted.status_code == 202, posted.text
    assert too_long.status_code == 422
    assert (await fulfillment.get(f"/v1/shipments/{longest}")).json()["shipment_id"] == longest


async def test_a_wms_shipment_under_a_partners_whole_id_is_said_not_taken_for_the_partners(
    fulfillment: Fulfillment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh_logger(monkeypatch, fulfillment_worker)
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    asn_id = shipment_id_of(partner_id=PARTNER, asn_number="ASN-3")
    await fulfillment.ship(asn(rid, asn_id, (1, "WIDGET-BLUE", "1")))
    await fulfillment.run()

    with capture_logs() as logs:
        async with fulfillment.app.state.db.transaction() as session:
            await on_warehouse_shipped(session=session, event=_wms_shipped(asn_id, "ord_2"))

    assert [(e["event"], e["log_level"], e["taken_by"]) for e in logs] == [
        ("warehouse_shipment_id_taken", "error", PARTNER)
    ]
    assert (await fulfillment.get(f"/v1/shipments/{asn_id}")).json()["order_id"] == "ord_1"
