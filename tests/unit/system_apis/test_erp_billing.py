"""ERP invoices and credit memos: numbered by the ERP, one per shipment and per return, never more
than ordered (invoices) or invoiced (credit memos), and nothing written when refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from system_apis.erp.models import ErpCreditMemo, ErpCreditMemoLine, ErpInvoice, ErpInvoiceLine
from tests.support.tokens import Bearer
from tests.unit.system_apis.test_erp import count, qty, sales_order

READ, WRITE = Bearer("erp:read"), Bearer("erp:write")


def lines(**skus: int) -> list[dict[str, Any]]:
    return [{"sku": sku.replace("_", "-"), "quantity": qty(str(n))} for sku, n in skus.items()]


@pytest.fixture
async def booked(erp: httpx.AsyncClient) -> str:
    """Sales order ord_0001: 3 WIDGET-BLUE and 2 CABLE-USB-C at 19.99 each."""
    resp = await erp.post("/v1/sales-orders", json=sales_order(WIDGET_BLUE=3, CABLE_USB_C=2), headers=WRITE)
    assert resp.status_code == 201
    return str(resp.json()["number"])


async def invoice(erp: httpx.AsyncClient, shipment: str, reference: str = "ord_0001", **skus: int) -> httpx.Response:
    body = {"shipment_id": shipment, "order_reference": reference, "lines": lines(**skus)}
    return await erp.post("/v1/invoices", json=body, headers=WRITE)


async def credit(erp: httpx.AsyncClient, return_id: str, reference: str = "ord_0001", **skus: int) -> httpx.Response:
    body = {"return_id": return_id, "order_reference": reference, "lines": lines(**skus)}
    return await erp.post("/v1/credit-memos", json=body, headers=WRITE)


async def test_each_shipment_gets_its_numbered_invoice_priced_from_the_sales_order(
    erp: httpx.AsyncClient, booked: str
) -> None:
    first = await invoice(erp, "ASN-1", WIDGET_BLUE=2)
    assert first.status_code == 201
    assert first.json() | {"issued_at": None} == {
        "invoice_number": "INV-000001",
        "order_id": "ord_0001",
        "erp_order_number": booked,
        "shipment_id": "ASN-1",
        "currency": "EUR",
        "lines": [
            {
                "line_no": 1,
                "sku": "WIDGET-BLUE",
                "quantity": qty("2"),
                "unit_price": {"amount": "19.99", "currency": "EUR"},
                "line_total": {"amount": "39.98", "currency": "EUR"},
            }
        ],
        "total": {"amount": "39.98", "currency": "EUR"},
        "issued_at": None,
    }
    second = await invoice(erp, "ASN-2", WIDGET_BLUE=1, CABLE_USB_C=2)
    assert second.status_code == 201
    assert second.json()["invoice_number"] == "INV-000002"
    assert [(x["line_no"], x["sku"]) for x in second.json()["lines"]] == [(1, "WIDGET-BLUE"), (2, "CABLE-USB-C")]
    found = await erp.get("/v1/invoices", params={"order_reference": "ord_0001"}, headers=READ)
    assert [x["shipment_id"] for x in found.json()["items"]] == ["ASN-1", "ASN-2"]
    one = await erp.get("/v1/invoices/INV-000002", headers=READ)
    assert one.json() == second.json()


async def test_the_same_shipment_again_answers_the_same_invoice_and_books_nothing(
    erp: httpx.AsyncClient, app: Any, booked: str
) -> None:
    first = await invoice(erp, "ASN-1", WIDGET_BLUE=2)
    again = await invoice(erp, "ASN-1", WIDGET_BLUE=2)
    assert (again.status_code, again.json()) == (200, first.json())
    assert await count(app, ErpInvoice) == 1
    other = await invoice(erp, "ASN-1", WIDGET_BLUE=1)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert await count(app, ErpInvoice) == 1


async def test_more_than_is_left_to_invoice_is_refused_line_by_line_and_nothing_is_written(
    erp: httpx.AsyncClient, app: Any, booked: str
) -> None:
    assert (await invoice(erp, "ASN-1", WIDGET_BLUE=2)).status_code == 201
    over = await invoice(erp, "ASN-2", WIDGET_BLUE=2, CABLE_USB_C=1)
    assert over.status_code == 422
    problem = over.json()
    assert problem["errors"] == [
        {"pointer": "#/lines/0/quantity", "detail": "WIDGET-BLUE: 2 EA asked, 1 ordered and not invoiced yet."}
    ]
    unknown = await invoice(erp, "ASN-3", GADGET_PRO=1)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "#/lines/0/sku"
    fraction = await erp.post(
        "/v1/invoices",
        json={
            "shipment_id": "ASN-4",
            "order_reference": "ord_0001",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": qty("0.5")}],
        },
        headers=WRITE,
    )
    assert fraction.status_code == 422
    assert (await count(app, ErpInvoice), await count(app, ErpInvoiceLine)) == (1, 1)


async def test_an_unknown_or_cancelled_sales_order_gets_no_invoice(
    erp: httpx.AsyncClient, app: Any, booked: str
) -> None:
    missing = await invoice(erp, "ASN-1", reference="ord_nope", WIDGET_BLUE=1)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await erp.get("/v1/invoices/INV-000999", headers=READ)).status_code == 404
    assert (await erp.get("/v1/invoices/nonsense", headers=READ)).status_code == 404
    await erp.post(f"/v1/sales-orders/{booked}/cancel", headers=WRITE)
    cancelled = await invoice(erp, "ASN-1", WIDGET_BLUE=1)
    assert cancelled.status_code == 422
    assert "cancelled" in cancelled.json()["detail"]
    assert await count(app, ErpInvoice) == 0


async def test_a_return_is_credited_against_its_invoice_once_and_never_above_what_was_invoiced(
    erp: httpx.AsyncClient, app: Any, booked: str
) -> None:
    await invoice(erp, "ASN-1", WIDGET_BLUE=2)
    never_invoiced = await credit(erp, "RMA-0", CABLE_USB_C=1)
    assert never_invoiced.status_code == 422
    memo = await credit(erp, "RMA-1", WIDGET_BLUE=1)
    assert memo.status_code == 201
    assert memo.json() | {"issued_at": None} == {
        "credit_memo_number": "CM-000001",
        "order_id": "ord_0001",
        "erp_order_number": booked,
        "return_id": "RMA-1",
        "invoice_number": "INV-000001",
        "currency": "EUR",
        "lines": [
            {
                "line_no": 1,
                "sku": "WIDGET-BLUE",
                "quantity": qty("1"),
                "unit_price": {"amount": "19.99", "currency": "EUR"},
                "line_total": {"amount": "19.99", "currency": "EUR"},
            }
        ],
        "total": {"amount": "19.99", "currency": "EUR"},
        "issued_at": None,
    }
    again = await credit(erp, "RMA-1", WIDGET_BLUE=1)
    assert (again.status_code, again.json()) == (200, memo.json())
    over = await credit(erp, "RMA-2", WIDGET_BLUE=2)
    assert over.status_code == 422
    assert over.json()["errors"][0]["detail"] == "WIDGET-BLUE: 2 EA asked, 1 invoiced and not credited yet."
    missing = await credit(erp, "RMA-3", reference="ord_nope", WIDGET_BLUE=1)
    assert missing.status_code == 404
    assert (await count(app, ErpCreditMemo), await count(app, ErpCreditMemoLine)) == (1, 1)
    found = await erp.get("/v1/credit-memos", params={"order_reference": "ord_0001"}, headers=READ)
    assert [x["credit_memo_number"] for x in found.json()["items"]] == ["CM-000001"]


async def test_a_return_across_two_invoices_is_credited_against_both(erp: httpx.AsyncClient, booked: str) -> None:
    await invoice(erp, "ASN-1", WIDGET_BLUE=1)
    await invoice(erp, "ASN-2", WIDGET_BLUE=2)
    memo = await credit(erp, "RMA-1", WIDGET_BLUE=3)
    assert memo.status_code == 201
    assert memo.json()["invoice_number"] is None  # it credits INV-000001 and INV-000002
    assert memo.json()["total"] == {"amount": "59.97", "currency": "EUR"}


async def test_billing_needs_the_erp_scopes(erp: httpx.AsyncClient, booked: str) -> None:
    body = {"shipment_id": "ASN-1", "order_reference": "ord_0001", "lines": lines(WIDGET_BLUE=1)}
    assert (await erp.post("/v1/invoices", json=body, headers=READ)).status_code == 403
    assert (await erp.get("/v1/invoices", params={"order_reference": "ord_0001"})).status_code == 401


async def test_two_shipments_billed_at_once_never_invoice_more_than_was_ordered(
    erp: httpx.AsyncClient, app: Any, booked: str
) -> None:
    answers = await asyncio.gather(*(invoice(erp, f"ASN-{n}", WIDGET_BLUE=2) for n in range(4)))
    assert sorted(answer.status_code for answer in answers) == [201, 422, 422, 422]
    assert await count(app, ErpInvoiceLine) == 1
