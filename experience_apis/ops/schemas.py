"""What the console shows and its API answers. The orders' own shapes are canonical (contracts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from contracts import Order
from contracts.common import CanonicalModel


class FoundOrder(CanonicalModel):
    order: Order
    matched_on: Annotated[
        list[str], Field(description="Which references matched: order_id, channel_order_id, erp_order_number, ...")
    ]


class OrderSearch(CanonicalModel):
    """Every order a reference names (usually one)."""

    reference: str
    items: list[FoundOrder]


class TimelineEntry(BaseModel):
    """One thing that happened to an order, from any tier: a status change (orders), a saga step
    (the ERP, WMS or CRM it called), a replay (an operator), an event (the bus)."""

    at: datetime
    tier: str
    what: str
    detail: str | None = None
    correlation_id: str | None = None


class ParkedItem(BaseModel):
    """A row of the exception queue: what is parked, where and why."""

    order_id: str
    channel: str
    channel_order_id: str
    customer_id: str
    hold_kind: str | None
    failed_step: str | None
    reason: str | None
    last_error: str | None
    parked_at: datetime | None
    age_seconds: float


class DeadLetter(BaseModel):
    """A storefront push that failed for good: the level it holds and why it failed."""

    sku: str
    available: int
    attempts: int
    last_error: str | None = None
    since: datetime


class BusDeadLetter(BaseModel):
    """A message the event bus parked after too many failed deliveries to one consumer group."""

    id: str
    group: str
    deliveries: int
    error: str
    dead_at: datetime
    event_type: str
    event_id: str
    subject: str | None = None


__all__ = ["BusDeadLetter", "DeadLetter", "FoundOrder", "OrderSearch", "ParkedItem", "TimelineEntry"]
