"""An order's credit memos, as the ERP issued them (lines, total, currency), readable by the order's
channel partner and by internal callers; another partner's read is a 404."""

from __future__ import annotations

from tests.unit.process_apis.fulfillment_support import PARTNER, Fulfillment, asn, fulfillment_fixture  # noqa: F401

QTY = {"value": "1", "unit": "EA"}


async def test_a_credited_return_is_listed_with_its_amounts(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    await fulfillment.run()
    line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": QTY, "reason": "too blue"}
    await fulfillment.post(
        "/v1/returns", {"return_id": "RMA-1", "order_id": "ord_1", "lines": [line]}, partner="acme-market"
    )
    before = await fulfillment.get("/v1/orders/ord_1/credit-memos", partner="acme-market")
    assert (before.status_code, before.json()["items"]) == (200, [])  # authorised, not yet credited
    received = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": QTY, "condition": "sellable"}
    receipt = {"warehouse": "WH-3PL", "received_at": "2026-12-08T09:00:00Z", "lines": [received]}
    await fulfillment.post("/v1/returns/RMA-1/receipts", receipt, partner=PARTNER)
    await fulfillment.run()

    resp = await fulfillment.get("/v1/orders/ord_1/credit-memos", partner="acme-market")
    assert resp.status_code == 200, resp.text
    [memo] = resp.json()["items"]
    erp = fulfillment.below.credit_memos["RMA-1"]  # what the ERP answered
    assert (memo["credit_memo_number"], memo["return_id"], memo["order_id"]) == ("CM-000001", "RMA-1", "ord_1")
    assert (memo["total"], memo["currency"], memo["issued_at"][:10]) == (
        erp["total"],
        erp["currency"],
        erp["issued_at"][:10],
    )
    assert memo["total"]["amount"] == "19.99"
    assert [(ln["sku"], ln["quantity"]["value"]) for ln in memo["lines"]] == [("WIDGET-BLUE", "1")]
    assert (await fulfillment.get("/v1/orders/ord_1/credit-memos")).json()["items"] == [memo]  # internal caller
    other = await fulfillment.get("/v1/orders/ord_1/credit-memos", partner="zenith-market")
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
