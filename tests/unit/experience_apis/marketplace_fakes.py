"""The orders process API, faked behind the kit's routing transport for the marketplace tests: it
records what it was sent and answers like the orders API would. Plus the partners' tokens and
request bodies of both dialect versions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.scopes import MARKETPLACE_ORDERS_READ, MARKETPLACE_ORDERS_WRITE
from tests.support.tokens import Bearer

PROBLEM = "application/problem+json"
ACME = Bearer(
    MARKETPLACE_ORDERS_WRITE,
    MARKETPLACE_ORDERS_READ,
    client_id="acme-market",
    partner_id="acme-market",
    channel="marketplace",
)
ZENITH = Bearer(
    MARKETPLACE_ORDERS_WRITE,
    MARKETPLACE_ORDERS_READ,
    client_id="zenith-market",
    partner_id="zenith-market",
    channel="marketplace",
)
LIST_PRICES = {"WIDGET-BLUE": "19.99", "CABLE-USB-C": "9.50", "LEGACY-DIAL": "30.00"}


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "marketplace_order_id": "ACME-100234",
        "currency_code": "EUR",
        "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
        "shipping_address": {
            "recipient": "Jane Doe",
            "street": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "order_items": [
            {"seller_sku": "ACME-WB", "quantity_ordered": 2, "item_price": "18.50"},
            {"seller_sku": "ACME-USB", "quantity_ordered": 1, "item_price": "9.00"},
        ],
    }
    return body | overrides


def problem(status: int, slug: str, detail: str, **extra: Any) -> httpx.Response:
    body = {"type": f"urn:interchange:problem:{slug}", "title": slug, "status": status, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"content-type": PROBLEM})


@dataclass
class FakeOrdersApi:
    """Just enough of the orders process API: idempotent intake by key, reads scoped to the
    acting partner."""

    requests: list[httpx.Request] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    answer: httpx.Response | None = None
    down: bool = False
    #: channel_order_id -> the refusal (a problem response) its intake answers, alone or in a batch.
    refusals: dict[str, httpx.Response] = field(default_factory=dict)
    batches: bool = True  # False: an orders service without POST /v1/order-batches

    def posted(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused: http://orders.test:8201/v1/orders", request=request)
        if self.answer is not None:
            return self.answer
        path = request.url.path
        if request.method == "POST" and path == "/v1/orders":
            return self._take_in(request)
        if request.method == "POST" and path == "/v1/order-batches" and self.batches:
            return self._take_in_batch(request)
        if request.method == "GET" and path.startswith("/v1/orders/"):
            order = self.orders.get(path.removeprefix("/v1/orders/"))
            if order is None or order["partner_id"] != request.headers.get("X-Interchange-Partner"):
                return problem(404, "not-found", "No such order at http://orders.test/v1/orders.")
            return httpx.Response(200, json=order)
        return problem(404, "not-found", "No such route.")

    def _take_in_batch(self, request: httpx.Request) -> httpx.Response:
        """Each entry as ``POST /v1/orders`` takes it in, its answer as an entry's result."""
        results = []
        for entry in json.loads(request.content)["entries"]:
            headers = {"Idempotency-Key": entry["idempotency_key"]}
            if partner := request.headers.get("X-Interchange-Partner"):
                headers["X-Interchange-Partner"] = partner
            single = httpx.Request("POST", "http://orders.test/v1/orders", headers=headers, json=entry["order"])
            answer = self._take_in(single)
            result: dict[str, Any] = {"status": answer.status_code}
            result["order" if answer.status_code < 300 else "problem"] = answer.json()
            if retry_after := answer.headers.get("Retry-After"):
                result["retry_after"] = retry_after
            results.append(result)
        return httpx.Response(200, json={"results": results})

    def _take_in(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        body = json.loads(request.content)
        if (refused := self.refusals.get(body["channel_order_id"])) is not None:
            return refused
        order_id = self.keys.setdefault(key, f"ord_{len(self.keys) + 1:04d}")
        self.orders.setdefault(
            order_id,
            {
                "id": order_id,
                "channel": body["channel"],
                "channel_order_id": body["channel_order_id"],
                "partner_id": request.headers.get("X-Interchange-Partner"),
                "customer_id": body["customer_id"],
                "currency": body["currency"],
                "status": "received",
                "lines": [
                    {"line_no": n, "sku": line["sku"], "quantity": line["quantity"]}
                    for n, line in enumerate(body["lines"], start=1)
                ],
                "ship_to": body.get("ship_to"),
                "created_at": "2025-01-01T10:00:00Z",
                "updated_at": "2025-01-01T10:00:00Z",
            },
        )
        status_url = f"/v1/orders/{order_id}"
        return httpx.Response(
            202, json={"id": order_id, "status": "received", "status_url": status_url}, headers={"Location": status_url}
        )

    def accept(self, order_id: str, *, erp_order_number: str) -> None:
        """What the orders saga leaves behind once the order is priced, reserved and booked."""
        order = self.orders[order_id]
        total = 0.0
        for line in order["lines"]:
            price = LIST_PRICES[line["sku"]]
            line_total = float(price) * int(line["quantity"]["value"])
            total += line_total
            line["unit_price"] = {"amount": price, "currency": "EUR"}
            line["line_total"] = {"amount": f"{line_total:.2f}", "currency": "EUR"}
            line["warehouse"] = "AMS"
        order.update(
            status="accepted",
            erp_order_number=erp_order_number,
            reservation_id="res_0001",
            total={"amount": f"{total:.2f}", "currency": "EUR"},
            some_field_added_later={"tolerated": True},
        )


def order_body_v2(**overrides: Any) -> dict[str, Any]:
    """The same order as ``order_body``, in version 2 of the dialect."""
    body: dict[str, Any] = {
        "marketplace_order_id": "ACME-100234",
        "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
        "shipping_address": {
            "recipient": "Jane Doe",
            "street": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "lines": [
            {"seller_sku": "ACME-WB", "quantity": 2, "item_price": {"amount": "18.50", "currency": "EUR"}},
            {"seller_sku": "ACME-USB", "quantity": 1, "item_price": {"amount": "9.00", "currency": "EUR"}},
        ],
    }
    return body | overrides
