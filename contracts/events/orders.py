"""Order outcome events, published by the orders saga. ``subject``: ``order/<order id>``."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from contracts.events.envelope import EventData
from contracts.events.stock import Channel


class OrderAcceptedV1(EventData):
    """Priced, stock reserved, ERP sales order created."""

    event_type: ClassVar[str] = "com.interchange.order.accepted.v1"

    order_id: str
    channel: Channel
    channel_order_id: Annotated[str, Field(min_length=1, max_length=64)]
    partner: str | None = None
    erp_order_number: str | None = None
    reason: str | None = None


class OrderRejectedV1(EventData):
    """A business rule refused the order; nothing is left reserved."""

    event_type: ClassVar[str] = "com.interchange.order.rejected.v1"

    order_id: str
    channel: Channel
    channel_order_id: Annotated[str, Field(min_length=1, max_length=64)]
    partner: str | None = None
    reason: str


__all__ = ["OrderAcceptedV1", "OrderRejectedV1"]
