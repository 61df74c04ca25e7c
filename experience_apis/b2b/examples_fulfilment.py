"""Per-operation examples of the B2B contract's availability, invoices and credit memos, as the
reseller ``borealis-hw`` (ERP account C-2001) on the demo data."""

from __future__ import annotations

from experience_apis.b2b.examples import NOT_YOURS, ORDER_ID
from service_kit.openapi import OperationExamples

_EUR = "EUR"

FULFILMENT_EXAMPLES = {
    "getCatalogAvailability": OperationExamples(
        "Stock in two warehouses",
        parameters={"sku": "WIDGET-BLUE"},
        responses={
            200: {
                "sku": "WIDGET-BLUE",
                "available": {"value": "215", "unit": "EA"},
                "warehouses": [
                    {"warehouse": "AMS", "available": {"value": "140", "unit": "EA"}},
                    {"warehouse": "RTM", "available": {"value": "75", "unit": "EA"}},
                ],
            },
            404: {
                "type": "https://interchange.example/problems/not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "No stock of 'NO-SUCH-SKU' is known in any warehouse; see the SKUs you can buy at "
                "/b2b/v1/catalog.",
            },
        },
    ),
    "listPurchaseOrderInvoices": OperationExamples(
        "The invoice of the order's one shipment",
        parameters={"order_id": ORDER_ID},
        responses={
            200: {
                "items": [
                    {
                        "invoice_number": "INV-000042",
                        "order_id": ORDER_ID,
                        "erp_order_number": "SO-000042",
                        "shipment_id": "shp_01JEXAMPLE000000000000000",
                        "currency": _EUR,
                        "lines": [
                            {
                                "line_no": 1,
                                "sku": "WIDGET-BLUE",
                                "quantity": {"value": "10", "unit": "EA"},
                                "unit_price": {"amount": "17.99", "currency": _EUR},
                                "line_total": {"amount": "179.90", "currency": _EUR},
                            }
                        ],
                        "total": {"amount": "179.90", "currency": _EUR},
                        "issued_at": "2026-12-07T14:05:00Z",
                    }
                ]
            },
            404: NOT_YOURS,
        },
    ),
    "listPurchaseOrderCreditMemos": OperationExamples(
        "Two units returned and credited",
        parameters={"order_id": ORDER_ID},
        responses={
            200: {
                "items": [
                    {
                        "credit_memo_number": "CM-000007",
                        "return_id": "RMA-2026-0007",
                        "lines": [
                            {
                                "line_no": 1,
                                "sku": "WIDGET-BLUE",
                                "quantity": {"value": "2", "unit": "EA"},
                                "unit_price": {"amount": "17.99", "currency": "EUR"},
                                "line_total": {"amount": "35.98", "currency": "EUR"},
                            }
                        ],
                        "requested_at": "2026-12-09T08:00:00Z",
                        "total": {"amount": "35.98", "currency": "EUR"},
                        "currency": "EUR",
                        "issued_at": "2026-12-09T09:30:00Z",
                        "invoice_number": "INV-000041",
                    }
                ]
            },
            404: NOT_YOURS,
        },
    ),
}
