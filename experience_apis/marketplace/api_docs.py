"""What the marketplace's contract shows partners beyond its routes: every operation's own request
and response examples (``service_kit.openapi.add_examples``), and the webhook it sends
(``app.webhooks``, published as the contract's OpenAPI 3.1 ``webhooks``).

The request examples are real calls against the demo data (partner ``acme-market``, its listings
``ACME-WB`` and ``ACME-USB``): the portal's "try it" and the tests send them through the gateway.
Ids made by the suite (orders' references, webhook subscriptions, deliveries) are shown as they look.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import Field

from experience_apis.marketplace.schemas import DialectModel
from experience_apis.marketplace.schemas_channel import AvailabilityItem
from service_kit.openapi import OperationExamples, add_examples

_BUYER = {"name": "Jane Doe", "email": "jane@example.test"}
_ADDRESS = {"recipient": "Jane Doe", "street": "Damrak 1", "city": "Amsterdam", "zip": "1012 LG", "country_code": "NL"}
_SUBSCRIPTION_ID = "whsub_5f0c6f0e2b9d4a8e9a3c1b7d2e4f6a80"
_DELIVERY_ID = "msg_2b9d4a8e0c1f4e7a9b3d5f6a8c0e2b4d"
_CREATED_AT = "2026-12-01T09:30:00Z"
#: The subscription secret of the examples; the webhook example is signed with it, over the body sent
#: as compact JSON (a partner can check their verification against it).
WEBHOOK_EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - an example, not a secret
WEBHOOK_EXAMPLE_SIGNATURE = "v1,FIxmh997ebjGlRkoGCL15cOYIMa0SAzkXQ9hXOIqgSY="
_HOOK = {
    "url": "https://hooks.acme-market.example/interchange",
    "event_types": ["availability.changed"],
    "description": "stock levels for the ACME storefront",
}
_HOOK_READ = {"id": _SUBSCRIPTION_ID, **{k: _HOOK[k] for k in ("url", "event_types", "description")}}
_DELIVERY = {
    "id": _DELIVERY_ID,
    "event_type": "availability.changed",
    "status": "dead",
    "attempts": 10,
    "next_attempt_at": None,
    "last_error": "HTTP 503",
    "last_status_code": 503,
    "created_at": _CREATED_AT,
    "delivered_at": None,
}
_AVAILABILITY = {
    "items": [
        {"seller_sku": "ACME-WB", "available": 118, "updated_at": "2026-12-01T09:31:12Z"},
        {"seller_sku": "ACME-USB", "available": 0, "updated_at": "2026-12-01T09:32:40Z"},
    ],
    "next_cursor": "57",
}
_NO_SUCH_ORDER = {
    "type": "urn:interchange:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "No order ACME-100999 of this partner.",
}
_UNLISTED_SKU = {
    "type": "urn:interchange:problem:validation-failed",
    "title": "The request body is not valid",
    "status": 422,
    "detail": "Fix these fields and send the request again: #/lines/0/seller_sku.",
    "errors": [{"pointer": "#/lines/0/seller_sku", "in": "body", "detail": "NOT-LISTED is not one of your listings"}],
}


def _channel(suffix: str) -> dict[str, OperationExamples]:
    """The availability feed and webhook subscriptions, the same on both versions."""
    return {
        f"getAvailabilityFeed{suffix}": OperationExamples(
            "Changes since cursor 42", parameters={"since": "42", "limit": 100}, responses={200: _AVAILABILITY}
        ),
        f"listWebhooks{suffix}": OperationExamples(
            "Your subscriptions", responses={200: {"items": [{**_HOOK_READ, "created_at": _CREATED_AT}]}}
        ),
        f"createWebhook{suffix}": OperationExamples(
            "Subscribe to stock levels",
            request=_HOOK,
            responses={
                201: {
                    **_HOOK_READ,
                    "created_at": _CREATED_AT,
                    "secret": WEBHOOK_EXAMPLE_SECRET,
                }
            },
        ),
        f"deleteWebhook{suffix}": OperationExamples("Unsubscribe", parameters={"webhook_id": _SUBSCRIPTION_ID}),
        f"listWebhookDeliveries{suffix}": OperationExamples(
            "Deliveries that gave up",
            parameters={"webhook_id": _SUBSCRIPTION_ID, "status": "dead", "limit": 20},
            responses={200: {"items": [_DELIVERY]}},
        ),
        f"replayWebhookDelivery{suffix}": OperationExamples(
            "Send a dead delivery again",
            parameters={"webhook_id": _SUBSCRIPTION_ID, "delivery_id": _DELIVERY_ID},
            responses={202: {**_DELIVERY, "status": "pending", "attempts": 0, "next_attempt_at": _CREATED_AT}},
        ),
    }


EXAMPLES: dict[str, OperationExamples] = {
    "submitMarketplaceOrder": OperationExamples(
        "An order of two listings",
        parameters={"idempotency-key": "acme-MP-1001"},
        request={
            "marketplace_order_id": "MP-1001",
            "currency_code": "EUR",
            "buyer": _BUYER,
            "shipping_address": _ADDRESS,
            "order_items": [
                {"seller_sku": "ACME-WB", "quantity_ordered": 2, "item_price": "19.99"},
                {"seller_sku": "ACME-USB", "quantity_ordered": 1, "item_price": "9.50"},
            ],
        },
        responses={
            202: {
                "marketplace_order_id": "MP-1001",
                "order_reference": "ord_01JEQ7X3K9",
                "order_status": "PENDING",
                "status_url": "/marketplace/v1/orders/MP-1001",
            },
        },
    ),
    "getMarketplaceOrder": OperationExamples(
        "An accepted order",
        parameters={"marketplace_order_id": "MP-1001"},
        responses={
            200: {
                "marketplace_order_id": "MP-1001",
                "order_reference": "ord_01JEQ7X3K9",
                "order_status": "ACCEPTED",
                "status_reason": None,
                "status_reason_code": None,
                "seller_order_number": "SO-000001",
                "order_total": {"amount": "49.48", "currency_code": "EUR"},
                "order_items": [
                    {"seller_sku": "ACME-WB", "quantity_ordered": 2, "unit_price": "19.99"},
                    {"seller_sku": "ACME-USB", "quantity_ordered": 1, "unit_price": "9.50"},
                ],
            },
            404: {**_NO_SUCH_ORDER, "detail": "No order MP-1002 of this partner."},
        },
    ),
    "submitMarketplaceOrderV2": OperationExamples(
        "An order of two listings",
        parameters={"idempotency-key": "acme-ACME-100234"},
        request={
            "marketplace_order_id": "ACME-100234",
            "buyer": _BUYER,
            "shipping_address": _ADDRESS,
            "lines": [
                {"seller_sku": "ACME-WB", "quantity": 2, "item_price": {"amount": "19.99", "currency": "EUR"}},
                {"seller_sku": "ACME-USB", "quantity": 1, "item_price": {"amount": "9.50", "currency": "EUR"}},
            ],
        },
        responses={
            202: {
                "marketplace_order_id": "ACME-100234",
                "order_reference": "ord_01JEQ8B4M2",
                "order_status": "PENDING",
                "status_url": "/marketplace/v2/orders/ACME-100234",
            },
            422: _UNLISTED_SKU,
        },
    ),
    "getMarketplaceOrderV2": OperationExamples(
        "An accepted order",
        parameters={"marketplace_order_id": "ACME-100234"},
        responses={
            200: {
                "marketplace_order_id": "ACME-100234",
                "order_reference": "ord_01JEQ8B4M2",
                "order_status": "ACCEPTED",
                "status_reason": None,
                "status_reason_code": None,
                "seller_order_number": "SO-000002",
                "total": {"amount": "49.48", "currency": "EUR"},
                "lines": [
                    {"seller_sku": "ACME-WB", "quantity": 2, "unit_price": {"amount": "19.99", "currency": "EUR"}},
                    {"seller_sku": "ACME-USB", "quantity": 1, "unit_price": {"amount": "9.50", "currency": "EUR"}},
                ],
            },
            404: _NO_SUCH_ORDER,
        },
    ),
    **_channel(""),
    **_channel("V2"),
    "availabilityChanged": OperationExamples(
        "ACME-WB sold out",
        parameters={
            "webhook-id": _DELIVERY_ID,
            "webhook-timestamp": "1764581472",
            "webhook-signature": WEBHOOK_EXAMPLE_SIGNATURE,
        },
        request={
            "type": "availability.changed",
            "timestamp": "2026-12-01T09:31:12Z",
            "data": {"seller_sku": "ACME-WB", "available": 0, "updated_at": "2026-12-01T09:31:12Z"},
        },
    ),
}


class AvailabilityChangedWebhook(DialectModel):
    """The body of an ``availability.changed`` delivery (Standard Webhooks' ``type``, ``timestamp``, ``data``)."""

    type: Literal["availability.changed"]
    timestamp: Annotated[datetime, Field(description="When the stock changed.")]
    data: AvailabilityItem


def document_api(app: FastAPI) -> None:
    """Add the examples and the webhook to the app's contract (call it in the app factory)."""

    @app.webhooks.post(
        "availability.changed",
        operation_id="availabilityChanged",
        summary="A listing's available stock changed",
        description="Sent to every subscription of `availability.changed` when the units you may sell of one "
        "of your listings change. Verify `webhook-signature` with your subscription's secret before trusting "
        "the body (the developer portal's webhooks page, docs/webhooks.md); answer any 2xx, quickly. The example is "
        f"signed with the example subscription's secret `{WEBHOOK_EXAMPLE_SECRET}` over its body as compact JSON.",
        responses={204: {"description": "Received (any 2xx): the delivery is done."}},
        status_code=204,
    )
    def availability_changed(
        body: AvailabilityChangedWebhook,
        webhook_id: Annotated[str, Header(alias="webhook-id", description="The delivery id, the same on every retry.")],
        webhook_timestamp: Annotated[
            str, Header(alias="webhook-timestamp", description="Unix seconds when this attempt was signed.")
        ],
        webhook_signature: Annotated[
            str, Header(alias="webhook-signature", description="`v1,<base64 HMAC-SHA256>`, space-separated.")
        ],
    ) -> None:
        """Documentation only: the marketplace sends this, it does not serve it."""

    add_examples(app, EXAMPLES)


__all__ = [
    "EXAMPLES",
    "WEBHOOK_EXAMPLE_SECRET",
    "WEBHOOK_EXAMPLE_SIGNATURE",
    "AvailabilityChangedWebhook",
    "document_api",
]
