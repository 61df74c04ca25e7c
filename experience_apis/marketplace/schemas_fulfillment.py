"""Shipments, invoices and returns of the partner's orders, in the marketplace dialect (version 2):
seller SKUs, whole quantities, money as ``{"amount", "currency"}``. Read-only but for the return a
partner asks for; the seller derives every status, number and amount."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from contracts.common import Line, Text, UtcDateTime
from experience_apis.marketplace.schemas import DialectModel, MarketplaceOrderId, SellerSku
from experience_apis.marketplace.schemas_v2 import Money

Units = Annotated[int, Field(strict=True, gt=0, le=999_999_999, examples=[1])]


class ShippedLineV2(DialectModel):
    seller_sku: SellerSku
    quantity: int


class ShipmentStatusV2(StrEnum):
    recorded = "recorded"  # shipped; the invoice follows
    invoiced = "invoiced"
    notified = "notified"  # the buyer was told
    held = "held"  # the seller is looking into it


class ShipmentV2(DialectModel):
    shipment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: UtcDateTime
    status: ShipmentStatusV2
    invoice_number: Annotated[str | None, Field(description="The seller's invoice for this shipment, once issued.")] = (
        None
    )
    lines: list[ShippedLineV2]


class ShipmentListV2(DialectModel):
    """The order's shipments, oldest first: an order may ship in several parts."""

    marketplace_order_id: MarketplaceOrderId
    items: list[ShipmentV2]


class InvoiceLineV2(DialectModel):
    seller_sku: SellerSku
    quantity: int
    unit_price: Money
    line_total: Money


class InvoiceV2(DialectModel):
    invoice_number: str
    shipment_id: Annotated[str, Field(description="The shipment it bills: one invoice per shipment.")]
    issued_at: UtcDateTime
    lines: list[InvoiceLineV2]
    total: Money


class InvoiceListV2(DialectModel):
    marketplace_order_id: MarketplaceOrderId
    items: list[InvoiceV2]


class ReturnLineCreateV2(DialectModel):
    seller_sku: SellerSku
    quantity: Units
    reason: Annotated[Text, Field(min_length=1, max_length=200, examples=["arrived damaged"])]


class ReturnCreateV2(DialectModel):
    """A return the buyer asked for: authorised for goods shipped and not yet returned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "return_reference": "RMA-ACME-100234-1",
                    "lines": [{"seller_sku": "ACME-WB", "quantity": 1, "reason": "arrived damaged"}],
                }
            ]
        },
    )

    return_reference: Annotated[
        Line,
        Field(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
            description="Your return's reference: the goods come back under it (print it on the label).",
        ),
    ]
    lines: Annotated[list[ReturnLineCreateV2], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> ReturnCreateV2:
        seen: set[str] = set()
        for line in self.lines:
            if line.seller_sku in seen:
                raise ValueError(f"{line.seller_sku} appears twice; send one line per seller SKU.")
            seen.add(line.seller_sku)
        return self


class ReturnStatusV2(StrEnum):
    authorised = "authorised"  # send the goods back
    received = "received"  # the goods arrived; the credit follows
    credited = "credited"  # the seller credited the buyer
    held = "held"  # the seller is looking into it


class ReturnV2(DialectModel):
    return_reference: str
    marketplace_order_id: MarketplaceOrderId
    status: ReturnStatusV2
    lines: list[ReturnLineCreateV2]
    credit_memo_number: str | None = None
    created_at: UtcDateTime
