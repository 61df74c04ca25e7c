"""Shipments and return receipts of the WMS, as its API shows them (canonical SKUs and quantities)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts import CanonicalModel, Quantity, ReturnCondition
from contracts.common import Line, PositiveQuantity, Sku, UtcDateTime
from contracts.fulfillment import Timestamp

Reference = Annotated[Line, Field(min_length=1, max_length=64)]
#: A shipment or return id (``contracts.fulfillment.ScopedReference``: up to 129 characters).
ScopedReference = Annotated[Line, Field(min_length=1, max_length=129)]
OrderReference = Annotated[
    Line, Field(min_length=1, max_length=100, description="The order id the goods are for", examples=["ord_0001"])
]
WarehouseCode = Annotated[Line, Field(min_length=1, max_length=10, description="The site code", examples=["AMS"])]
_PUBLISH = Field(
    strict=True,  # a JSON boolean: 0 or "no" are refused, not read as false
    description="Announce it (`com.interchange.warehouse.shipped.v1` / `...return_received.v1`) through the outbox; "
    "false when the caller (the fulfilment process) tells the business itself",
)


def _lines(*extra: dict[str, Any]) -> Any:
    return [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}} | e for e in extra or ({},)]


class ShippedLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


class ShippedLine(CanonicalModel):
    sku: Sku
    quantity: Quantity


class WarehouseShipmentCreate(CanonicalModel):
    """Goods that left a warehouse for an order: taken from the order's reservation there."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shipment_id": "SHP-1",
                    "reference": "ord_0001",
                    "warehouse": "AMS",
                    "carrier": "UPS",
                    "tracking_number": "1Z999",
                    "lines": _lines(),
                }
            ]
        },
    )

    shipment_id: Annotated[ScopedReference, Field(description="The shipper's id: one shipment each")]
    reference: OrderReference
    warehouse: WarehouseCode
    carrier: Reference
    tracking_number: Reference
    shipped_at: Annotated[Timestamp | None, Field(description="When it left (default: now)")] = None
    lines: Annotated[list[ShippedLineCreate], Field(min_length=1, max_length=200)]
    publish_event: Annotated[bool, _PUBLISH] = True


class WarehouseShipment(CanonicalModel):
    shipment_id: str
    reference: str
    warehouse: str
    carrier: str
    tracking_number: str
    shipped_at: UtcDateTime
    lines: list[ShippedLine]
    created_at: UtcDateTime


class WarehouseShipmentList(CanonicalModel):
    items: list[WarehouseShipment]


class ReturnedLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity
    condition: ReturnCondition


class ReturnedLine(CanonicalModel):
    sku: Sku
    quantity: Quantity
    condition: ReturnCondition


class WarehouseReturnReceiptCreate(CanonicalModel):
    """Returned goods received into a warehouse: sellable ones back on hand, damaged ones recorded."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "return_id": "RMA-1",
                    "reference": "ord_0001",
                    "warehouse": "AMS",
                    "lines": _lines({"condition": "sellable"}),
                }
            ]
        },
    )

    return_id: Annotated[ScopedReference, Field(description="The return's id: one receipt each")]
    reference: OrderReference
    warehouse: WarehouseCode
    received_at: Annotated[Timestamp | None, Field(description="When it arrived (default: now)")] = None
    lines: Annotated[list[ReturnedLineCreate], Field(min_length=1, max_length=200)]
    publish_event: Annotated[bool, _PUBLISH] = True


class WarehouseReturnReceipt(CanonicalModel):
    return_id: str
    reference: str
    warehouse: str
    received_at: UtcDateTime
    lines: list[ReturnedLine]


class WarehouseReturnReceiptList(CanonicalModel):
    items: list[WarehouseReturnReceipt]
