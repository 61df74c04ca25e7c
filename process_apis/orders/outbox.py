"""The transactional outbox of the orders service: every event is a row of ``order_events``,
added in the same transaction as the state change it announces, so the two commit together or
not at all. ``order.accepted`` and ``order.rejected`` are also staged in the kit's outbox
(``service_kit.events``), whose relay publishes them on the shared event bus; consumers see
at-least-once delivery and deduplicate by the event ``id``.

Events are CloudEvents 1.0 in structured form: ``id``, ``specversion``, ``type``
(``com.interchange.order.<past-verb>.v1``), ``source``, ``subject`` (the order id), ``time``,
``datacontenttype``, ``data`` (the canonical order) and the ``correlationid`` extension.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import OrderStatus
from contracts.events import OrderAcceptedV1, OrderRejectedV1
from process_apis.orders import repository
from process_apis.orders.models import OrderEvent, OrderRow
from service_kit.events.envelopes import new_event
from service_kit.events.outbox import stage_event

SOURCE = "urn:interchange:process:orders"

#: The status changes announced, and the event type of each.
EVENT_TYPES: dict[OrderStatus, str] = {
    OrderStatus.accepted: "com.interchange.order.accepted.v1",
    OrderStatus.rejected: "com.interchange.order.rejected.v1",
    OrderStatus.on_hold: "com.interchange.order.held.v1",
    OrderStatus.released: "com.interchange.order.released.v1",
    OrderStatus.cancelled: "com.interchange.order.cancelled.v1",
}


def event_type(status: OrderStatus) -> str | None:
    return EVENT_TYPES.get(status)


def record(session: AsyncSession, *, order: OrderRow, type_: str, correlation_id: str, at: datetime) -> OrderEvent:
    """Adds the event to the caller's transaction (nothing is sent here)."""
    event = OrderEvent(
        id=str(uuid.uuid4()),
        specversion="1.0",
        type=type_,
        source=SOURCE,
        subject=order.id,
        time=at,
        datacontenttype="application/json",
        data=repository.to_order(order).model_dump(mode="json"),
        correlationid=correlation_id,
    )
    repository.add_event(session, event=event)
    _publish_on_the_bus(session, order=order, type_=type_, correlation_id=correlation_id, at=at)
    return event


def _publish_on_the_bus(
    session: AsyncSession, *, order: OrderRow, type_: str, correlation_id: str, at: datetime
) -> None:
    """The event types other services consume also go through the kit's outbox, in the same
    transaction, so its relay puts them on the shared event bus (``order_events`` stays the
    orders service's own full record, with the canonical order as data)."""
    canonical = repository.to_order(order)
    common = {
        "order_id": canonical.id,
        "channel": canonical.channel,
        "channel_order_id": canonical.channel_order_id,
        "partner": canonical.partner_id,
    }
    data: OrderAcceptedV1 | OrderRejectedV1
    if type_ == OrderAcceptedV1.event_type:
        data = OrderAcceptedV1(**common, erp_order_number=canonical.erp_order_number)
    elif type_ == OrderRejectedV1.event_type:
        data = OrderRejectedV1(**common, reason=canonical.status_reason or "rejected")
    else:
        return
    stage_event(
        session=session,
        event=new_event(data=data, source=SOURCE, subject=order.id, correlation_id=correlation_id or None, time=at),
    )


def as_cloudevent(event: OrderEvent) -> dict[str, Any]:
    """The structured-mode CloudEvent a relay sends."""
    return {
        "specversion": event.specversion,
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": repository.aware(event.time).isoformat(),
        "datacontenttype": event.datacontenttype,
        "correlationid": event.correlationid,
        "data": event.data,
    }


__all__ = ["EVENT_TYPES", "SOURCE", "as_cloudevent", "event_type", "record"]
