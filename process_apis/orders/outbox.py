"""The orders service's events: every announced status change is staged in the kit's outbox
(``service_kit.events``) in the same transaction as the change, so the two commit together or not
at all, and the kit's relay publishes it on the shared event bus; consumers see at-least-once
delivery and deduplicate by the event ``id``. (The service's second outbox, ``order_events``, whose
rows no relay ever sent, is gone; an older database's table is dropped when the migrations adopt it:
``process_apis.orders.migrations``.)

Events are CloudEvents 1.0: ``type`` ``com.interchange.order.<past-verb>.v1``, ``source``,
``subject`` (the order id), ``time``, the ``correlationid`` extension, and ``data`` as published
in ``contracts.events`` (the order's ids and channel, its ERP order number, the reason).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import OrderStatus
from contracts.events import (
    CloudEvent,
    EventData,
    OrderAcceptedV1,
    OrderCancelledV1,
    OrderHeldV1,
    OrderRejectedV1,
    OrderReleasedV1,
)
from process_apis.orders.models import OrderRow
from service_kit.events.envelopes import new_event
from service_kit.events.outbox import stage_event

SOURCE = "urn:interchange:process:orders"

#: The status changes announced, and the event data of each.
EVENTS: dict[OrderStatus, type[EventData]] = {
    OrderStatus.accepted: OrderAcceptedV1,
    OrderStatus.rejected: OrderRejectedV1,
    OrderStatus.on_hold: OrderHeldV1,
    OrderStatus.released: OrderReleasedV1,
    OrderStatus.cancelled: OrderCancelledV1,
}
EVENT_TYPES: dict[OrderStatus, str] = {status: model.event_type for status, model in EVENTS.items()}


def event_type(status: OrderStatus) -> str | None:
    return EVENT_TYPES.get(status)


def record(session: AsyncSession, *, order: OrderRow, type_: str, correlation_id: str, at: datetime) -> None:
    """Stages the event in the caller's transaction (the kit's relay sends it after the commit)."""
    event = announcement(
        type_=type_,
        order_id=order.id,
        channel=order.channel,
        channel_order_id=order.channel_order_id,
        partner=order.partner_id or None,
        erp_order_number=order.erp_order_number,
        reason=order.status_reason,
        correlation_id=correlation_id,
        at=at,
    )
    stage_event(session=session, event=event)


def announcement(
    *,
    type_: str,
    order_id: str,
    channel: str,
    channel_order_id: str,
    partner: str | None,
    erp_order_number: str | None,
    reason: str | None,
    correlation_id: str,
    at: datetime,
) -> CloudEvent:
    """The event announcing an order's status change (also built by the saga's batched writes)."""
    model = next((m for m in EVENTS.values() if m.event_type == type_), None)
    if model is None:
        raise ValueError(f"no event type {type_}")
    fields: dict[str, object] = {
        "order_id": order_id,
        "channel": channel,
        "channel_order_id": channel_order_id,
        "partner": partner,
    }
    if model is OrderRejectedV1:
        fields["reason"] = reason or "rejected"
    else:
        fields |= {"erp_order_number": erp_order_number, "reason": reason}
    return new_event(
        data=model(**fields), source=SOURCE, subject=order_id, correlation_id=correlation_id or None, time=at
    )


__all__ = ["EVENTS", "EVENT_TYPES", "SOURCE", "announcement", "event_type", "record"]
