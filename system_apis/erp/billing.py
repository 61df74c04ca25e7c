"""ERP billing in business terms: invoice what a shipment delivered of a sales order, credit what a
return sent back. One invoice per shipment id and one credit memo per return id: the same request
again answers the document booked the first time; never more than was ordered is invoiced, nor
more than was invoiced credited."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from contracts import CreditMemo, Invoice, InvoiceLine, Quantity
from service_kit.errors import BusinessRuleViolation, Conflict, NotFound
from system_apis.erp.backend import ErpBackend
from system_apis.erp.schemas import BillingLineCreate, CreditMemoCreate, InvoiceCreate


def _same_lines(booked: Sequence[InvoiceLine], asked: Sequence[BillingLineCreate]) -> bool:
    def totals(lines: Sequence[InvoiceLine] | Sequence[BillingLineCreate]) -> dict[tuple[str, str], Decimal]:
        summed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in lines:
            summed[line.sku, line.quantity.unit] += line.quantity.amount
        return dict(summed)

    return totals(booked) == totals(asked)


def _line_errors(
    lines: Sequence[BillingLineCreate], open_qty: Mapping[str, Quantity], *, what: str
) -> list[dict[str, Any]]:
    """Each line's SKU must be open on the order, in its unit, whole, and the SKU's lines together
    no more than is open (``what``: what the open quantity is, for the message)."""
    errors: list[dict[str, Any]] = []
    asked: dict[str, Decimal] = defaultdict(Decimal)
    for index, line in enumerate(lines):
        pointer = f"#/lines/{index}"
        available = open_qty.get(line.sku)
        if available is None:
            errors.append({"pointer": f"{pointer}/sku", "detail": f"{line.sku} is not on the sales order."})
            continue
        if line.quantity.unit != available.unit or line.quantity.amount != line.quantity.amount.to_integral_value():
            errors.append(
                {"pointer": f"{pointer}/quantity", "detail": f"{line.sku} is counted in whole {available.unit}."}
            )
            continue
        asked[line.sku] += line.quantity.amount
        if asked[line.sku] > available.amount:
            errors.append(
                {
                    "pointer": f"{pointer}/quantity",
                    "detail": f"{line.sku}: {asked[line.sku]} {available.unit} asked, {available.value} {what}.",
                }
            )
    return errors


async def _sales_order_open(*, backend: ErpBackend, order_reference: str) -> None:
    if not await backend.lock_sales_order_for_billing(order_reference):
        raise NotFound(f"No sales order with external reference {order_reference!r} in the ERP.")


async def invoice_shipment(*, backend: ErpBackend, request: InvoiceCreate) -> tuple[Invoice, bool]:
    """``(invoice, True)`` when booked now, ``(existing, False)`` when this shipment was invoiced
    before with the same lines; other lines or another order under its id are a conflict."""
    existing = await backend.find_invoice(request.shipment_id)
    if existing is None:
        await _sales_order_open(backend=backend, order_reference=request.order_reference)
        existing = await backend.find_invoice(request.shipment_id)  # booked while we waited for the lock
    if existing is not None:
        if existing.order_id != request.order_reference or not _same_lines(existing.lines, request.lines):
            raise Conflict(
                f"Shipment {request.shipment_id!r} was invoiced as {existing.invoice_number} with another order "
                "or other lines."
            )
        return existing, False
    order = await backend.find_sales_order(request.order_reference)
    assert order is not None  # locked above
    if order.status == "cancelled":
        raise BusinessRuleViolation(
            f"Sales order {order.number} is cancelled: nothing on it is invoiced.",
            errors=[{"pointer": "#/order_reference", "detail": "the sales order is cancelled"}],
        )
    errors = _line_errors(
        request.lines, await backend.open_to_invoice(request.order_reference), what="ordered and not invoiced yet"
    )
    if errors:
        raise BusinessRuleViolation(_summary(errors, "invoiced"), errors=errors)
    return await backend.create_invoice(request), True


async def credit_return(*, backend: ErpBackend, request: CreditMemoCreate) -> tuple[CreditMemo, bool]:
    """``(memo, True)`` when booked now, ``(existing, False)`` when this return was credited before
    with the same lines; other lines or another order under its id are a conflict."""
    existing = await backend.find_credit_memo(request.return_id)
    if existing is None:
        await _sales_order_open(backend=backend, order_reference=request.order_reference)
        existing = await backend.find_credit_memo(request.return_id)
    if existing is not None:
        if existing.order_id != request.order_reference or not _same_lines(existing.lines, request.lines):
            raise Conflict(
                f"Return {request.return_id!r} was credited as {existing.credit_memo_number} with another order "
                "or other lines."
            )
        return existing, False
    errors = _line_errors(
        request.lines, await backend.open_to_credit(request.order_reference), what="invoiced and not credited yet"
    )
    if errors:
        raise BusinessRuleViolation(_summary(errors, "credited"), errors=errors)
    return await backend.create_credit_memo(request), True


def _summary(errors: Sequence[dict[str, Any]], done: str) -> str:
    first = errors[0]["detail"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"Nothing was {done}: {first}{more}"


async def get_invoice(*, backend: ErpBackend, number: str) -> Invoice:
    invoice = await backend.get_invoice(number)
    if invoice is None:
        raise NotFound(f"No invoice {number!r} in the ERP.")
    return invoice


async def find_invoices(*, backend: ErpBackend, order_reference: str) -> list[Invoice]:
    return await backend.find_invoices(order_reference)


async def find_credit_memos(*, backend: ErpBackend, order_reference: str) -> list[CreditMemo]:
    return await backend.find_credit_memos(order_reference)
