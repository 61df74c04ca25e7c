"""Webhook subscriptions of the 3PL dialect: new fulfilment requests pushed as they are made."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from contracts.common import CanonicalModel, Line, UtcDateTime, one_line


class WebhookEventType(StrEnum):
    fulfillment_requested = "fulfillment.requested"  # data: the request, as GET /fulfillment-requests/{id}


class WebhookCreate(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.northwind-3pl.example/interchange",
                    "event_types": ["fulfillment.requested"],
                    "description": "new picks for the Tilburg warehouse",
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
        ),
        one_line,
    ]
    event_types: Annotated[list[WebhookEventType], Field(min_length=1, max_length=10)]
    description: Annotated[Line | None, Field(max_length=200)] = None


class WebhookRead(CanonicalModel):
    id: Annotated[str, Field(examples=["whsub_5f0c6f0e2b9d4a8e9a3c1b7d2e4f6a80"])]
    url: str
    event_types: list[WebhookEventType]
    description: str | None = None
    created_at: UtcDateTime


class WebhookCreated(WebhookRead):
    """The new subscription, with its signing secret: shown this once only."""

    secret: Annotated[str, Field(description="Verifies the `webhook-signature` header (Standard Webhooks).")]


class WebhookList(CanonicalModel):
    items: list[WebhookRead]


class DeliveryStatus(StrEnum):
    pending = "pending"  # queued, or waiting for its next attempt
    delivered = "delivered"  # the endpoint answered 2xx
    dead = "dead"  # every attempt failed; replay it once the endpoint is fixed


class DeliveryRead(CanonicalModel):
    id: Annotated[str, Field(description="The `webhook-id` header: the same on every attempt.")]
    event_type: WebhookEventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: UtcDateTime | None = None
    last_error: str | None = None
    last_status_code: int | None = None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None = None


class DeliveryList(CanonicalModel):
    items: list[DeliveryRead]
