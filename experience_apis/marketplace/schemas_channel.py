"""The availability feed and webhook subscriptions, in the marketplace dialect (every version)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from contracts.common import Line, UtcDateTime, one_line
from experience_apis.marketplace.schemas import DialectModel, SellerSku

Cursor = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,18}$",
        description="Opaque position in the partner's availability feed; pass it back as `since`.",
        examples=["42"],
    ),
]


class AvailabilityItem(DialectModel):
    seller_sku: SellerSku
    available: Annotated[int, Field(ge=0, description="Units the partner may sell now.", examples=[12])]
    updated_at: Annotated[UtcDateTime, Field(description="When the seller's stock changed.")]


class AvailabilityFeed(DialectModel):
    """Changes after `since`, oldest first, each listing at most once (its latest level)."""

    items: list[AvailabilityItem]
    next_cursor: Annotated[Cursor, Field(description="Poll again with `since` set to this; unchanged when empty.")]


class WebhookEventType(StrEnum):
    availability_changed = "availability.changed"  # data: seller_sku, available, updated_at
    # Version 2's order fulfilment (experience_apis.marketplace.fulfillment): data carry the
    # marketplace_order_id with the carrier and tracking, or the return's credit memo.
    shipment_confirmed = "shipment.confirmed"
    return_credited = "return.credited"


class WebhookCreate(DialectModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.acme-market.example/interchange",
                    "event_types": ["availability.changed"],
                    "description": "stock levels for the ACME storefront",
                }
            ]
        },
    )

    url: Annotated[
        str,
        Field(
            min_length=8,
            max_length=2048,
            pattern=r"^https?://",
            description="Where to POST events: http(s), resolving to public addresses only.",
            examples=["https://hooks.acme-market.example/interchange"],
        ),
        one_line,
    ]
    event_types: Annotated[list[WebhookEventType], Field(min_length=1, max_length=10)]
    description: Annotated[Line | None, Field(max_length=200, examples=["stock levels"])] = None


class WebhookRead(DialectModel):
    id: Annotated[str, Field(examples=["whsub_5f0c6f0e2b9d4a8e9a3c1b7d2e4f6a80"])]
    url: str
    event_types: list[WebhookEventType]
    description: str | None = None
    created_at: UtcDateTime


class WebhookCreated(WebhookRead):
    """The new subscription, with its signing secret: shown this once only."""

    secret: Annotated[
        str,
        Field(
            description="Verifies the `webhook-signature` header (Standard Webhooks, see the webhooks guide).",
            examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ),
    ]


class WebhookList(DialectModel):
    items: list[WebhookRead]


class DeliveryStatus(StrEnum):
    pending = "pending"  # queued, or waiting for its next attempt
    delivered = "delivered"  # the endpoint answered 2xx
    dead = "dead"  # every attempt failed (about three days); replay it once the endpoint is fixed


class DeliveryRead(DialectModel):
    id: Annotated[
        str, Field(description="The `webhook-id` header: the same on every attempt.", examples=["msg_2b9d4a8e"])
    ]
    event_type: WebhookEventType
    status: DeliveryStatus
    attempts: Annotated[int, Field(description="Attempts since queued (or since the last replay).")]
    next_attempt_at: UtcDateTime | None = None
    last_error: str | None = None
    last_status_code: int | None = None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None = None


class DeliveryList(DialectModel):
    items: list[DeliveryRead]
