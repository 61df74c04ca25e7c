"""Schemas of the orders API itself; the order and its intake answer are canonical (contracts)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts import Order, OrderStatus
from contracts.common import CanonicalModel, Text, UtcDateTime


class OrderList(CanonicalModel):
    """One page of orders, oldest first."""

    items: list[Order]


class OrderPage(CanonicalModel):
    """One page of orders, oldest first; ``next_offset`` is where the next page starts (null: last page)."""

    items: list[Order]
    next_offset: int | None = None


class OrderCancel(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "customer changed their mind"}]}
    )

    reason: Annotated[Text, Field(min_length=1, max_length=300, description="Why, as the channel tells it.")]


class CancelAccepted(CanonicalModel):
    """The cancellation is recorded and will run (or the order is already cancelled)."""

    id: str
    status: OrderStatus
    cancel_requested: bool
    status_url: str


class ReplayCreate(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "ERP is back after the outage"}]}
    )

    note: Annotated[Text | None, Field(max_length=300, description="Why it is replayed, for the audit.")] = None


class ReplayOutcome(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    rejected = "rejected"


class ReplayRead(CanonicalModel):
    """One audited replay: who asked, when, from which step, and how it ended."""

    id: int
    order_id: str
    step: str
    actor: str
    note: str | None = None
    requested_at: UtcDateTime
    outcome: ReplayOutcome
    detail: str | None = None
    finished_at: UtcDateTime | None = None


class CreditDecisionKind(StrEnum):
    approve = "approve"
    reject = "reject"


class CreditReview(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "approve", "note": "limit raised by finance"}]}
    )

    decision: CreditDecisionKind
    note: Annotated[Text | None, Field(max_length=300)] = None


class StatusChangeRead(CanonicalModel):
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str | None
    correlation_id: str
    changed_at: UtcDateTime


class StepRead(CanonicalModel):
    step: str
    outcome: str
    detail: str | None
    attempt: int
    correlation_id: str
    at: UtcDateTime


class EventRead(CanonicalModel):
    """An outbox entry (CloudEvents attributes; ``published_at`` null until a relay sent it)."""

    id: str
    type: str
    source: str
    subject: str
    time: UtcDateTime
    correlationid: str
    data: dict[str, Any]
    published_at: UtcDateTime | None = None


class OrderTimeline(CanonicalModel):
    order: Order
    history: list[StatusChangeRead]
    steps: list[StepRead]
    replays: list[ReplayRead]
    events: list[EventRead]


class ParkedOrder(CanonicalModel):
    """An order in the exception queue."""

    order_id: str
    channel: str
    channel_order_id: str
    customer_id: str
    status: OrderStatus
    hold_kind: str | None
    failed_step: str | None
    reason: str | None
    last_error: str | None
    parked_at: UtcDateTime | None
    age_seconds: float


class ExceptionQueue(CanonicalModel):
    items: list[ParkedOrder]
    next_offset: int | None = None


__all__ = [
    "CancelAccepted",
    "CreditDecisionKind",
    "CreditReview",
    "EventRead",
    "ExceptionQueue",
    "OrderCancel",
    "OrderList",
    "OrderPage",
    "OrderTimeline",
    "ParkedOrder",
    "ReplayCreate",
    "ReplayOutcome",
    "ReplayRead",
    "StatusChangeRead",
    "StepRead",
]
