"""The rest of an order's announced status changes, published by the orders saga next to
accepted and rejected (``contracts.events.orders``). ``subject``: the order id."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from contracts.events.envelope import EventData
from contracts.events.stock import Channel


class _OrderChange(EventData):
    order_id: str
    channel: Channel
    channel_order_id: Annotated[str, Field(min_length=1, max_length=64)]
    partner: str | None = None
    erp_order_number: str | None = None
    reason: str | None = None


class OrderHeldV1(_OrderChange):
    """On hold for a person: a credit review, or a technical failure that used up its retries."""

    event_type: ClassVar[str] = "com.interchange.order.held.v1"


class OrderReleasedV1(_OrderChange):
    """Sent to the warehouse floor for picking: the saga's forward steps are done."""

    event_type: ClassVar[str] = "com.interchange.order.released.v1"


class OrderCancelledV1(_OrderChange):
    """Cancelled at the channel's request, with what the saga had done undone."""

    event_type: ClassVar[str] = "com.interchange.order.cancelled.v1"


__all__ = ["OrderCancelledV1", "OrderHeldV1", "OrderReleasedV1"]
