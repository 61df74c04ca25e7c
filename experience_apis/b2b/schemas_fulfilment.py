"""The B2B dialect's availability by warehouse, invoices and credit memos (version 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from contracts import Invoice, Money, Quantity
from contracts.common import CanonicalModel, CurrencyCode, Sku


class WarehouseAvailability(CanonicalModel):
    warehouse: str
    available: Annotated[Quantity, Field(description="What you may buy now shipped from this warehouse alone.")]


class Availability(CanonicalModel):
    sku: Sku
    available: Annotated[Quantity, Field(description="What you may buy now in all (your channel's share).")]
    warehouses: Annotated[
        list[WarehouseAvailability], Field(description="Per warehouse; an order that may not split ships from one.")
    ]


class InvoiceList(CanonicalModel):
    """The ERP's invoices of the purchase order, one per shipment, oldest first."""

    items: list[Invoice]


class CreditedLine(CanonicalModel):
    line_no: Annotated[int, Field(description="The purchase order's line.")]
    sku: Sku
    quantity: Quantity
    unit_price: Annotated[Money | None, Field(description="The price credited per unit, as invoiced.")] = None
    line_total: Annotated[Money | None, Field(description="What this line credits.")] = None


class CreditMemo(CanonicalModel):
    credit_memo_number: Annotated[str, Field(description="The ERP's credit memo.")]
    return_id: str
    lines: Annotated[list[CreditedLine], Field(description="The goods received back and credited.")]
    requested_at: Annotated[datetime, Field(description="When the return was authorised.")]
    total: Annotated[Money | None, Field(description="What the credit memo credits in all.")] = None
    currency: CurrencyCode | None = None
    issued_at: Annotated[datetime | None, Field(description="When the ERP issued the credit memo.")] = None
    invoice_number: Annotated[
        str | None, Field(description="The invoice it credits; null when it credits several.")
    ] = None


class CreditMemoList(CanonicalModel):
    """The ERP's credit memos of the purchase order's returns (a return is credited once received)."""

    items: list[CreditMemo]
