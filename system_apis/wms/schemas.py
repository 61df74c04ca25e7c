from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts import CanonicalModel, InventoryPosition, Quantity, Reservation, ReservationCreate
from contracts.common import PositiveQuantity, Sku, UnitCode
from contracts.events import MovementKind


class Warehouse(CanonicalModel):
    code: str
    name: str
    operated_by: Annotated[
        str | None, Field(description="The partner (a 3PL) that runs it; null when the business runs it itself")
    ] = None


class WarehouseList(CanonicalModel):
    items: list[Warehouse]


class StockList(CanonicalModel):
    items: list[InventoryPosition]


class ReservationList(CanonicalModel):
    items: list[Reservation]


# -- stock movements (receipts, adjustments, cycle counts) and the versioned snapshot ------------

Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")]
WarehouseCode = Annotated[str, Field(min_length=1, max_length=10, examples=["AMS"])]


class ReceiptLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


class ReceiptCreate(CanonicalModel):
    """Goods received into a warehouse: on hand goes up by each line. Once per reference."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reference": "ASN-2024-0001",
                    "warehouse": "AMS",
                    "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "24", "unit": "EA"}}],
                }
            ]
        },
    )

    reference: Annotated[Reference, Field(examples=["ASN-2024-0001"])]
    warehouse: WarehouseCode
    lines: Annotated[list[ReceiptLineCreate], Field(min_length=1, max_length=200)]


class AdjustmentCreate(CanonicalModel):
    """A correction of on hand (damage, loss, found stock). Never takes on hand below zero or
    below what is reserved. Once per reference."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reference": "ADJ-0001",
                    "warehouse": "RTM",
                    "sku": "WIDGET-BLUE",
                    "quantity_delta": "-2",
                    "reason": "damaged in handling",
                }
            ]
        },
    )

    reference: Annotated[Reference, Field(examples=["ADJ-0001"])]
    warehouse: WarehouseCode
    sku: Sku
    quantity_delta: Annotated[str, Field(pattern=r"^-?[1-9]\d{0,8}$", examples=["-2"], description="Whole units")]
    unit: UnitCode = "EA"
    reason: Annotated[str, Field(min_length=1, max_length=200, examples=["damaged in handling"])]


class CycleCountCreate(CanonicalModel):
    """A count replaced the book quantity: on hand is set to ``counted``. With ``expected_version``
    the count applies only when no movement happened since that version (else 409)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reference": "CC-2024-07-01-AMS-17",
                    "warehouse": "AMS",
                    "sku": "WIDGET-RED",
                    "counted": {"value": "4", "unit": "EA"},
                    "expected_version": 3,
                }
            ]
        },
    )

    reference: Annotated[Reference, Field(examples=["CC-2024-07-01-AMS-17"])]
    warehouse: WarehouseCode
    sku: Sku
    counted: Quantity
    expected_version: Annotated[int | None, Field(ge=0, strict=True, examples=[3])] = None


class StockMovementRead(CanonicalModel):
    sku: Sku
    warehouse: str
    movement: MovementKind
    quantity_delta: str
    on_hand: Quantity
    reserved: Quantity
    version: Annotated[int, Field(description="The position's movement sequence after this movement")]
    occurred_at: datetime
    reference: str | None = None


class StockMovementList(CanonicalModel):
    items: list[StockMovementRead]


class VersionedPosition(CanonicalModel):
    """A stock position with its movement sequence (the ``entityversion`` of its events)."""

    sku: Sku
    warehouse: str
    on_hand: Quantity
    reserved: Quantity
    available: Quantity
    version: int
    updated_at: datetime


class StockSnapshot(CanonicalModel):
    items: list[VersionedPosition]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: str | None = None


# -- batches: many reservations (or pick releases) in one call, each entry on its own -------------

#: Entries per batch call at most.
MAX_BATCH = 100


class EntryProblem(CanonicalModel):
    """Why one entry was not done, as the single operation would say it (RFC 9457 members)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = []


class ReservationBatchCreate(CanonicalModel):
    """Reservations to make in one call; each is made once per reference and on its own (a
    refused entry reserves nothing and does not stop the others)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "reference": "ord_0001",
                            "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
                        },
                        {
                            "reference": "ord_0002",
                            "lines": [{"sku": "CABLE-USB-C", "quantity": {"value": "10", "unit": "EA"}}],
                        },
                    ]
                }
            ]
        },
    )

    entries: Annotated[list[ReservationCreate], Field(min_length=1, max_length=MAX_BATCH)]


class ReservationOutcome(StrEnum):
    created = "created"  # reserved by this call
    existing = "existing"  # the reference already held this active reservation
    refused = "refused"  # a business rule refused it (see problem: insufficient stock...); nothing reserved
    conflict = "conflict"  # another request is reserving for the reference right now; send it again


class ReservationBatchEntry(CanonicalModel):
    reference: str
    outcome: ReservationOutcome
    reservation: Reservation | None = None
    problem: EntryProblem | None = None


class ReservationBatchResult(CanonicalModel):
    """One result per entry, in the order of the entries."""

    results: list[ReservationBatchEntry]


class PickReleaseCreate(CanonicalModel):
    reservation_id: Annotated[str, Field(min_length=1, max_length=32, examples=["RSV-000001"])]


class PickReleaseBatchCreate(CanonicalModel):
    """Reservations to send to the warehouse floor for picking in one call, each on its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"entries": [{"reservation_id": "RSV-000001"}, {"reservation_id": "RSV-000002"}]}]
        },
    )

    entries: Annotated[list[PickReleaseCreate], Field(min_length=1, max_length=MAX_BATCH)]


class PickReleaseOutcome(StrEnum):
    released = "released"  # sent to the floor by this call
    unchanged = "unchanged"  # already on the floor (picking or picked): answered as it is
    refused = "refused"  # unknown, or released (its stock given back): nothing to pick (see problem)


class PickReleaseBatchEntry(CanonicalModel):
    reservation_id: str
    outcome: PickReleaseOutcome
    reservation: Reservation | None = None
    problem: EntryProblem | None = None


class PickReleaseBatchResult(CanonicalModel):
    """One result per entry, in the order of the entries."""

    results: list[PickReleaseBatchEntry]
