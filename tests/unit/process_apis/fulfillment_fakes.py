"""The tier below the fulfilment process, faked in one ``httpx.MockTransport``: the orders process
(an order read), the WMS (shipments, return receipts), the ERP (invoices, credit memos: numbered,
idempotent by shipment and return id as the real one) and the CRM (customer notices)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx


def _problem(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"type": "about:blank", "title": "x", "status": status, "detail": detail})


def order(order_id: str = "ord_1", *, status: str = "released", partner: str | None = "acme-market") -> dict[str, Any]:
    return {
        "id": order_id,
        "channel": "marketplace",
        "channel_order_id": f"MP-{order_id}",
        "partner_id": partner,
        "customer_id": "C-1001",
        "currency": "EUR",
        "status": status,
        "lines": [
            {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "3", "unit": "EA"}, "warehouse": "WH-3PL"},
            {"line_no": 2, "sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}, "warehouse": "AMS"},
        ],
        "erp_order_number": "SO-1",
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        "created_at": "2026-12-07T10:00:00Z",
        "updated_at": "2026-12-07T10:00:00Z",
    }


PRICES = {"WIDGET-BLUE": Decimal("19.99"), "CABLE-USB-C": Decimal("9.50")}


@dataclass
class FakeBelow:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    wms_shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    wms_receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_memos: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: (host, path) answering 503 while listed
    down: set[tuple[str, str]] = field(default_factory=set)
    #: the CRM has no account for the customer (refuses notices)
    no_crm_account: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path, method = request.url.host, request.url.path, request.method
        self.calls.append((method, f"{host}{path}"))
        if (host, path) in self.down:
            return _problem(503, "down for maintenance")
        body = json.loads(request.content) if request.content else {}
        if host == "orders.test" and method == "GET" and path.startswith("/v1/orders/"):
            found = self.orders.get(path.rsplit("/", 1)[1])
            return httpx.Response(200, json=found) if found else _problem(404, "No such order.")
        if host == "wms.test" and path == "/v1/shipments":
            self.wms_shipments.setdefault(body["shipment_id"], body)
            return httpx.Response(201, json=body)
        if host == "wms.test" and path == "/v1/return-receipts":
            self.wms_receipts.setdefault(body["return_id"], body)
            return httpx.Response(201, json=body)
        if host == "erp.test" and path == "/v1/invoices":
            return self._document(body, self.invoices, key="shipment_id", prefix="INV")
        if host == "erp.test" and path == "/v1/credit-memos":
            return self._document(body, self.credit_memos, key="return_id", prefix="CM")
        if host == "crm.test" and path == "/v1/customer-notices" and self.no_crm_account:
            return _problem(422, f"No account for customer {body['customer_id']}.")
        if host == "crm.test" and path == "/v1/customer-notices":
            self.notices.setdefault((body["kind"], body["reference"]), body)
            return httpx.Response(201, json={"id": "n1", **body})
        return _problem(404, f"no route {method} {path}")

    def _document(
        self, body: dict[str, Any], store: dict[str, dict[str, Any]], *, key: str, prefix: str
    ) -> httpx.Response:
        if body[key] in store:
            return httpx.Response(200, json=store[body[key]])
        if body["order_reference"] not in self.orders:
            return _problem(404, "No sales order with this external reference.")
        lines = []
        for n, line in enumerate(body["lines"], start=1):
            price = PRICES[line["sku"]]
            total = price * Decimal(line["quantity"]["value"])
            lines.append(
                {
                    "line_no": n,
                    "sku": line["sku"],
                    "quantity": line["quantity"],
                    "unit_price": {"amount": f"{price:.2f}", "currency": "EUR"},
                    "line_total": {"amount": f"{total:.2f}", "currency": "EUR"},
                }
            )
        total = sum((Decimal(ln["line_total"]["amount"]) for ln in lines), Decimal(0))
        number = f"{prefix}-{len(store) + 1:06d}"
        doc = {
            f"{'invoice' if prefix == 'INV' else 'credit_memo'}_number": number,
            "order_id": body["order_reference"],
            "erp_order_number": "SO-1",
            key: body[key],
            "currency": "EUR",
            "lines": lines,
            "total": {"amount": f"{total:.2f}", "currency": "EUR"},
            "issued_at": "2026-12-07T12:00:00Z",
        }
        store[body[key]] = doc
        return httpx.Response(201, json=doc)
