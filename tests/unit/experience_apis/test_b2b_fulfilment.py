"""The B2B API's availability by warehouse, invoices and credit memos (issue 12), with the orders,
inventory and fulfilment process APIs faked: the channel's own rule asked of the inventory, the
reseller forward to the fulfilment process, another reseller's order a 404 before the fulfilment
process is asked, an order nothing shipped of yet has no invoices, a return not yet credited no memo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import stamina

from contracts.scopes import B2B_CATALOG_READ, B2B_ORDERS_READ, B2B_ORDERS_WRITE
from experience_apis.b2b.app import create_app
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings
from tests.support.tokens import Bearer, static_verifier
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi, problem

SCOPES = (B2B_CATALOG_READ, B2B_ORDERS_READ, B2B_ORDERS_WRITE)
BOREALIS = Bearer(*SCOPES, client_id="borealis-hw", partner_id="borealis-hw", channel="b2b")
CLOSED = Bearer(*SCOPES, client_id="closed-shop", partner_id="closed-shop", channel="b2b")
T0 = "2026-12-07T14:05:00Z"


def units(n: int) -> dict[str, str]:
    return {"value": str(n), "unit": "EA"}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


@dataclass
class FakeProcesses:
    """The inventory's availability by warehouse and the fulfilment process's invoices and returns
    of an order, each answered only to the partner that placed it."""

    order_partners: dict[str, str] = field(default_factory=dict)
    invoices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    returns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    credit_memos: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    received: list[httpx.Request] = field(default_factory=list)
    refusal: httpx.Response | None = None

    def inventory(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if unquote(request.url.path) != "/v1/availability/WIDGET-BLUE/warehouses":
            return problem(404, "not-found", "No stock of this SKU is known in any warehouse.")
        channel = request.url.params["channel"]
        warehouses = [{"warehouse": "AMS", "available": units(38)}, {"warehouse": "RTM", "available": units(24)}]
        return httpx.Response(
            200, json={"sku": "WIDGET-BLUE", "channel": channel, "available": units(62), "warehouses": warehouses}
        )

    def fulfillment(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.refusal is not None:
            return self.refusal
        _, _, order_id, what = unquote(request.url.path).strip("/").split("/")
        if self.order_partners.get(order_id) != request.headers.get("x-interchange-partner"):
            return problem(404, "not-found", "No such order.")
        answers = {"invoices": self.invoices, "returns": self.returns, "credit-memos": self.credit_memos}[what]
        if what == "credit-memos" and order_id not in answers:
            return problem(404, "not-found", "No such operation.")  # a fulfilment process without it
        return httpx.Response(200, json={"items": answers[order_id]})


@dataclass
class B2b:
    client: httpx.AsyncClient
    orders: FakeOrdersApi
    processes: FakeProcesses


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
async def b2b(tmp_path: Path) -> AsyncIterator[B2b]:
    orders, processes = FakeOrdersApi(), FakeProcesses()
    settings = ServiceSettings.load(
        "b2b",
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        orders_url="http://orders.test",
        inventory_url="http://inventory.test",
        fulfillment_url="http://fulfillment.test",
        client_id="",
        client_secret="",
    )
    transport = RoutingTransport(
        {
            "orders.test": httpx.MockTransport(orders.handle),
            "inventory.test": httpx.MockTransport(processes.inventory),
            "fulfillment.test": httpx.MockTransport(processes.fulfillment),
        }
    )
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url="http://b2b.test") as client:
            yield B2b(client=client, orders=orders, processes=processes)


async def submitted(b2b: B2b, po_number: str = "PO-7") -> str:
    body = {"po_number": po_number, "lines": [{"sku": "WIDGET-BLUE", "quantity": units(10)}]}
    resp = await b2b.client.post("/v1/purchase-orders", json=body, headers=BOREALIS | {"Idempotency-Key": po_number})
    assert resp.status_code == 202, resp.text
    order_id = str(resp.json()["order_id"])
    b2b.processes.order_partners[order_id] = "borealis-hw"
    return order_id


def invoice(order_id: str, number: str, *, qty: int, issued_at: str = T0) -> dict[str, Any]:
    line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": units(qty), "unit_price": eur("17.99")}
    total = eur(f"{17.99 * qty:.2f}")
    return {
        "invoice_number": number,
        "order_id": order_id,
        "erp_order_number": "SO-000042",
        "shipment_id": f"shp_{number}",
        "currency": "EUR",
        "lines": [{**line, "line_total": total}],
        "total": total,
        "issued_at": issued_at,
    }


def rma(order_id: str, return_id: str, *, credit_memo: str | None) -> dict[str, Any]:
    returned = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": units(2)}
    return {
        "return_id": return_id,
        "order_id": order_id,
        "status": "credited" if credit_memo else "authorised",
        "lines": [{**returned, "reason": "damaged in transit"}],
        "received_lines": [{**returned, "condition": "damaged"}] if credit_memo else [],
        "credit_memo_number": credit_memo,
        "created_at": "2026-12-09T08:00:00Z",
    }


async def test_availability_by_warehouse_is_the_b2b_channels(b2b: B2b) -> None:
    resp = await b2b.client.get("/v1/catalog/WIDGET-BLUE/availability", headers=BOREALIS)
    unknown = await b2b.client.get("/v1/catalog/NO-SUCH/availability", headers=BOREALIS)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "sku": "WIDGET-BLUE",
        "available": units(62),
        "warehouses": [{"warehouse": "AMS", "available": units(38)}, {"warehouse": "RTM", "available": units(24)}],
    }
    assert b2b.processes.received[0].url.params["channel"] == "b2b"
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert "/b2b/v1/catalog" in unknown.json()["detail"]


async def test_invoices_of_a_resellers_order_oldest_first_and_none_before_shipping(b2b: B2b) -> None:
    order_id = await submitted(b2b)
    b2b.processes.invoices[order_id] = []
    before = await b2b.client.get(f"/v1/purchase-orders/{order_id}/invoices", headers=BOREALIS)
    b2b.processes.invoices[order_id] = [
        invoice(order_id, "INV-2", qty=4, issued_at="2026-12-08T10:00:00Z"),
        invoice(order_id, "INV-1", qty=6),
    ]
    after = await b2b.client.get(f"/v1/purchase-orders/{order_id}/invoices", headers=BOREALIS)
    assert before.status_code == 200 and before.json() == {"items": []}
    assert after.status_code == 200, after.text
    assert [(i["invoice_number"], i["total"]) for i in after.json()["items"]] == [
        ("INV-1", eur("107.94")),
        ("INV-2", eur("71.96")),
    ]
    asked = [r for r in b2b.processes.received if r.url.host == "fulfillment.test"]
    assert {r.headers["x-interchange-partner"] for r in asked} == {"borealis-hw"}


async def test_credit_memos_only_for_credited_returns(b2b: B2b) -> None:
    order_id = await submitted(b2b)
    b2b.processes.returns[order_id] = [
        rma(order_id, "RMA-2", credit_memo=None),
        rma(order_id, "RMA-1", credit_memo="CM-000007"),
    ]
    resp = await b2b.client.get(f"/v1/purchase-orders/{order_id}/credit-memos", headers=BOREALIS)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "items": [
            {
                "credit_memo_number": "CM-000007",
                "return_id": "RMA-1",
                "lines": [
                    {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": units(2), "unit_price": None, "line_total": None}
                ],
                "requested_at": "2026-12-09T08:00:00Z",
                # No memos from the fulfilment process (one without that read): no amounts, not a failure.
                "total": None,
                "currency": None,
                "issued_at": None,
                "invoice_number": None,
            }
        ]
    }


@pytest.mark.parametrize("what", ["invoices", "credit-memos"])
async def test_another_resellers_order_is_not_there_and_the_fulfilment_process_is_not_asked(
    b2b: B2b, what: str
) -> None:
    order_id = await submitted(b2b)
    resp = await b2b.client.get(f"/v1/purchase-orders/{order_id}/{what}", headers=CLOSED)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert "of yours" in resp.json()["detail"]
    assert not [r for r in b2b.processes.received if r.url.host == "fulfillment.test"]


async def test_a_fulfilment_process_refusal_is_a_502_not_the_resellers_fault(b2b: B2b) -> None:
    order_id = await submitted(b2b)
    b2b.processes.refusal = problem(403, "forbidden", "missing scope")
    resp = await b2b.client.get(f"/v1/purchase-orders/{order_id}/invoices", headers=BOREALIS)
    assert resp.status_code == 502
    assert "missing scope" not in resp.text


def memo(order_id: str, return_id: str, number: str) -> dict[str, Any]:
    line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": units(2), "unit_price": eur("17.99")}
    return {
        "credit_memo_number": number,
        "order_id": order_id,
        "erp_order_number": "SO-000042",
        "return_id": return_id,
        "invoice_number": "INV-1",
        "currency": "EUR",
        "lines": [{**line, "line_total": eur("35.98")}],
        "total": eur("35.98"),
        "issued_at": "2026-12-09T09:30:00Z",
    }


async def test_credit_memos_carry_the_erps_amounts(b2b: B2b) -> None:
    order_id = await submitted(b2b)
    b2b.processes.returns[order_id] = [rma(order_id, "RMA-1", credit_memo="CM-000007")]
    b2b.processes.credit_memos[order_id] = [memo(order_id, "RMA-1", "CM-000007")]
    resp = await b2b.client.get(f"/v1/purchase-orders/{order_id}/credit-memos", headers=BOREALIS)
    assert resp.status_code == 200, resp.text
    [credited] = resp.json()["items"]
    assert (credited["total"], credited["currency"], credited["issued_at"], credited["invoice_number"]) == (
        eur("35.98"),
        "EUR",
        "2026-12-09T09:30:00Z",
        "INV-1",
    )
    assert credited["lines"] == [
        {
            "line_no": 1,
            "sku": "WIDGET-BLUE",
            "quantity": units(2),
            "unit_price": eur("17.99"),
            "line_total": eur("35.98"),
        }
    ]
    asked = [r.url.path for r in b2b.processes.received if r.url.host == "fulfillment.test"]
    assert asked == [f"/v1/orders/{order_id}/returns", f"/v1/orders/{order_id}/credit-memos"]
