"""Building and reading events: the envelope's defaults come from the runtime, not the contract."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from contracts.events import CloudEvent, EventData
from service_kit.correlation import current_correlation_id

D = TypeVar("D", bound=EventData)


def new_event(
    *,
    data: EventData,
    source: str,
    subject: str | None = None,
    entity_version: int | None = None,
    correlation_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """A CloudEvent of ``data``'s type; the correlation id defaults to the current request's."""
    extra = {"time": time} if time is not None else {}
    return CloudEvent(
        type=data.event_type,
        source=source,
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=correlation_id or current_correlation_id() or None,
        entityversion=entity_version,
        **extra,
    )


def event_data(*, event: CloudEvent, model: type[D]) -> D:
    """``event.data`` as ``model``; fields the model does not know are ignored."""
    if event.type != model.event_type:
        raise ValueError(f"{event.type} is not {model.event_type}")
    return model.model_validate(event.data)


__all__ = ["event_data", "new_event"]
