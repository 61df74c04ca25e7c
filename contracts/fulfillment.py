"""Fulfilment and its money: shipments (a warehouse's or a 3PL's ship confirmation), returns, the
ERP's invoices and credit memos, and the fulfilment requests a 3PL partner is asked to ship."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field

from contracts.common import (
    Address,
    CanonicalModel,
    CurrencyCode,
    Line,
    Money,
    PositiveQuantity,
    Quantity,
    Sku,
    Text,
    UtcDateTime,
)


def _rfc3339_text(value: object) -> object:
    if isinstance(value, int | float):  # pydantic would read a number as a Unix time: the schema says a string
        raise ValueError("must be an RFC 3339 date-time string, such as 2026-12-07T10:00:00Z")
    return value


#: When something happened, as the sender says it: an RFC 3339 string (naive: read as UTC).
Timestamp = Annotated[UtcDateTime, BeforeValidator(_rfc3339_text)]

#: A reference up to 64 characters, one line (shipment, return, order, carrier and tracking ids).
Reference = Annotated[Line, Field(min_length=1, max_length=64)]
#: A shipment or return id: a partner-facing API keeps its partners' references apart by their
#: partner (``<partner id>:<the partner's reference>``, 64 + 1 + 64 characters).
ScopedReference = Annotated[Line, Field(min_length=1, max_length=129)]
LineNo = Annotated[int, Field(ge=1, le=10_000, description="The order line this is for (1-based)")]
Warehouse = Annotated[Line, Field(min_length=1, max_length=32, examples=["WH-3PL"])]


class ShipmentLine(CanonicalModel):
    line_no: LineNo
    sku: Sku
    quantity: PositiveQuantity


class ShipmentCreate(CanonicalModel):
    """A ship confirmation: what left which warehouse for an order, with carrier and tracking."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shipment_id": "ASN-1001",
                    "order_id": "ord_0001",
                    "warehouse": "WH-3PL",
                    "carrier": "DHL",
                    "tracking_number": "JD014600006281",
                    "tracking_url": "https://track.example/JD014600006281",
                    "shipped_at": "2026-12-07T10:00:00Z",
                    "lines": [{"line_no": 1, "sku": "WIDGET-RED", "quantity": {"value": "2", "unit": "EA"}}],
                }
            ]
        },
    )

    shipment_id: Annotated[ScopedReference, Field(description="The shipper's reference; unique, the idempotency key")]
    order_id: Reference
    warehouse: Warehouse
    carrier: Reference
    tracking_number: Reference
    tracking_url: Annotated[Line | None, Field(max_length=500, examples=["https://track.example/1Z999"])] = None
    shipped_at: Timestamp
    lines: Annotated[list[ShipmentLine], Field(min_length=1, max_length=200)]


class ShipmentStatus(StrEnum):
    recorded = "recorded"  # accepted; invoicing and the channel notice pending
    invoiced = "invoiced"  # the ERP invoiced it
    notified = "notified"  # the channel and the customer were told
    held = "held"  # parked in the exception queue (see its reason)


class Shipment(ShipmentCreate):
    model_config = ConfigDict(extra="forbid", json_schema_extra=None)  # the request's example is not one of these

    partner_id: str | None = None
    status: ShipmentStatus
    invoice_number: str | None = None
    created_at: UtcDateTime


class ReturnLine(CanonicalModel):
    line_no: LineNo
    sku: Sku
    quantity: PositiveQuantity
    reason: Annotated[Text, Field(min_length=1, max_length=200)]


class ReturnCreate(CanonicalModel):
    """A return a channel asks for (an RMA): authorised only for what shipped and is not returned yet."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "return_id": "RMA-1001",
                    "order_id": "ord_0001",
                    "lines": [
                        {
                            "line_no": 1,
                            "sku": "WIDGET-RED",
                            "quantity": {"value": "1", "unit": "EA"},
                            "reason": "Arrived scratched",
                        }
                    ],
                }
            ]
        },
    )

    return_id: Annotated[ScopedReference, Field(description="The channel's return reference; unique")]
    order_id: Reference
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=200)]


class ReturnCondition(StrEnum):
    sellable = "sellable"  # back on hand
    damaged = "damaged"  # recorded, not sellable


class ReturnReceiptLine(CanonicalModel):
    line_no: LineNo
    sku: Sku
    quantity: PositiveQuantity
    condition: ReturnCondition


class ReturnReceiptCreate(CanonicalModel):
    """Returned goods received at a warehouse."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "warehouse": "WH-3PL",
                    "received_at": "2026-12-09T09:30:00Z",
                    "lines": [
                        {
                            "line_no": 1,
                            "sku": "WIDGET-RED",
                            "quantity": {"value": "1", "unit": "EA"},
                            "condition": "sellable",
                        }
                    ],
                }
            ]
        },
    )

    warehouse: Warehouse
    received_at: Timestamp
    lines: Annotated[list[ReturnReceiptLine], Field(min_length=1, max_length=200)]


class ReturnStatus(StrEnum):
    authorised = "authorised"  # the channel may send the goods back
    received = "received"  # the goods arrived; the credit memo is pending
    credited = "credited"  # the ERP issued the credit memo
    held = "held"  # parked in the exception queue (see its reason)


class Return(CanonicalModel):
    return_id: str
    order_id: str
    status: ReturnStatus
    lines: list[ReturnLine]
    received_lines: list[ReturnReceiptLine] = []
    credit_memo_number: str | None = None
    created_at: UtcDateTime


class InvoiceLine(CanonicalModel):
    line_no: int
    sku: Sku
    quantity: Quantity
    unit_price: Money
    line_total: Money


class Invoice(CanonicalModel):
    """The ERP's invoice for one shipment, priced from the sales order."""

    invoice_number: Annotated[str, Field(examples=["INV-000001"])]
    order_id: Annotated[str, Field(description="The order reference (the sales order's external reference)")]
    erp_order_number: str
    shipment_id: str
    currency: CurrencyCode
    lines: list[InvoiceLine]
    total: Money
    issued_at: UtcDateTime


class CreditMemo(CanonicalModel):
    """The ERP's credit memo for one return, priced as invoiced."""

    credit_memo_number: Annotated[str, Field(examples=["CM-000001"])]
    order_id: Annotated[str, Field(description="The order reference (the sales order's external reference)")]
    erp_order_number: str
    return_id: str
    invoice_number: str | None = None
    currency: CurrencyCode
    lines: list[InvoiceLine]
    total: Money
    issued_at: UtcDateTime


class FulfillmentRequestLine(CanonicalModel):
    line_no: int
    sku: Sku
    quantity: Quantity
    shipped_quantity: Quantity


class FulfillmentRequestStatus(StrEnum):
    open = "open"
    partly_shipped = "partly_shipped"
    shipped = "shipped"
    cancelled = "cancelled"


class FulfillmentRequest(CanonicalModel):
    """An order (or its part) a 3PL partner is asked to ship from the warehouse it operates."""

    request_id: Annotated[str, Field(examples=["fr_0001"])]
    order_id: str
    partner_id: str
    warehouse: str
    lines: list[FulfillmentRequestLine]
    ship_to: Address | None = None
    status: FulfillmentRequestStatus
    created_at: UtcDateTime


__all__ = [
    "CreditMemo",
    "FulfillmentRequest",
    "FulfillmentRequestLine",
    "FulfillmentRequestStatus",
    "Invoice",
    "InvoiceLine",
    "Return",
    "ReturnCondition",
    "ReturnCreate",
    "ReturnLine",
    "ReturnReceiptCreate",
    "ReturnReceiptLine",
    "ReturnStatus",
    "Shipment",
    "ShipmentCreate",
    "ShipmentLine",
    "ShipmentStatus",
    "Timestamp",
]
