"""Per-operation examples of the 3PL contract (``service_kit.openapi.add_examples``), as the demo
partner ``northwind-3pl`` sees them: it operates warehouse WH-3PL for the seller."""

from __future__ import annotations

from service_kit.openapi import OperationExamples

_REQUEST_ID = "fr_01JEXAMPLE"
_REQUEST = {
    "request_id": _REQUEST_ID,
    "order_reference": "ord_01JEXAMPLE0000000000000000",
    "warehouse": "WH-3PL",
    "status": "partly_shipped",
    "ship_to": {
        "name": "Jane Doe",
        "line1": "Damrak 1",
        "city": "Amsterdam",
        "postal_code": "1012 LG",
        "country": "NL",
    },
    "items": [
        {"line": 1, "sku": "WIDGET-BLUE", "qty": 3, "shipped_qty": 2},
        {"line": 2, "sku": "CABLE-USB-C", "qty": 1, "shipped_qty": 0},
    ],
    "created_at": "2026-12-07T09:30:05Z",
}
_ASN = {
    "asn_number": "ASN-2026-0001",
    "request_id": _REQUEST_ID,
    "carrier": "DHL",
    "tracking": "JD014600006281230704",
    "tracking_url": "https://www.dhl.com/track?id=JD014600006281230704",
    "shipped_at": "2026-12-07T14:05:00Z",
    "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 2}],
}
_NO_REQUEST = {
    "type": "urn:interchange:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": f"No fulfilment request {_REQUEST_ID!r} of yours; list them at "
    "/fulfillment_partners/v1/fulfillment-requests.",
}
_OVER = {
    "type": "urn:interchange:problem:business-rule-violation",
    "title": "The request breaks a business rule",
    "status": 422,
    "detail": "Line 1 has 1 unit left to ship.",
    "errors": [{"pointer": "#/items/0/qty", "in": "body", "detail": "At most 1 unit is left to ship on line 1."}],
}

_WEBHOOK = {
    "id": "whsub_5f0c6f0e2b9d4a8e9a3c1b7d2e4f6a80",
    "url": "https://hooks.northwind-3pl.example/interchange",
    "event_types": ["fulfillment.requested"],
    "description": "new picks for WH-3PL",
    "created_at": "2026-12-07T09:00:00Z",
}
_DELIVERY = {
    "id": "msg_2b9d4a8e",
    "event_type": "fulfillment.requested",
    "status": "dead",
    "attempts": 9,
    "last_error": "HTTP 503",
    "last_status_code": 503,
    "created_at": "2026-12-07T09:30:06Z",
}
_NO_WEBHOOK = {
    "type": "urn:interchange:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "No webhook subscription whsub_5f0c6f0e2b9d4a8e9a3c1b7d2e4f6a80.",
}

EXAMPLES = {
    "listFulfillmentRequests": OperationExamples(
        "What is still to ship",
        parameters={"status": "partly_shipped", "limit": 50, "offset": 0},
        responses={200: {"items": [_REQUEST], "next_offset": None}},
    ),
    "getFulfillmentRequest": OperationExamples(
        "A request partly shipped", parameters={"request_id": _REQUEST_ID}, responses={200: _REQUEST, 404: _NO_REQUEST}
    ),
    "postShipmentNotice": OperationExamples(
        "The first parcel of a request",
        request=_ASN,
        parameters={"Idempotency-Key": "asn-2026-0001"},
        responses={
            202: {
                "asn_number": "ASN-2026-0001",
                "status": "recorded",
                "status_url": "/fulfillment_partners/v1/shipments/ASN-2026-0001",
            },
            404: _NO_REQUEST,
            422: _OVER,
        },
    ),
    "getShipmentNotice": OperationExamples(
        "An invoiced shipment",
        parameters={"asn": "ASN-2026-0001"},
        responses={
            200: {
                **{k: v for k, v in _ASN.items() if k != "request_id"},
                "order_reference": "ord_01JEXAMPLE0000000000000000",
                "warehouse": "WH-3PL",
                "status": "invoiced",
                "invoice_number": "INV-000042",
                "created_at": "2026-12-07T14:05:02Z",
            }
        },
    ),
    "postReturnReceipt": OperationExamples(
        "One unit back, sellable",
        request={
            "rma_number": "RMA-2026-0001",
            "received_at": "2026-12-09T10:30:00Z",
            "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 1, "condition": "sellable"}],
        },
        parameters={"Idempotency-Key": "rma-2026-0001-receipt"},
        responses={202: {"rma_number": "RMA-2026-0001", "status": "received"}},
    ),
    "postStockSnapshot": OperationExamples(
        "This morning's count",
        request={"counted_at": "2026-12-07T06:00:00Z", "items": [{"sku": "WIDGET-BLUE", "qty": 40}]},
        responses={
            200: {
                "warehouse": "WH-3PL",
                "counted_at": "2026-12-07T06:00:00Z",
                "checked_at": "2026-12-07T06:00:01Z",
                "items": [{"sku": "WIDGET-BLUE", "counted": 40, "expected": 42, "drift": -2}],
                "drifted": 1,
                "uncounted": [],
            }
        },
    ),
    "listFulfillmentWebhooks": OperationExamples("One subscription", responses={200: {"items": [_WEBHOOK]}}),
    "deleteFulfillmentWebhook": OperationExamples(
        "Unsubscribe", parameters={"webhook_id": _WEBHOOK["id"]}, responses={404: _NO_WEBHOOK}
    ),
    "listFulfillmentWebhookDeliveries": OperationExamples(
        "Deliveries that failed for good",
        parameters={"webhook_id": _WEBHOOK["id"], "status": "dead", "limit": 20},
        responses={200: {"items": [_DELIVERY]}, 404: _NO_WEBHOOK},
    ),
    "replayFulfillmentWebhookDelivery": OperationExamples(
        "Send a dead delivery again",
        parameters={"webhook_id": _WEBHOOK["id"], "delivery_id": _DELIVERY["id"]},
        responses={
            202: {**_DELIVERY, "status": "pending", "attempts": 0, "next_attempt_at": "2026-12-10T08:00:00Z"},
            404: _NO_WEBHOOK,
        },
    ),
    "createFulfillmentWebhook": OperationExamples(
        "New requests pushed to your system",
        request={
            "url": "https://hooks.northwind-3pl.example/interchange",
            "event_types": ["fulfillment.requested"],
            "description": "new picks for WH-3PL",
        },
        responses={201: {**_WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
    ),
}
