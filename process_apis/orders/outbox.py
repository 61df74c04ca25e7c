"""The transactional outbox of the orders service: every event is a row of ``order_events``,
added in the same transaction as the state change it announces, so the two commit together or
not at all. There is no event bus yet (``service_kit.events`` is being built): a relay will read
``unpublished_events`` in order, publish each, and set ``published_at``. Consumers see at-least-once
delivery and deduplicate by the event ``id``.

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
from process_apis.orders import repository
from process_apis.orders.models import OrderEvent, OrderRow

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
    return event


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
