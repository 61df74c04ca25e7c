"""Per-operation examples of the B2B contract (``service_kit.openapi.add_examples``): real calls on
the demo data, as the reseller ``borealis-hw`` (ERP account C-2001, price list TRADE-10)."""

from __future__ import annotations

from service_kit.openapi import OperationExamples

ORDER_ID = "ord_01JEXAMPLE0000000000000000"
_PO = {
    "po_number": "PO-2026-0042",
    "lines": [
        {"sku": "WIDGET-BLUE", "quantity": {"value": "10", "unit": "EA"}},
        {"sku": "CABLE-USB-C", "quantity": {"value": "25", "unit": "EA"}},
    ],
    "ship_to": {
        "name": "Borealis Hardware GmbH",
        "line1": "Hafenstrasse 12",
        "city": "Hamburg",
        "postal_code": "20457",
        "country": "DE",
    },
}
_ORDER = {
    "order_id": ORDER_ID,
    "po_number": "PO-2026-0042",
    "status": "accepted",
    "currency": "EUR",
    "lines": [
        {
            "line_no": 1,
            "sku": "WIDGET-BLUE",
            "quantity": {"value": "10", "unit": "EA"},
            "unit_price": {"amount": "17.99", "currency": "EUR"},
            "line_total": {"amount": "179.90", "currency": "EUR"},
            "warehouse": "AMS",
        },
        {
            "line_no": 2,
            "sku": "CABLE-USB-C",
            "quantity": {"value": "25", "unit": "EA"},
            "unit_price": {"amount": "8.55", "currency": "EUR"},
            "line_total": {"amount": "213.75", "currency": "EUR"},
            "warehouse": "AMS",
        },
    ],
    "total": {"amount": "393.65", "currency": "EUR"},
    "erp_order_number": "SO-000042",
    "ship_to": _PO["ship_to"],
    "created_at": "2026-12-07T09:30:00Z",
    "updated_at": "2026-12-07T09:30:02Z",
}
NOT_YOURS = {
    "type": "https://interchange.example/problems/not-found",
    "title": "Not Found",
    "status": 404,
    "detail": f"No purchase order {ORDER_ID!r} of yours; list them at /b2b/v1/purchase-orders.",
}

EXAMPLES = {
    "getCatalog": OperationExamples(
        "Your prices",
        responses={
            200: {
                "price_list": "TRADE-10",
                "currency": "EUR",
                "items": [
                    {
                        "sku": "WIDGET-BLUE",
                        "unit": "EA",
                        "unit_price": {"amount": "17.99", "currency": "EUR"},
                        "status": "active",
                    },
                    {
                        "sku": "LEGACY-DIAL",
                        "unit": "EA",
                        "unit_price": {"amount": "27.00", "currency": "EUR"},
                        "status": "discontinued",
                    },
                ],
            }
        },
    ),
    "submitPurchaseOrder": OperationExamples(
        "A purchase order of two lines",
        request=_PO,
        parameters={"Idempotency-Key": "po-2026-0042-1"},
        responses={
            202: {
                "order_id": ORDER_ID,
                "po_number": "PO-2026-0042",
                "status": "received",
                "status_url": f"/b2b/v1/purchase-orders/{ORDER_ID}",
            }
        },
    ),
    "listPurchaseOrders": OperationExamples(
        "Your order history", parameters={"limit": 50, "offset": 0}, responses={200: {"items": [_ORDER]}}
    ),
    "getPurchaseOrder": OperationExamples(
        "An accepted order with its ERP sales order",
        parameters={"order_id": ORDER_ID},
        responses={200: _ORDER, 404: NOT_YOURS},
    ),
    "getAccount": OperationExamples(
        "A trade account with open orders",
        responses={
            200: {
                "customer_id": "C-2001",
                "name": "Borealis Hardware GmbH",
                "status": "active",
                "currency": "EUR",
                "price_list": "TRADE-10",
                "credit_limit": {"amount": "5000.00", "currency": "EUR"},
                "open_orders": {"amount": "393.65", "currency": "EUR"},
                "credit_headroom": {"amount": "4606.35", "currency": "EUR"},
            }
        },
    ),
}
