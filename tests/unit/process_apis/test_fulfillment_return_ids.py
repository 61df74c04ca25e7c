"""Return ids across channels (issue 11 review): a channel's return reference reaches this process
namespaced by its partner (as the marketplace sends it); the 3PL that receives the goods names the
return by the reference on its label, the channel's own, and that finds it."""

from __future__ import annotations

from typing import Any

from experience_apis.marketplace.fulfillment import return_id_of
from tests.unit.process_apis.fulfillment_support import PARTNER, Fulfillment, asn, fulfillment_fixture  # noqa: F401

LINE = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}}
RECEIPT: dict[str, Any] = {
    "warehouse": "WH-3PL",
    "received_at": "2026-12-08T09:00:00Z",
    "lines": [LINE | {"condition": "sellable"}],
}


async def _shipped(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    await fulfillment.ship(asn(rid, f"{PARTNER}:ASN-1", (1, "WIDGET-BLUE", "2")))
    await fulfillment.run()


async def test_the_3pl_receives_a_channels_return_by_the_channels_own_reference(fulfillment: Fulfillment) -> None:
    await _shipped(fulfillment)
    return_id = return_id_of(partner_id="acme-market", return_reference="RMA-1")
    created = await fulfillment.post(
        "/v1/returns",
        {"return_id": return_id, "order_id": "ord_1", "lines": [LINE | {"reason": "too blue"}]},
        partner="acme-market",
    )
    assert created.status_code == 201, created.text

    received = await fulfillment.post("/v1/returns/RMA-1/receipts", RECEIPT, partner=PARTNER)
    stranger = await fulfillment.post("/v1/returns/RMA-1/receipts", RECEIPT, partner="southwind-3pl")

    assert received.status_code == 202, received.text
    assert (received.json()["return_id"], received.json()["status"]) == (return_id, "received")
    assert stranger.status_code == 404
    await fulfillment.run()
    assert list(fulfillment.below.credit_memos) == [return_id]


async def test_a_reference_two_channels_used_on_the_3pls_orders_is_a_conflict_and_nothing_is_received(
    fulfillment: Fulfillment,
) -> None:
    await _shipped(fulfillment)
    line = LINE | {"reason": "too blue"}
    for partner in ("acme-market", "zenith-market"):
        body = {"return_id": return_id_of(partner_id=partner, return_reference="RMA-2"), "order_id": "ord_1"}
        created = await fulfillment.post("/v1/returns", body | {"lines": [line]})  # internal caller
        assert created.status_code == 201, created.text

    received = await fulfillment.post("/v1/returns/RMA-2/receipts", RECEIPT, partner=PARTNER)

    assert received.status_code == 409
    assert "more than one channel" in received.json()["detail"]
    for partner in ("acme-market", "zenith-market"):
        got = await fulfillment.get(f"/v1/returns/{partner}:RMA-2")
        assert got.json()["status"] == "authorised"
