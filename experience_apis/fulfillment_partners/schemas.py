"""The 3PL dialect (version 1): fulfilment requests by ``request_id`` with ``items`` of ``line``,
``sku`` and ``qty`` (whole units); ASNs by the partner's ``asn_number``; return receipts by the
``rma_number``; stock counts per SKU. The partner is the token's partner and the warehouse the one
it operates, never a field; statuses, invoices and drift are the server's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from contracts import Address, FulfillmentRequestStatus, ReturnCondition, ReturnStatus, ShipmentStatus
from contracts.common import CanonicalModel, Line, Sku, UtcDateTime


def _text_only(value: object) -> object:
    """A timestamp as the contract publishes it, ISO 8601 text: not a number of seconds (pydantic's
    lax mode would read one)."""
    if not isinstance(value, (str, datetime)):
        raise ValueError("A date-time as ISO 8601 text, e.g. 2026-12-07T14:05:00Z.")
    return value


#: When something happened at the partner's, as the partner says it.
Timestamp = Annotated[UtcDateTime, BeforeValidator(_text_only)]
#: A reference the partner or the server gives (ASN, RMA, request): it appears in URLs.
Reference = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", examples=["ASN-2026-0001"])
]
LineNumber = Annotated[int, Field(strict=True, ge=1, le=10_000, description="The request's line (`line` of its items)")]
Units = Annotated[int, Field(strict=True, gt=0, le=999_999_999, description="Whole units", examples=[2])]
Carrier = Annotated[Line, Field(min_length=1, max_length=64, examples=["DHL"])]


class RequestItem(CanonicalModel):
    line: int
    sku: Sku
    qty: Annotated[int, Field(description="Units to ship")]
    shipped_qty: Annotated[int, Field(description="Units already confirmed shipped")]


class FulfillmentRequestRead(CanonicalModel):
    """An order (or its part) you are asked to ship from your warehouse."""

    request_id: str
    order_reference: Annotated[str, Field(description="The seller's order reference (print it on the parcel)")]
    warehouse: str
    status: FulfillmentRequestStatus
    ship_to: Address | None = None
    items: list[RequestItem]
    created_at: UtcDateTime


class FulfillmentRequestList(CanonicalModel):
    items: list[FulfillmentRequestRead]
    next_offset: Annotated[int | None, Field(description="Pass it as `offset` for the next page; null: no more.")] = (
        None
    )


class AsnItem(CanonicalModel):
    line: LineNumber
    sku: Sku
    qty: Units


def _one_item_per_line(items: list[AsnItem] | list[ReturnReceiptItem]) -> None:
    seen: set[int] = set()
    for item in items:
        if item.line in seen:
            raise ValueError(f"Line {item.line} appears twice; send one item per line.")
        seen.add(item.line)


class AsnCreate(CanonicalModel):
    """An advance ship notice: what left your warehouse for one request, with carrier and tracking.
    Ship a request in parts with one ASN per parcel (each its own `asn_number`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "asn_number": "ASN-2026-0001",
                    "request_id": "fr_01JEXAMPLE",
                    "carrier": "DHL",
                    "tracking": "JD014600006281230704",
                    "shipped_at": "2026-12-07T14:05:00Z",
                    "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 2}],
                }
            ]
        },
    )

    asn_number: Annotated[Reference, Field(description="Your shipment reference: one per parcel")]
    request_id: Annotated[Reference, Field(description="The fulfilment request it ships")]
    carrier: Carrier
    tracking: Annotated[Line, Field(min_length=1, max_length=64, description="The carrier's tracking number")]
    tracking_url: Annotated[str | None, Field(max_length=500, pattern=r"^https?://[^\s]+$")] = None
    shipped_at: Timestamp
    items: Annotated[list[AsnItem], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _lines_once(self) -> AsnCreate:
        _one_item_per_line(self.items)
        return self


class AsnAccepted(CanonicalModel):
    asn_number: str
    status: ShipmentStatus
    status_url: Annotated[str, Field(description="Where to follow the shipment (also in `Location`).")]


class AsnRead(CanonicalModel):
    asn_number: str
    order_reference: str
    warehouse: str
    carrier: str
    tracking: str
    tracking_url: str | None = None
    shipped_at: datetime
    items: list[AsnItem]
    status: Annotated[
        ShipmentStatus,
        Field(description="`recorded`, then `invoiced`, then `notified` (the buyer was told); `held`: we look at it"),
    ]
    invoice_number: str | None = None
    created_at: datetime


class ReturnReceiptItem(CanonicalModel):
    line: LineNumber
    sku: Sku
    qty: Units
    condition: Annotated[ReturnCondition, Field(description="`sellable`: back on your shelf; `damaged`: not")]


class ReturnReceiptCreate(CanonicalModel):
    """Returned goods you received at your warehouse for an authorised return (RMA)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rma_number": "RMA-2026-0001",
                    "received_at": "2026-12-09T10:30:00Z",
                    "items": [{"line": 1, "sku": "WIDGET-BLUE", "qty": 1, "condition": "sellable"}],
                }
            ]
        },
    )

    rma_number: Annotated[Reference, Field(description="The return's reference, as on the return label")]
    received_at: Timestamp
    items: Annotated[list[ReturnReceiptItem], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _lines_once(self) -> ReturnReceiptCreate:
        _one_item_per_line(self.items)
        return self


class ReturnReceiptAccepted(CanonicalModel):
    rma_number: str
    status: ReturnStatus


class StockCount(CanonicalModel):
    sku: Sku
    qty: Annotated[int, Field(strict=True, ge=0, le=999_999_999, description="Units you counted on hand")]


class StockSnapshotCreate(CanonicalModel):
    """What you counted at your warehouse, per SKU (one count per SKU)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"counted_at": "2026-12-07T06:00:00Z", "items": [{"sku": "WIDGET-BLUE", "qty": 40}]},
            ]
        },
    )

    counted_at: Timestamp
    items: Annotated[list[StockCount], Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _one_count_per_sku(self) -> StockSnapshotCreate:
        seen: set[str] = set()
        for item in self.items:
            if item.sku in seen:
                raise ValueError(f"SKU {item.sku} is counted twice; send one count per SKU.")
            seen.add(item.sku)
        return self


class StockDrift(CanonicalModel):
    sku: str
    counted: int
    expected: Annotated[int, Field(description="On hand at your warehouse by our records")]
    drift: Annotated[int, Field(description="counted - expected: positive, you have more than we think")]


class StockSnapshotReport(CanonicalModel):
    warehouse: str
    counted_at: datetime
    checked_at: datetime
    items: list[StockDrift]
    drifted: Annotated[int, Field(description="How many SKUs drift")]
    uncounted: Annotated[list[str], Field(description="SKUs on hand by our records that you did not count")]
