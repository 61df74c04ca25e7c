"""The 3PL API: requests in the partner's dialect, ASNs and return receipts as canonical shipments
and receipts, keyed retries, refusals in the dialect's words and nothing sent or written for them."""

from __future__ import annotations

import json
from typing import Any

from contracts.scopes import FULFILLMENT_REQUESTS_READ
from tests.support.tokens import Bearer
from tests.unit.experience_apis.fulfillment_fakes import FakeFulfillmentApi
from tests.unit.experience_apis.fulfillment_partners.conftest import NORTHWIND, PROBLEM, STRANGER, Partners


def asn(asn_number: str = "ASN-1", request_id: str = "fr_1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asn_number": asn_number,
        "request_id": request_id,
        "carrier": "DHL",
        "tracking": "JD0001",
        "shipped_at": "2026-12-07T14:05:00Z",
        "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 2}],
    }
    return body | changes


def keyed(key: str, headers: Bearer = NORTHWIND) -> Bearer:
    return headers | {"Idempotency-Key": key}


def shipment_posts(fake: FakeFulfillmentApi) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in fake.received if r.method == "POST" and r.url.path == "/v1/shipments"]


async def test_the_partner_lists_its_own_requests_in_its_dialect(partners: Partners) -> None:
    resp = await partners.client.get("/v1/fulfillment-requests", headers=NORTHWIND)

    assert resp.status_code == 200, resp.text
    (request,) = resp.json()["items"]
    assert request["request_id"] == "fr_1"
    assert request["order_reference"] == "ord_1"
    assert request["items"][0] == {"line": 1, "sku": "WIDGET-BLUE", "qty": 3, "shipped_qty": 0}
    assert partners.fulfillment.received[-1].headers["x-interchange-partner"] == "northwind-3pl"
    assert dict(partners.fulfillment.received[-1].url.params) == {"limit": "50", "offset": "0"}


async def test_the_list_is_paged_and_filtered_by_the_process_api(partners: Partners) -> None:
    resp = await partners.client.get(
        "/v1/fulfillment-requests", params={"status": "open", "limit": 10, "offset": 20}, headers=NORTHWIND
    )

    assert resp.status_code == 200, resp.text
    assert dict(partners.fulfillment.received[-1].url.params) == {"status": "open", "limit": "10", "offset": "20"}


async def test_a_request_id_longer_than_any_request_is_not_found_without_asking(partners: Partners) -> None:
    resp = await partners.client.get(f"/v1/fulfillment-requests/fr_{'x' * 50}", headers=NORTHWIND)

    assert resp.status_code == 404
    assert partners.fulfillment.received == []


async def test_another_partners_request_is_not_found(partners: Partners) -> None:
    resp = await partners.client.get("/v1/fulfillment-requests/fr_other", headers=NORTHWIND)

    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM
    assert "fr_other" in resp.json()["detail"]


async def test_an_asn_becomes_a_canonical_shipment_of_the_request_and_a_retry_replays_it(partners: Partners) -> None:
    first = await partners.client.post("/v1/shipments", json=asn(), headers=keyed("asn-1"))
    again = await partners.client.post("/v1/shipments", json=asn(), headers=keyed("asn-1"))

    assert first.status_code == 202, first.text
    assert first.json() == {
        "asn_number": "ASN-1",
        "status": "recorded",
        "status_url": "/fulfillment_partners/v1/shipments/ASN-1",
    }
    assert first.headers["location"] == "/fulfillment_partners/v1/shipments/ASN-1"
    assert again.json() == first.json()
    sent = shipment_posts(partners.fulfillment)
    assert sent[0] == {
        "shipment_id": "northwind-3pl:ASN-1",  # the ASN number, namespaced by its partner
        "order_id": "ord_1",
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": "JD0001",
        "shipped_at": "2026-12-07T14:05:00Z",
        "lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
        "request_id": "fr_1",
    }
    keys = {r.headers["idempotency-key"] for r in partners.fulfillment.received if r.method == "POST"}
    assert keys == {"3pl:northwind-3pl:asn-1"}
    assert list(partners.fulfillment.shipments) == ["northwind-3pl:ASN-1"]

    read = await partners.client.get("/v1/shipments/ASN-1", headers=NORTHWIND)
    assert read.status_code == 200, read.text
    assert read.json()["tracking"] == "JD0001"
    assert read.json()["items"] == [{"line": 1, "sku": "WIDGET-BLUE", "qty": 2}]


async def test_a_request_ships_in_two_parts_and_a_third_over_what_is_left_is_refused_in_the_dialect(
    partners: Partners,
) -> None:
    one = await partners.client.post("/v1/shipments", json=asn("ASN-1"), headers=keyed("k1"))
    two = await partners.client.post(
        "/v1/shipments", json=asn("ASN-2", items=[{"line": 1, "sku": "WIDGET-BLUE", "qty": 1}]), headers=keyed("k2")
    )
    over = await partners.client.post("/v1/shipments", json=asn("ASN-3"), headers=keyed("k3"))

    assert (one.status_code, two.status_code) == (202, 202)
    assert over.status_code == 422
    assert over.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in over.json()["errors"]] == ["#/items/0"]
    assert "left" in over.json()["errors"][0]["detail"]
    assert list(partners.fulfillment.shipments) == ["northwind-3pl:ASN-1", "northwind-3pl:ASN-2"]


async def test_an_unknown_line_is_refused_at_its_item(partners: Partners) -> None:
    resp = await partners.client.post(
        "/v1/shipments", json=asn(items=[{"line": 7, "sku": "WIDGET-BLUE", "qty": 1}]), headers=keyed("k7")
    )

    assert resp.status_code == 422
    assert [(e["pointer"], e["in"]) for e in resp.json()["errors"]] == [("#/items/0", "body")]
    assert partners.fulfillment.shipments == {}


async def test_an_asn_for_another_partners_request_is_not_found_and_nothing_is_sent(partners: Partners) -> None:
    resp = await partners.client.post("/v1/shipments", json=asn(request_id="fr_other"), headers=keyed("k-other"))

    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["errors"][0]["pointer"] == "#/request_id"
    assert shipment_posts(partners.fulfillment) == []


async def test_an_asn_with_a_line_twice_is_refused_before_anything_is_sent(partners: Partners) -> None:
    items = [{"line": 1, "sku": "WIDGET-BLUE", "qty": 1}, {"line": 1, "sku": "WIDGET-BLUE", "qty": 1}]
    resp = await partners.client.post("/v1/shipments", json=asn(items=items), headers=keyed("k-twice"))

    assert resp.status_code == 422
    assert "appears twice" in resp.text
    assert partners.fulfillment.received == []


async def test_an_asn_needs_an_idempotency_key(partners: Partners) -> None:
    resp = await partners.client.post("/v1/shipments", json=asn(), headers=NORTHWIND)

    assert resp.status_code == 422
    assert partners.fulfillment.received == []


async def test_a_client_not_set_up_as_a_partner_is_forbidden(partners: Partners) -> None:
    resp = await partners.client.get("/v1/fulfillment-requests", headers=STRANGER)

    assert resp.status_code == 403
    assert resp.headers["content-type"] == PROBLEM
    assert partners.fulfillment.received == []


async def test_a_return_receipt_is_for_the_partners_own_warehouse(partners: Partners) -> None:
    partners.fulfillment.returns["RMA-1"] = {"return_id": "RMA-1", "status": "authorised"}
    body = {
        "rma_number": "RMA-1",
        "received_at": "2026-12-09T10:30:00Z",
        "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 1, "condition": "damaged"}],
    }

    resp = await partners.client.post("/v1/return-receipts", json=body, headers=keyed("rma-1"))
    unknown = await partners.client.post(
        "/v1/return-receipts", json=body | {"rma_number": "RMA-9"}, headers=keyed("rma-9")
    )

    assert resp.status_code == 202, resp.text
    assert resp.json() == {"rma_number": "RMA-1", "status": "received"}
    sent = json.loads(partners.fulfillment.received[0].content)
    assert partners.fulfillment.received[0].url.path == "/v1/returns/RMA-1/receipts"
    assert sent["warehouse"] == "WH-3PL"
    assert sent["lines"] == [
        {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}, "condition": "damaged"}
    ]
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["pointer"] == "#/rma_number"


async def test_a_stock_count_is_compared_for_the_partners_warehouse(partners: Partners) -> None:
    body = {"counted_at": "2026-12-07T06:00:00Z", "items": [{"sku": "WIDGET-BLUE", "qty": 40}]}

    resp = await partners.client.post("/v1/stock-snapshots", json=body, headers=NORTHWIND)

    assert resp.status_code == 200, resp.text
    assert resp.json()["items"] == [{"sku": "WIDGET-BLUE", "counted": 40, "expected": 42, "drift": -2}]
    assert partners.inventory.received == [
        {
            "partner_id": "northwind-3pl",
            "warehouse": "WH-3PL",
            "counted_at": "2026-12-07T06:00:00+00:00",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": 40}],
        }
    ]


async def test_each_operation_needs_its_own_scope(partners: Partners) -> None:
    reader = Bearer(FULFILLMENT_REQUESTS_READ, client_id="northwind-3pl", partner_id="northwind-3pl")
    resp = await partners.client.post("/v1/shipments", json=asn(), headers=keyed("k-scope", reader))

    assert resp.status_code == 403
    assert partners.fulfillment.received == []


async def test_a_timestamp_must_be_iso_text_not_seconds(partners: Partners) -> None:
    body = {"counted_at": 0, "items": [{"sku": "WIDGET-BLUE", "qty": 40}]}

    resp = await partners.client.post("/v1/stock-snapshots", json=body, headers=NORTHWIND)

    assert resp.status_code == 422
    assert "ISO 8601" in resp.text
    assert partners.inventory.received == []


async def test_a_line_is_a_number_not_a_boolean(partners: Partners) -> None:
    resp = await partners.client.post(
        "/v1/shipments", json=asn(items=[{"line": True, "sku": "WIDGET-BLUE", "qty": 1}]), headers=keyed("k-bool")
    )

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/items/0/line"
    assert partners.fulfillment.received == []
