"""A fake tier below the orders API (ERP, WMS, CRM) behind one ``httpx.MockTransport``, routed by
host, keeping the documents it creates and every request it saw. It follows docs/first-flow.md:
sales orders and reservations are unique by reference, the stock rule picks one warehouse that
can ship everything, and a shortage is a 422 ``insufficient-stock`` problem naming the SKUs."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

ERP, WMS, CRM = "erp.test", "wms.test", "crm.test"
NOW = "2026-01-01T00:00:00Z"


def _customer(
    cid: str, name: str, kind: str, status: str = "active", discount: str = "0", limit: str | None = None
) -> dict[str, Any]:
    # "price_list_discount" is not canonical: the orders API must tolerate fields it does not know.
    customer: dict[str, Any] = {
        "id": cid,
        "name": name,
        "kind": kind,
        "status": status,
        "currency": "EUR",
        "price_list_discount": discount,
    }
    if limit is not None:
        customer["credit_limit"] = {"amount": limit, "currency": "EUR"}
    return customer


def _item(sku: str, name: str, price: str, status: str = "active") -> dict[str, Any]:
    return {
        "sku": sku,
        "name": name,
        "unit": "EA",
        "status": status,
        "list_price": {"amount": price, "currency": "EUR"},
    }


def _problem(status: int, detail: str, *, slug: str = "business-rule-violation", **extra: Any) -> httpx.Response:
    body = {"type": f"urn:interchange:problem:{slug}", "title": slug, "status": status, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


class SimulatedCrash(BaseException):
    """The process running the saga dies right after the tier below did the work (a SIGKILL):
    a BaseException, so nothing in the saga catches it."""


@dataclass
class FakeTier:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    sales_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    #: hosts answering 503 to everything
    down: set[str] = field(default_factory=set)
    #: (host, method, path) answering 503
    failing: set[tuple[str, str, str]] = field(default_factory=set)
    refuse_sales_orders: str | None = None
    #: external reference -> why the ERP refuses that one sales order (others are booked)
    refuse_entries: dict[str, str] = field(default_factory=dict)
    #: customer id -> why the CRM refuses its activities (no account; others are recorded)
    refuse_activities: dict[str, str] = field(default_factory=dict)
    #: the ERP books the next sales order, then its answer is lost: "drop" (connection reset)
    #: or "503" (a proxy in front of it fails)
    lose_next_sales_order_answer: str | None = None
    #: injected faults: (host, method, path suffix) -> kinds still to play, first first: "503",
    #: "timeout" (no answer in time), "lost" (done below, then the connection drops), "refuse"
    #: (422), "too-late" (the WMS says picking is done), "crash" (done below, then the process dies)
    faults: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fault(self, host: str, method: str, path: str, *kinds: str) -> None:
        self.faults.setdefault((host, method, path), []).extend(kinds)

    def _fault_for(self, host: str, method: str, path: str) -> str | None:
        for (h, m, suffix), kinds in self.faults.items():
            if (h, m) == (host, method) and path.endswith(suffix) and kinds:
                return kinds.pop(0)
        return None

    @classmethod
    def demo(cls) -> FakeTier:
        tier = cls()
        for c in (
            _customer("C-1001", "Acme Market", "b2c"),
            _customer("C-1002", "Zenith Market", "b2c"),
            _customer("C-2001", "Borealis Hardware GmbH", "b2b", discount="0.10", limit="5000.00"),
            _customer("C-2002", "Closed Shop Ltd", "b2b", status="inactive"),
        ):
            tier.customers[c["id"]] = c
        for i in (
            _item("WIDGET-BLUE", "Blue widget", "19.99"),
            _item("WIDGET-RED", "Red widget", "19.99"),
            _item("GADGET-PRO", "Gadget Pro", "149.00"),
            _item("CABLE-USB-C", "USB-C cable 1 m", "9.50"),
            _item("LEGACY-DIAL", "Rotary dial", "30.00", status="discontinued"),
        ):
            tier.items[i["sku"]] = i
        for sku, ams, rtm in (
            ("WIDGET-BLUE", 100, 40),
            ("WIDGET-RED", 5, 0),
            ("GADGET-PRO", 0, 12),
            ("CABLE-USB-C", 500, 500),
            ("LEGACY-DIAL", 3, 0),
        ):
            tier.stock[(sku, "AMS")], tier.stock[(sku, "RTM")] = ams, rtm
        return tier

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def seen(self, method: str, host: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.host, r.url.path) == (method, host, path)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host, method, path = request.url.host, request.method, request.url.path
        if host in self.down or (host, method, path) in self.failing:
            return _problem(503, f"{host} is down", slug="unavailable")
        body: Any = json.loads(request.content) if request.content else None
        route = {ERP: self._erp, WMS: self._wms, CRM: self._crm}.get(host)
        if route is None:
            raise httpx.ConnectError(f"no route to {host}", request=request)
        fault = self._fault_for(host, method, path)
        if fault == "503":
            return _problem(503, f"{host} failed", slug="unavailable")
        if fault == "timeout":
            raise httpx.ReadTimeout("no answer in time", request=request)
        if fault == "refuse" and path.endswith("/sales-order-batches"):
            return self._batch(request, body, refuse=f"{host} refuses {path}")  # each entry refused
        if fault == "refuse" and path.endswith(("/reservation-batches", "/pick-release-batches")):
            return self._wms_batch(path, body, refuse=f"{host} refuses {path}")  # each entry refused
        if fault == "refuse" and path.endswith("/activity-batches"):
            return self._activity_batch(body, refuse=f"{host} refuses {path}")  # each entry refused
        if fault == "refuse":
            return _problem(422, f"{host} refuses {path}")
        if fault == "too-late":
            return _problem(422, "already picked", slug="picking-too-late")
        answer = route(method, path.split("/")[2:], request, body)
        if fault == "lost":
            raise httpx.ReadError("connection reset by peer", request=request)
        if fault == "crash":
            raise SimulatedCrash(path)
        return answer

    def active_reservations(self) -> list[dict[str, Any]]:
        return [r for r in self.reservations.values() if r["status"] != "released"]

    def open_sales_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.sales_orders.values() if o["status"] == "open"]

    # ERP -------------------------------------------------------------------------------------

    def _erp(self, method: str, parts: list[str], request: httpx.Request, body: Any) -> httpx.Response:
        match method, parts:
            case "GET", ["customers", cid]:
                if cid not in self.customers:
                    return _problem(404, f"No customer {cid!r}.", slug="not-found")
                return httpx.Response(200, json=self.customers[cid])
            case "GET", ["items"]:
                wanted = request.url.params.get_list("sku")
                return httpx.Response(200, json={"items": [self.items[s] for s in wanted if s in self.items]})
            case "POST", ["sales-order-batches"]:
                return self._batch(request, body)
            case "GET", ["customer-terms", cid]:
                if cid not in self.customers:
                    return _problem(404, f"No customer {cid!r}.", slug="not-found")
                return httpx.Response(200, json=self._terms(self.customers[cid]))
            case "GET", ["customer-terms"]:
                return httpx.Response(200, json={"items": [self._terms(c) for c in self.customers.values()]})
            case "GET", ["price-lists"]:
                wanted = request.url.params.get_list("code")
                lists = self._price_lists()
                return httpx.Response(200, json={"items": [p for p in lists if not wanted or p["code"] in wanted]})
            case "GET", ["sales-orders"]:
                ref = request.url.params.get("external_reference")
                return httpx.Response(200, json={"items": [o for r, o in self.sales_orders.items() if r == ref]})
            case "POST", ["sales-orders", number, "cancel"]:
                for order in self.sales_orders.values():
                    if order.get("number") == number:
                        order["status"] = "cancelled"
                        return httpx.Response(200, json=order)
                return _problem(404, f"No sales order {number!r} in the ERP.", slug="not-found")
        return _problem(404, "no such route", slug="not-found")

    # Master data: a price list per discount ("LIST" without one), versions from "version" fields.

    @staticmethod
    def _price_list_code(customer: dict[str, Any]) -> str:
        discount = customer["price_list_discount"]
        return "LIST" if Decimal(discount) == 0 else f"DISCOUNT-{discount}"

    def _terms(self, customer: dict[str, Any]) -> dict[str, Any]:
        canonical = {k: v for k, v in customer.items() if k not in ("price_list_discount", "version")}
        return {
            "customer": canonical,
            "price_list": self._price_list_code(customer),
            "version": customer.get("version", 0),
        }

    def _price_lists(self) -> list[dict[str, Any]]:
        discounts = {"LIST": Decimal(0)} | {
            self._price_list_code(c): Decimal(c["price_list_discount"]) for c in self.customers.values()
        }
        return [
            {
                "code": code,
                "currency": "EUR",
                "version": 0,
                "lines": [
                    {
                        "sku": item["sku"],
                        "unit": item["unit"],
                        "unit_price": {
                            "amount": str(
                                (Decimal(item["list_price"]["amount"]) * (1 - discount)).quantize(Decimal("0.01"))
                            ),
                            "currency": "EUR",
                        },
                        "status": item["status"],
                    }
                    for item in self.items.values()
                ],
            }
            for code, discount in discounts.items()
        ]

    def _batch(self, request: httpx.Request, body: dict[str, Any], *, refuse: str | None = None) -> httpx.Response:
        """One result per entry, each booked by ``_book``; a lost answer loses the whole call."""
        lost, self.lose_next_sales_order_answer = self.lose_next_sales_order_answer, None
        results = []
        for entry in body["entries"]:
            ref = entry["external_reference"]
            if refuse:
                status, answer = 422, {"status": 422, "title": "refused", "detail": refuse}
            else:
                status, answer = self._book(entry)
            if status in (200, 201):
                outcome = {"outcome": "existing" if status == 200 else "created", "sales_order": answer}
            else:
                outcome = {"outcome": "refused" if status == 422 else "conflict", "problem": answer}
            results.append({"external_reference": ref, **outcome})
        if lost == "drop":
            raise httpx.ReadError("connection reset by peer", request=request)
        if lost == "503":
            return _problem(503, "bad gateway", slug="unavailable")
        return httpx.Response(200, json={"results": results})

    def _book(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ref = body["external_reference"]
        refusal = self.refuse_sales_orders or self.refuse_entries.get(ref)
        if refusal:
            return 422, {"status": 422, "title": "refused", "detail": refusal}
        existing = self.sales_orders.get(ref)
        if existing is not None:
            if existing["lines"] != body["lines"]:
                return 409, {
                    "status": 409,
                    "title": "conflict",
                    "detail": f"reference {ref} is already used with other lines",
                }
            return 200, existing
        total = sum(Decimal(x["unit_price"]["amount"]) * Decimal(x["quantity"]["value"]) for x in body["lines"])
        order = {
            "number": f"SO-{next(self._ids):05d}",
            "external_reference": ref,
            "customer_id": body["customer_id"],
            "currency": body["currency"],
            "status": "open",
            "lines": body["lines"],
            "total": {"amount": str(total), "currency": body["currency"]},
            "created_at": NOW,
        }
        self.sales_orders[ref] = order
        return 201, order

    # WMS -------------------------------------------------------------------------------------

    def _wms(self, method: str, parts: list[str], request: httpx.Request, body: Any) -> httpx.Response:
        match method, parts:
            case "POST", ["reservations"]:
                return self._reserve(body)
            case "POST", ["reservation-batches" | "pick-release-batches"]:
                return self._wms_batch(request.url.path, body)
            case "GET", ["stock"]:
                skus = request.url.params.get_list("sku")
                items = [
                    {
                        "sku": sku,
                        "warehouse": w,
                        "on_hand": {"value": str(qty), "unit": "EA"},
                        "reserved": {"value": "0", "unit": "EA"},
                        "available": {"value": str(qty), "unit": "EA"},
                    }
                    for (sku, w), qty in sorted(self.stock.items())
                    if sku in skus
                ]
                return httpx.Response(200, json={"items": items})
            case "GET", ["reservations"]:
                ref = request.url.params.get("reference")
                return httpx.Response(
                    200, json={"items": [r for r in self.reservations.values() if r["reference"] == ref]}
                )
            case "POST", ["reservations", rid, ("pick-release" | "cancel-picking") as action]:
                reservation = self.reservations.get(rid)
                if reservation is None:
                    return _problem(404, f"No reservation {rid}.", slug="not-found")
                moves = {"pick-release": ("active", "picking"), "cancel-picking": ("picking", "active")}
                before, after = moves[action]
                if action == "cancel-picking" and reservation["status"] == "picked":
                    return _problem(422, "already picked", slug="picking-too-late")
                if action == "pick-release" and reservation["status"] == "released":
                    return _problem(422, "released; nothing to pick")
                if reservation["status"] == before:
                    reservation["status"] = after
                return httpx.Response(200, json=reservation)
            case "POST", ["reservations", rid, "release"]:
                reservation = self.reservations.get(rid)
                if reservation is None:
                    return _problem(404, f"No reservation {rid}.", slug="not-found")
                if reservation["status"] in ("picking", "picked"):
                    return _problem(422, "on the floor; cancel picking first")
                if reservation["status"] == "active":
                    for line in reservation["lines"]:
                        self.stock[(line["sku"], line["warehouse"])] += int(line["quantity"]["value"])
                    reservation["status"] = "released"
                return httpx.Response(200, json=reservation)
        return _problem(404, "no such route", slug="not-found")

    def _wms_batch(self, path: str, body: Any, *, refuse: str | None = None) -> httpx.Response:
        """As the WMS's batches: each entry answered as the single call would (``refuse``: each
        entry refused), by reference (reservations) or reservation id (pick releases)."""
        reserving = path.endswith("/reservation-batches")
        results: list[dict[str, Any]] = []
        for entry in body["entries"]:
            if reserving:
                key = {"reference": entry["reference"]}
                single = self._reserve(entry) if refuse is None else _problem(422, refuse)
            else:
                key = {"reservation_id": entry["reservation_id"]}
                rid = entry["reservation_id"]
                before = self.reservations.get(rid, {}).get("status")
                single = self._wms("POST", ["reservations", rid, "pick-release"], None, None)  # type: ignore[arg-type]
                if refuse is not None:
                    single = _problem(422, refuse)
            answer = json.loads(single.content)
            if single.status_code in (200, 201):
                outcome = ("created" if single.status_code == 201 else "existing") if reserving else None
                if outcome is None:
                    outcome = "released" if before == "active" else "unchanged"
                results.append({**key, "outcome": outcome, "reservation": answer})
            else:
                problem = {k: answer[k] for k in ("type", "title", "status", "detail", "errors") if k in answer}
                outcome = "conflict" if single.status_code == 409 else "refused"
                results.append({**key, "outcome": outcome, "problem": problem})
        return httpx.Response(200, json={"results": results})

    def _reserve(self, body: dict[str, Any]) -> httpx.Response:
        for reservation in self.reservations.values():
            if reservation["reference"] == body["reference"] and reservation["status"] != "released":
                return httpx.Response(200, json=reservation)
        wanted = [(line["sku"], int(line["quantity"]["value"])) for line in body["lines"]]
        able = [w for w in ("AMS", "RTM") if all(self.stock.get((s, w), 0) >= q for s, q in wanted)]
        if not able:
            short = [
                {"pointer": f"#/lines/{i}/quantity", "detail": f"{sku}: {qty} wanted, not in one warehouse"}
                for i, (sku, qty) in enumerate(wanted)
                if max(self.stock.get((sku, w), 0) for w in ("AMS", "RTM")) < qty
            ]
            return _problem(422, "Not enough stock in any one warehouse.", slug="insufficient-stock", errors=short)
        warehouse = max(able, key=lambda w: (sum(self.stock[(s, w)] for s, _ in wanted), w == "AMS"))
        for sku, qty in wanted:
            self.stock[(sku, warehouse)] -= qty
        rid = f"res_{next(self._ids)}"
        self.reservations[rid] = {
            "id": rid,
            "reference": body["reference"],
            "status": "active",
            "warehouse": warehouse,
            "lines": [{**line, "warehouse": warehouse} for line in body["lines"]],
            "created_at": NOW,
        }
        return httpx.Response(201, json=self.reservations[rid])

    # CRM -------------------------------------------------------------------------------------

    def _crm(self, method: str, parts: list[str], request: httpx.Request, body: Any) -> httpx.Response:
        match method, parts:
            case "GET", ["customers", cid, "activities"]:
                return httpx.Response(200, json={"items": [a for a in self.activities if a["customer_id"] == cid]})
            case "POST", ["activities"]:
                activity = {**body, "id": f"act_{next(self._ids)}", "created_at": NOW}
                self.activities.append(activity)
                return httpx.Response(201, json=activity)
            case "POST", ["activity-batches"]:
                return self._activity_batch(body)
        return _problem(404, "no such route", slug="not-found")

    def _activity_batch(self, body: Any, *, refuse: str | None = None) -> httpx.Response:
        """As the CRM's batch: each entry on its own, once per customer, kind and reference (sent
        again: ``existing``), refused alone when its customer has no account (or ``refuse``)."""
        results: list[dict[str, Any]] = []
        for entry in body["entries"]:
            key = (entry["customer_id"], entry["kind"], entry.get("reference"))
            earlier = next(
                (a for a in self.activities if (a["customer_id"], a["kind"], a.get("reference")) == key), None
            )
            if earlier is not None and key[2] is not None:
                results.append({"outcome": "existing", "activity": earlier})
                continue
            reason = refuse or self.refuse_activities.get(entry["customer_id"])
            if reason is not None:
                problem = {"title": "Business rule violation", "status": 422, "detail": reason}
                results.append({"outcome": "refused", "problem": problem})
                continue
            activity = {**entry, "id": f"act_{next(self._ids)}", "created_at": NOW}
            self.activities.append(activity)
            results.append({"outcome": "recorded", "activity": activity})
        return httpx.Response(200, json={"results": results})
