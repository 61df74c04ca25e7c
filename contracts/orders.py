"""The canonical order, its lines and its lifecycle, plus the documents the saga creates in the
ERP (sales order) and the WMS (reservation)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts.common import (
    Address,
    CanonicalModel,
    CurrencyCode,
    Line,
    Money,
    PositiveQuantity,
    Quantity,
    Sku,
    UtcDateTime,
)


class OrderStatus(StrEnum):
    received = "received"  # durably recorded, validation passed, orchestration pending
    accepted = "accepted"  # priced, stock reserved, ERP sales order created
    rejected = "rejected"  # a business rule refused it; nothing is left reserved
    on_hold = "on_hold"  # parked for review (credit) or for replay (technical failure)
    released = "released"  # released to the warehouse for picking
    shipped = "shipped"
    invoiced = "invoiced"
    completed = "completed"
    cancelled = "cancelled"


class OrderLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


class OrderLine(CanonicalModel):
    line_no: int
    sku: Sku
    quantity: Quantity
    unit_price: Money | None = None
    line_total: Money | None = None
    warehouse: str | None = None


class OrderCreate(CanonicalModel):
    """An order as a channel hands it in. Prices, status and owner are derived by the server."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "marketplace",
                    "channel_order_id": "MP-1001",
                    "customer_id": "C-1001",
                    "currency": "EUR",
                    "ship_to": {
                        "name": "Jane Doe",
                        "line1": "Damrak 1",
                        "city": "Amsterdam",
                        "postal_code": "1012 LG",
                        "country": "NL",
                    },
                    "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
                }
            ]
        },
    )

    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["marketplace"])]
    channel_order_id: Annotated[Line, Field(min_length=1, max_length=64, examples=["MP-1001"])]
    customer_id: Annotated[Line, Field(min_length=1, max_length=64, examples=["C-1001"])]
    currency: CurrencyCode
    ship_to: Address | None = None
    lines: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=200)]
    split_shipments_allowed: Annotated[
        bool,
        Field(
            description="Whether the order may ship from more than one warehouse when no single "
            "warehouse can ship it whole (default: it may not, and is rejected instead)."
        ),
    ] = False


class Order(CanonicalModel):
    id: str
    channel: str
    channel_order_id: str
    partner_id: str | None = None
    customer_id: str
    currency: CurrencyCode
    status: OrderStatus
    status_reason: str | None = None
    status_reason_code: Annotated[
        str | None,
        Field(
            description="Why the order is where it is, as a stable code: `rejected`, `cancelled`, "
            "`held_for_review`, or `held_for_retry` (a system behind the seller failed; it is retried or "
            "resumed, nothing is needed from the channel). Null for any other status."
        ),
    ] = None
    lines: list[OrderLine]
    total: Money | None = None
    erp_order_number: str | None = None
    reservation_id: str | None = None
    ship_to: Address | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    reservation_ids: Annotated[
        list[str], Field(description="Every WMS reservation of the order (more than one when split).")
    ] = []
    failed_step: Annotated[
        str | None, Field(description="The step that failed last (set while the order is on hold for it).")
    ] = None
    last_error: Annotated[str | None, Field(description="The last technical failure, while it matters.")] = None
    cancel_outcome: Annotated[
        str | None, Field(description="Why a cancellation asked for could not be done (too late), if so.")
    ] = None


class OrderAccepted(CanonicalModel):
    """The intake answer (202): where to follow the order."""

    id: str
    status: OrderStatus
    status_url: str


class ReservationLineCreate(CanonicalModel):
    sku: Sku
    quantity: Quantity


class ReservationCreate(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reference": "ord_0001", "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}]}
            ]
        },
    )

    reference: Annotated[Line, Field(min_length=1, max_length=100, description="The order id it is for")]
    lines: Annotated[list[ReservationLineCreate], Field(min_length=1)]


class ReservationStatus(StrEnum):
    active = "active"  # stock allocated, not yet released to the warehouse floor
    released = "released"  # given back: the stock is available again
    picking = "picking"  # released to the warehouse for picking; picking can still be cancelled
    picked = "picked"  # picked: too late to cancel picking


class ReservationLine(CanonicalModel):
    sku: Sku
    quantity: Quantity
    warehouse: str


class Reservation(CanonicalModel):
    id: str
    reference: str
    status: ReservationStatus
    warehouse: str
    lines: list[ReservationLine]
    created_at: UtcDateTime


class SalesOrderLineCreate(CanonicalModel):
    sku: Sku
    quantity: Quantity
    unit_price: Money


def _sales_order_example(*, reference: str, customer_id: str, sku: str, quantity: str, price: str) -> dict[str, Any]:
    """One sales order of the examples (a new dict each call: the exported schemas hold no shared objects)."""
    return {
        "external_reference": reference,
        "customer_id": customer_id,
        "currency": "EUR",
        "lines": [
            {
                "sku": sku,
                "quantity": {"value": quantity, "unit": "EA"},
                "unit_price": {"amount": price, "currency": "EUR"},
            }
        ],
    }


class SalesOrderCreate(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _sales_order_example(
                    reference="ord_0001", customer_id="C-1001", sku="WIDGET-BLUE", quantity="2", price="19.99"
                ),
            ]
        },
    )

    external_reference: Annotated[Line, Field(min_length=1, max_length=100, description="Unique per order")]
    customer_id: Line
    currency: CurrencyCode
    lines: Annotated[list[SalesOrderLineCreate], Field(min_length=1)]
    ship_to: Address | None = None


class SalesOrder(CanonicalModel):
    number: str
    external_reference: str
    customer_id: str
    currency: CurrencyCode
    status: str
    lines: list[SalesOrderLineCreate]
    total: Money
    created_at: UtcDateTime


#: Entries one sales order batch call may carry.
MAX_SALES_ORDER_BATCH = 100


class SalesOrderBatchCreate(CanonicalModel):
    """Sales orders to book in one call; each entry is booked once per external reference, on its
    own (a refused entry does not stop the others)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        _sales_order_example(
                            reference="ord_0001", customer_id="C-1001", sku="WIDGET-BLUE", quantity="2", price="19.99"
                        ),
                        _sales_order_example(
                            reference="ord_0002", customer_id="C-2001", sku="CABLE-USB-C", quantity="10", price="4.50"
                        ),
                    ]
                }
            ]
        },
    )

    entries: Annotated[list[SalesOrderCreate], Field(min_length=1, max_length=MAX_SALES_ORDER_BATCH)]


class BatchOutcome(StrEnum):
    created = "created"  # booked by this call
    existing = "existing"  # booked before under this external reference, with the same content
    refused = "refused"  # a business rule refused it (see problem); nothing booked
    conflict = "conflict"  # the reference holds another order, or is being booked right now


class EntryProblem(CanonicalModel):
    """Why one entry was not booked, as the single-order operation would say it (RFC 9457 fields)."""

    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = []


class SalesOrderBatchEntry(CanonicalModel):
    external_reference: str
    outcome: BatchOutcome
    sales_order: SalesOrder | None = None
    problem: EntryProblem | None = None


class SalesOrderBatchResult(CanonicalModel):
    """One result per entry, in the order of the entries."""

    results: list[SalesOrderBatchEntry]
