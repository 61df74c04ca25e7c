"""The storefront's order webhook in its own dialect (Shopify-like: ``orders/create``,
``orders/updated``, ``orders/cancelled`` carry the whole order), and what this service answers.

A tolerant reader: the storefront sends many more fields than these (and adds some over time);
only what the canonical order needs is read, the rest ignored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class Topic(StrEnum):
    created = "orders/create"
    updated = "orders/updated"
    cancelled = "orders/cancelled"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WebhookAddress(_Tolerant):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address1: Annotated[str, Field(min_length=1, max_length=200)]
    address2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    zip: Annotated[str, Field(min_length=1, max_length=20)]
    province_code: Annotated[str | None, Field(max_length=100)] = None
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class WebhookLineItem(_Tolerant):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=999_999)]


class WebhookOrder(_Tolerant):
    id: Annotated[int, Field(ge=1, description="The storefront's order id.")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    updated_at: Annotated[datetime, Field(description="When the storefront last changed the order (with offset).")]
    cancelled_at: datetime | None = None
    cancel_reason: Annotated[str | None, Field(max_length=100)] = None
    shipping_address: WebhookAddress | None = None
    line_items: Annotated[list[WebhookLineItem], Field(min_length=1, max_length=200)]


class WebhookOutcome(StrEnum):
    submitted = "submitted"  # the order was handed to the orders API (or already had been)
    cancelled = "cancelled"  # its cancellation was handed to the orders API
    recorded = "recorded"  # newer than what we had, nothing to hand on (an edit after intake)
    stale = "stale"  # older than an update already taken: ignored
    duplicate = "duplicate"  # this delivery id was already taken: nothing changed


class WebhookReceipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_id: str
    outcome: WebhookOutcome
    order_id: Annotated[str | None, Field(description="The canonical order, once there is one.")] = None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` written in place: the webhook's body is documented
    by hand (the route reads the raw bytes for the signature), and a ``#/$defs/...`` reference
    inside an OpenAPI document would point at the document's root."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


__all__ = [
    "Topic",
    "WebhookAddress",
    "WebhookLineItem",
    "WebhookOrder",
    "WebhookOutcome",
    "WebhookReceipt",
    "inline_schema",
]
