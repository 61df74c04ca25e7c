"""Per-operation examples of version 2's shipments, invoices and returns (``add_examples``), on the
demo order ACME-100234 of ``acme-market`` (seller SKUs ACME-WB and ACME-USB)."""

from __future__ import annotations

from service_kit.openapi import OperationExamples

_ORDER = "ACME-100234"
_NOT_YOURS = {
    "type": "urn:interchange:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": f"This partner has submitted no order {_ORDER!r}.",
}
_SHIPMENT = {
    "shipment_id": "ASN-2026-0001",
    "carrier": "DHL",
    "tracking_number": "JD014600006281230704",
    "tracking_url": "https://www.dhl.com/track?id=JD014600006281230704",
    "shipped_at": "2026-12-07T14:05:00Z",
    "status": "notified",
    "invoice_number": "INV-000042",
    "lines": [{"seller_sku": "ACME-WB", "quantity": 2}],
}
_INVOICE = {
    "invoice_number": "INV-000042",
    "shipment_id": "ASN-2026-0001",
    "issued_at": "2026-12-07T14:05:03Z",
    "lines": [
        {
            "seller_sku": "ACME-WB",
            "quantity": 2,
            "unit_price": {"amount": "19.99", "currency": "EUR"},
            "line_total": {"amount": "39.98", "currency": "EUR"},
        }
    ],
    "total": {"amount": "39.98", "currency": "EUR"},
}
_RETURN = {
    "return_reference": "RMA-ACME-100234-1",
    "lines": [{"seller_sku": "ACME-WB", "quantity": 1, "reason": "arrived damaged"}],
}
_NOTHING_SHIPPED = {
    "type": "urn:interchange:problem:business-rule-violation",
    "title": "The request breaks a business rule",
    "status": 422,
    "detail": "Nothing of this order has shipped yet; only goods shipped can be returned.",
    "errors": [{"pointer": "#/lines", "in": "body", "detail": "Nothing of this order has shipped yet."}],
}

FULFILLMENT_EXAMPLES = {
    "listOrderShipmentsV2": OperationExamples(
        "Shipped in one part so far",
        parameters={"marketplace_order_id": _ORDER},
        responses={200: {"marketplace_order_id": _ORDER, "items": [_SHIPMENT]}, 404: _NOT_YOURS},
    ),
    "listOrderInvoicesV2": OperationExamples(
        "The first part's invoice",
        parameters={"marketplace_order_id": _ORDER},
        responses={200: {"marketplace_order_id": _ORDER, "items": [_INVOICE]}, 404: _NOT_YOURS},
    ),
    "requestReturnV2": OperationExamples(
        "One unit back",
        request=_RETURN,
        parameters={"marketplace_order_id": _ORDER, "Idempotency-Key": "acme-rma-100234-1"},
        responses={
            201: {
                **_RETURN,
                "marketplace_order_id": _ORDER,
                "status": "authorised",
                "credit_memo_number": None,
                "created_at": "2026-12-08T10:00:00Z",
            },
            404: _NOT_YOURS,
            422: _NOTHING_SHIPPED,
        },
    ),
}
