"""What the storefront service answers about its fulfilment pushes (shipments told to the shop)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from contracts.common import UtcDateTime


class FulfilmentPushRead(BaseModel):
    shipment_id: str
    storefront_order_id: Annotated[str, Field(description="The shop's order id the fulfilment goes to.")]
    order_id: Annotated[str, Field(description="The canonical order.")]
    status: Literal["pending", "synced", "dead"]
    attempts: int
    last_error: str | None = None
    fulfillment: Annotated[dict[str, Any], Field(description="The fulfilment as sent, in the shop's dialect.")]
    fulfillment_id: Annotated[int | None, Field(description="The shop's id for it, once pushed.")] = None
    created_at: UtcDateTime
    pushed_at: UtcDateTime | None = None


class FulfilmentPushList(BaseModel):
    """Fulfilment pushes, oldest first."""

    items: list[FulfilmentPushRead]


class FulfilmentReplay(BaseModel):
    """A dead fulfilment push queued again, and who replayed it, when and why."""

    shipment_id: str
    status: Literal["pending"] = "pending"
    replayed_by: str
    reason: str | None = None
    requested_at: UtcDateTime
