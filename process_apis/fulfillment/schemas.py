"""The fulfilment API's own request and answer bodies (the business objects are ``contracts.fulfillment``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from contracts.common import CanonicalModel
from contracts.fulfillment import (
    CreditMemo,
    FulfillmentRequest,
    Invoice,
    Return,
    Shipment,
    ShipmentCreate,
    ShipmentStatus,
)


class ShipmentSubmit(ShipmentCreate):
    """A ship confirmation; ``request_id`` names the fulfilment request it ships (required when
    posted for a 3PL partner)."""

    request_id: Annotated[str | None, Field(min_length=1, max_length=40, examples=["fr_0001"])] = None


class ShipmentAccepted(CanonicalModel):
    shipment_id: str
    status: ShipmentStatus
    status_url: str


class ShipmentRead(Shipment):
    request_id: str | None = None
    status_reason: str | None = None


class ReturnRead(Return):
    status_reason: str | None = None


class FulfillmentRequestList(CanonicalModel):
    items: list[FulfillmentRequest]
    next_offset: int | None = None


class ShipmentList(CanonicalModel):
    items: list[ShipmentRead]


class InvoiceList(CanonicalModel):
    items: list[Invoice]


class CreditMemoList(CanonicalModel):
    """The ERP's credit memos of the order's returns, as the ERP issued them (with their amounts)."""

    items: list[CreditMemo]


class ReturnList(CanonicalModel):
    items: list[ReturnRead]


class ParkedItem(CanonicalModel):
    """One row in the exception queue. ``id``: ``<kind>:<its id>``, what replay takes."""

    id: str
    kind: Annotated[str, Field(examples=["shipment"])]
    subject_id: str
    order_id: str
    failed_step: str | None = None
    reason: str | None = None
    last_error: str | None = None
    parked_at: datetime | None = None


class ExceptionList(CanonicalModel):
    items: list[ParkedItem]
    next_offset: int | None = None


class ReplayCreate(CanonicalModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "ERP numbering range extended; invoice again"}]})

    note: Annotated[str | None, Field(max_length=500, description="Why it is replayed, for the audit.")] = None


class ReplayRead(CanonicalModel):
    id: int
    kind: str
    subject_id: str
    step: str
    actor: str
    note: str | None = None
    requested_at: datetime
    outcome: str
    detail: str | None = None
    finished_at: datetime | None = None


__all__ = [
    "CreditMemoList",
    "ExceptionList",
    "FulfillmentRequestList",
    "InvoiceList",
    "ParkedItem",
    "ReplayCreate",
    "ReplayRead",
    "ReturnList",
    "ReturnRead",
    "ShipmentAccepted",
    "ShipmentList",
    "ShipmentRead",
    "ShipmentSubmit",
]
