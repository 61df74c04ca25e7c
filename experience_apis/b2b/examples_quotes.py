"""Per-operation examples of the B2B contract's quotes, as the reseller ``borealis-hw`` (price list TRADE-10)."""

from __future__ import annotations

from service_kit.openapi import OperationExamples

QUOTE_ID = "qt_5f0c2a9e81d4b7c3e6a1f0d2"
_QUOTE = {
    "quote_id": QUOTE_ID,
    "price_list": "TRADE-10",
    "currency": "EUR",
    "lines": [
        {
            "line_no": 1,
            "sku": "WIDGET-BLUE",
            "quantity": {"value": "10", "unit": "EA"},
            "unit_price": {"amount": "17.99", "currency": "EUR"},
            "line_total": {"amount": "179.90", "currency": "EUR"},
        },
        {
            "line_no": 2,
            "sku": "CABLE-USB-C",
            "quantity": {"value": "25", "unit": "EA"},
            "unit_price": {"amount": "8.55", "currency": "EUR"},
            "line_total": {"amount": "213.75", "currency": "EUR"},
        },
    ],
    "total": {"amount": "393.65", "currency": "EUR"},
    "created_at": "2026-12-07T09:00:00Z",
    "valid_until": "2026-12-10T09:00:00Z",
}

QUOTE_EXAMPLES = {
    "createQuote": OperationExamples(
        "A quote for two lines",
        request={
            "lines": [
                {"sku": "WIDGET-BLUE", "quantity": {"value": "10", "unit": "EA"}},
                {"sku": "CABLE-USB-C", "quantity": {"value": "25", "unit": "EA"}},
            ]
        },
        parameters={"Idempotency-Key": "quote-2026-0042"},
        responses={201: _QUOTE},
    ),
    "getQuote": OperationExamples(
        "A quote of yours",
        parameters={"quote_id": QUOTE_ID},
        responses={
            200: _QUOTE,
            404: {
                "type": "https://interchange.example/problems/not-found",
                "title": "Not Found",
                "status": 404,
                "detail": f"No quote {QUOTE_ID!r} of yours; ask for one at /b2b/v1/quotes.",
            },
        },
    ),
}
