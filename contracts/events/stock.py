"""Inventory events: stock movements (WMS), item changes (ERP) and channel availability."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from contracts.common import Sku, UnitCode
from contracts.events.envelope import EventData

#: A decimal quantity as a string, as in ``contracts.common.Quantity``.
QuantityValue = Annotated[str, Field(pattern=r"^\d{1,9}(\.\d{1,3})?$", examples=["12"])]
#: The same, signed: a movement's change to on-hand or reserved stock.
QuantityDelta = Annotated[str, Field(pattern=r"^-?\d{1,9}(\.\d{1,3})?$", examples=["-2"])]
Channel = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["marketplace"])]


class MovementKind(StrEnum):
    receipt = "receipt"  # goods received into the warehouse: on hand up
    adjustment = "adjustment"  # a correction (damage, loss, found): on hand up or down
    cycle_count = "cycle_count"  # a count replaced the book quantity: on hand set
    reservation = "reservation"  # stock held for an order: reserved up
    release = "release"  # a reservation let go: reserved down
    shipment = "shipment"  # reserved stock left the building: on hand and reserved down


class ItemStatus(StrEnum):
    active = "active"
    discontinued = "discontinued"
    blocked = "blocked"


class StockMovedV1(EventData):
    """The WMS moved stock of one SKU in one warehouse. ``subject``: ``sku/<sku>/<warehouse>``."""

    event_type: ClassVar[str] = "com.interchange.stock.moved.v1"

    sku: Sku
    warehouse: Annotated[str, Field(min_length=1, max_length=32, examples=["DC1"])]
    movement: MovementKind
    quantity_delta: QuantityDelta
    unit: UnitCode = "EA"
    on_hand_after: QuantityValue
    reserved_after: QuantityValue
    occurred_at: datetime
    reference: Annotated[str | None, Field(max_length=64, description="Order, receipt or count id")] = None


class ItemChangedV1(EventData):
    """The ERP changed an item's sellability. ``subject``: ``item/<sku>``."""

    event_type: ClassVar[str] = "com.interchange.item.changed.v1"

    sku: Sku
    status: ItemStatus
    safety_stock: QuantityValue
    unit: UnitCode = "EA"


class AvailabilityChangedV1(EventData):
    """What a channel may sell changed. ``subject``: ``availability/<channel>/<sku>``."""

    event_type: ClassVar[str] = "com.interchange.availability.changed.v1"

    sku: Sku
    channel: Channel
    available: QuantityValue
    previous: QuantityValue | None = None
    unit: UnitCode = "EA"
    as_of: Annotated[
        datetime | None,
        Field(description="When the latest stock movement this value reflects happened (its occurred_at)"),
    ] = None


__all__ = ["AvailabilityChangedV1", "ItemChangedV1", "ItemStatus", "MovementKind", "StockMovedV1"]
