"""The fulfilment loop in process, the tier below faked: an order released to a 3PL's warehouse
becomes the partner's fulfilment request; the partner ships it in two parts, each invoiced once and
announced with its tracking; a return is authorised for what shipped, received and credited."""

from __future__ import annotations

from tests.unit.process_apis.fulfillment_support import PARTNER, Fulfillment, asn, fulfillment_fixture  # noqa: F401


async def test_an_order_released_to_a_3pl_warehouse_becomes_that_partners_request(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    [request] = await fulfillment.requests()
    assert (request["order_id"], request["warehouse"], request["status"]) == ("ord_1", "WH-3PL", "open")
    assert [(ln["line_no"], ln["sku"], ln["quantity"]["value"]) for ln in request["lines"]] == [(1, "WIDGET-BLUE", "3")]
    assert await fulfillment.requests(partner="other-3pl") == []
    [event] = await fulfillment.events("fulfillment.requested")
    assert (event["request_id"], event["partner"], event["channel_order_id"]) == (
        request["request_id"],
        PARTNER,
        "MP-ord_1",
    )
    another = await fulfillment.get(f"/v1/fulfillment-requests/{request['request_id']}", partner="other-3pl")
    assert another.status_code == 404


async def test_two_partial_shipments_are_invoiced_once_each_and_announced_with_tracking(
    fulfillment: Fulfillment,
) -> None:
    await fulfillment.release("ord_1")
    [request] = await fulfillment.requests()
    rid = request["request_id"]
    first = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "recorded" and first.json()["status_url"].endswith("/v1/shipments/ASN-1")
    assert (await fulfillment.requests())[0]["status"] == "partly_shipped"
    second = await fulfillment.ship(asn(rid, "ASN-2", (1, "WIDGET-BLUE", "1")))
    assert second.status_code == 202, second.text
    await fulfillment.run()

    tier = fulfillment.below
    assert sorted(tier.wms_shipments) == ["ASN-1", "ASN-2"]
    assert [(k, v["order_id"]) for k, v in sorted(tier.invoices.items())] == [("ASN-1", "ord_1"), ("ASN-2", "ord_1")]
    confirmed = sorted(await fulfillment.events("shipment.confirmed"), key=lambda e: str(e["shipment_id"]))
    assert [(e["shipment_id"], e["tracking_number"], e["partner"], e["invoice_number"]) for e in confirmed] == [
        ("ASN-1", "TRK-ASN-1", "acme-market", tier.invoices["ASN-1"]["invoice_number"]),
        ("ASN-2", "TRK-ASN-2", "acme-market", tier.invoices["ASN-2"]["invoice_number"]),
    ]
    assert sorted(tier.notices) == [("shipment", "ASN-1"), ("shipment", "ASN-2")]
    shipment = (await fulfillment.get("/v1/shipments/ASN-1", partner="acme-market")).json()
    assert (shipment["status"], shipment["invoice_number"]) == ("notified", tier.invoices["ASN-1"]["invoice_number"])
    invoices = (await fulfillment.get("/v1/orders/ord_1/invoices", partner="acme-market")).json()["items"]
    assert sorted(i["shipment_id"] for i in invoices) == ["ASN-1", "ASN-2"]
    assert (await fulfillment.get("/v1/orders/ord_1/invoices", partner="zenith-market")).status_code == 404
    assert (await fulfillment.requests())[0]["status"] == "shipped"
    # The same ASN again answers as the first time and invoices nothing more.
    again = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    assert again.status_code == 202 and again.json()["shipment_id"] == "ASN-1"
    await fulfillment.run()
    assert len(tier.invoices) == 2 and len(await fulfillment.events("shipment.confirmed")) == 2


async def test_a_return_for_what_shipped_is_received_and_credited_once(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    await fulfillment.run()

    line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}, "reason": "too blue"}
    created = await fulfillment.post(
        "/v1/returns", {"return_id": "RMA-1", "order_id": "ord_1", "lines": [line]}, partner="acme-market"
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "authorised"
    receipt = {
        "warehouse": "WH-3PL",
        "received_at": "2026-12-08T09:00:00Z",
        "lines": [
            {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}, "condition": "sellable"}
        ],
    }
    received = await fulfillment.post("/v1/returns/RMA-1/receipts", receipt, partner=PARTNER)
    assert received.status_code == 202, received.text
    await fulfillment.run()

    tier = fulfillment.below
    assert list(tier.wms_receipts) == ["RMA-1"] and list(tier.credit_memos) == ["RMA-1"]
    [credited] = await fulfillment.events("return.credited")
    assert (credited["return_id"], credited["partner"], credited["total"]) == ("RMA-1", "acme-market", "19.99")
    got = (await fulfillment.get("/v1/returns/RMA-1", partner="acme-market")).json()
    assert (got["status"], got["credit_memo_number"]) == ("credited", "CM-000001")
    assert ("credit_memo", "RMA-1") in tier.notices


async def test_a_refused_customer_notice_is_said_on_the_shipment_and_does_not_hold_it(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    fulfillment.below.no_crm_account = True
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))
    await fulfillment.run()
    shipment = (await fulfillment.get("/v1/shipments/ASN-1")).json()
    assert shipment["status"] == "notified" and shipment["invoice_number"] == "INV-000001"
    assert shipment["status_reason"] == "the CRM refused the customer notice: No account for customer C-1001."
    assert len(await fulfillment.events("shipment.confirmed")) == 1
