"""The fulfilment and inventory process APIs, faked behind the kit's routing transport for the
fulfilment partners' and the marketplace's tests. The fake fulfilment API keeps requests,
shipments, invoices and returns per partner and refuses as ISSUE11.md says the real one does
(another partner's request 404, an unknown line or a quantity above what is left 422 naming the
line in FastAPI's ``loc``/``msg`` as the real one does, nothing recorded on a refusal, a keyed
retry replays)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx

from tests.unit.experience_apis.marketplace_fakes import problem

PARTNER_HEADER = "x-interchange-partner"
T0 = "2026-12-07T09:30:05Z"


def qty(value: int | str) -> dict[str, str]:
    return {"value": str(value), "unit": "EA"}


@dataclass
class FakeFulfillmentApi:
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    returns: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: order id -> the channel partner that placed it (its shipments are that partner's to read).
    order_partners: dict[str, str] = field(default_factory=dict)
    keys: dict[str, tuple[str, httpx.Response]] = field(default_factory=dict)
    received: list[httpx.Request] = field(default_factory=list)

    def add_request(
        self, request_id: str, *, partner: str = "northwind-3pl", order_id: str = "ord_1", lines: int = 2
    ) -> None:
        self.requests[request_id] = {
            "request_id": request_id,
            "order_id": order_id,
            "partner_id": partner,
            "warehouse": "WH-3PL",
            "lines": [
                {"line_no": n, "sku": sku, "quantity": qty(3), "shipped_quantity": qty(0)}
                for n, sku in enumerate(["WIDGET-BLUE", "CABLE-USB-C"][:lines], start=1)
            ],
            "ship_to": None,
            "status": "open",
            "created_at": T0,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        partner = request.headers.get(PARTNER_HEADER)
        path = unquote(request.url.path)
        parts = path.strip("/").split("/")[1:]  # without "v1"
        if request.method == "GET" and parts == ["fulfillment-requests"]:
            mine = [r for r in self.requests.values() if r["partner_id"] == partner]
            return httpx.Response(200, json={"items": mine})
        if request.method == "GET" and parts[0] == "fulfillment-requests":
            found = self.requests.get(parts[1])
            if found is None or found["partner_id"] != partner:
                return problem(404, "not-found", "No such fulfilment request.")
            return httpx.Response(200, json=found)
        if request.method == "POST" and parts == ["shipments"]:
            return self._keyed(request, self._ship)
        if request.method == "GET" and parts[0] == "shipments":
            shipment = self.shipments.get(parts[1])
            if shipment is None or shipment["partner_id"] != partner:
                return problem(404, "not-found", "No such shipment.")
            return httpx.Response(200, json=shipment)
        if request.method == "GET" and parts[0] == "orders" and len(parts) == 3:
            order_id, what = parts[1], parts[2]
            if self.order_partners.get(order_id) != partner:
                return problem(404, "not-found", "No such order.")
            if what == "shipments":
                items = [s for s in self.shipments.values() if s["order_id"] == order_id]
            else:
                items = self.invoices.get(order_id, [])
            return httpx.Response(200, json={"items": items})
        if request.method == "POST" and parts == ["returns"]:
            return self._keyed(request, self._authorise_return)
        if request.method == "POST" and parts[0] == "returns" and parts[2:] == ["receipts"]:
            found = self.returns.get(parts[1])
            if found is None:
                return problem(404, "not-found", "No such return.")
            found["status"] = "received"
            return httpx.Response(202, json={"return_id": parts[1], "status": "received"})
        return problem(404, "not-found", f"fake: no route {request.method} {path}")

    def _keyed(self, request: httpx.Request, handler: Any) -> httpx.Response:
        key = request.headers.get("idempotency-key", "")
        body = request.content.decode()
        if key in self.keys:
            first_body, answer = self.keys[key]
            if first_body != body:
                return problem(422, "validation-failed", "Idempotency-Key reused with another body.")
            return answer
        answer = handler(request, json.loads(body))
        if answer.status_code < 400:
            self.keys[key] = (body, answer)
        return answer

    def _ship(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        partner = request.headers.get(PARTNER_HEADER)
        found = self.requests.get(body.get("request_id", ""))
        if found is None or found["partner_id"] != partner:
            return problem(404, "not-found", "No such fulfilment request of this partner.")
        used = self.shipments.get(body["shipment_id"])
        if used is not None and used["partner_id"] != partner:  # as the real one: one id space for all
            return problem(409, "conflict", f"Shipment id {body['shipment_id']} is already used.")
        by_line = {line["line_no"]: line for line in found["lines"]}
        errors = []
        for n, line in enumerate(body["lines"]):
            known = by_line.get(line["line_no"])
            if known is None:
                errors.append({"loc": ["body", "lines", n], "msg": "Not a line of the request."})
                continue
            left = Decimal(known["quantity"]["value"]) - Decimal(known["shipped_quantity"]["value"])
            if Decimal(line["quantity"]["value"]) > left:
                errors.append({"loc": ["body", "lines", n], "msg": f"At most {left} left."})
        if errors:
            return problem(422, "business-rule-violation", "The shipment does not fit the request.", errors=errors)
        for line in body["lines"]:
            shipped = by_line[line["line_no"]]["shipped_quantity"]
            shipped["value"] = str(Decimal(shipped["value"]) + Decimal(line["quantity"]["value"]))
        shipment = {**body, "partner_id": partner, "status": "recorded", "invoice_number": None, "created_at": T0}
        shipment.pop("request_id")
        self.shipments[body["shipment_id"]] = shipment
        status_url = f"/v1/shipments/{body['shipment_id']}"
        return httpx.Response(
            202, json={"shipment_id": body["shipment_id"], "status": "recorded", "status_url": status_url}
        )

    def _authorise_return(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        partner = request.headers.get(PARTNER_HEADER)
        if self.order_partners.get(body["order_id"]) != partner:
            return problem(404, "not-found", "No such order.")
        used = self.returns.get(body["return_id"])
        if used is not None and used["order_id"] != body["order_id"]:  # as the real one: one id space for all
            return problem(409, "conflict", f"Return id {body['return_id']} is already used.")
        shipped: dict[int, Decimal] = {}
        for shipment in self.shipments.values():
            if shipment["order_id"] == body["order_id"]:
                for line in shipment["lines"]:
                    shipped[line["line_no"]] = shipped.get(line["line_no"], Decimal(0)) + Decimal(
                        line["quantity"]["value"]
                    )
        errors = [
            {"loc": ["body", "lines", n], "msg": "More than shipped."}
            for n, line in enumerate(body["lines"])
            if Decimal(line["quantity"]["value"]) > shipped.get(line["line_no"], Decimal(0))
        ]
        if errors:
            return problem(422, "business-rule-violation", "Only goods shipped can be returned.", errors=errors)
        answer = {**body, "status": "authorised", "received_lines": [], "credit_memo_number": None, "created_at": T0}
        self.returns[body["return_id"]] = answer
        return httpx.Response(201, json=answer)


@dataclass
class FakeInventoryApi:
    on_hand: dict[str, int] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.received.append(body)
        items = [
            {
                "sku": line["sku"],
                "counted": line["quantity"],
                "wms_on_hand": self.on_hand.get(line["sku"], 0),
                "drift": line["quantity"] - self.on_hand.get(line["sku"], 0),
            }
            for line in body["lines"]
        ]
        return httpx.Response(
            200,
            json={
                "partner_id": body["partner_id"],
                "warehouse": body["warehouse"],
                "counted_at": body["counted_at"],
                "checked_at": T0,
                "items": items,
                "drifted": sum(1 for i in items if i["drift"]),
                "uncounted": [],
            },
        )
