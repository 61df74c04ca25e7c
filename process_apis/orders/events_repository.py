"""The SQL reading the order events this service staged in the kit's outbox (``event_outbox``):
the ops timeline shows them. Takes the caller's session, never commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service_kit.events.outbox import OutboxRecord

#: The type prefix of the events this service stages in the kit's outbox.
ORDER_EVENT_PREFIX = "com.interchange.order."


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AnnouncedEvent:
    """An order event as staged in the kit's outbox (``published_at``: None until relayed)."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    correlationid: str
    data: dict[str, Any]
    published_at: datetime | None


async def events(session: AsyncSession, *, order_id: str | None = None) -> list[AnnouncedEvent]:
    """The order events in the kit's outbox, oldest first (all orders' when ``order_id`` is None)."""
    stmt = select(OutboxRecord).where(OutboxRecord.type.startswith(ORDER_EVENT_PREFIX)).order_by(OutboxRecord.seq)
    if order_id is not None:
        stmt = stmt.where(OutboxRecord.subject == order_id)
    found = []
    for record in (await session.execute(stmt)).scalars():
        envelope = json.loads(record.envelope)
        found.append(
            AnnouncedEvent(
                id=record.event_id,
                type=record.type,
                source=envelope.get("source", ""),
                subject=record.subject or "",
                time=datetime.fromisoformat(envelope["time"]) if envelope.get("time") else _aware(record.created_at),
                correlationid=envelope.get("correlationid") or "",
                data=envelope.get("data") or {},
                published_at=_aware(record.published_at) if record.published_at else None,
            )
        )
    return found


__all__ = ["ORDER_EVENT_PREFIX", "AnnouncedEvent", "events"]
