"""The storefront's signed order webhooks. Public at the HTTP level (the storefront has no bearer
token): the HMAC over the raw body is the authentication, checked by the service before anything
else. HTTP only: read the raw body and headers, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from experience_apis.storefront import webhooks
from experience_apis.storefront.orders_client import OrdersApi
from experience_apis.storefront.webhook_schemas import Topic, WebhookOrder, WebhookReceipt, inline_schema
from service_kit.app import upstream
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["storefront webhooks"])

_EXAMPLE = {
    "id": 820982911946154508,
    "name": "#1001",
    "currency": "EUR",
    "updated_at": "2026-12-07T21:00:00+01:00",
    "cancelled_at": None,
    "shipping_address": {
        "name": "Jane Doe",
        "address1": "Damrak 1",
        "city": "Amsterdam",
        "zip": "1012 LG",
        "country_code": "NL",
    },
    "line_items": [{"sku": "WIDGET-BLUE", "quantity": 2}],
}


@router.post(
    "/webhooks/orders",
    operation_id="receiveStorefrontOrderWebhook",
    summary="Take in a signed order webhook from the storefront",
    description="Topics `orders/create`, `orders/updated` and `orders/cancelled`. Authenticated by "
    "`X-Storefront-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body with the shop's webhook secret. "
    "A delivery id already taken is answered 200 `duplicate` and changes nothing; an update older than "
    "the one already taken for the order is answered 200 `stale` and ignored.",
    openapi_extra={
        # The storefront posts to this service's port: the gateway does not route it (it would ask for
        # a bearer token the storefront does not have).
        "x-interchange-service-only": True,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": inline_schema(WebhookOrder),
                    "examples": {"order": {"summary": "an order", "value": _EXAMPLE}},
                }
            },
        },
    },
    responses={
        401: problem_doc("The signature does not match the body with the shop's secret (or the shop is unknown)."),
        409: problem_doc("The same order is still being taken in: deliver again after `Retry-After`."),
        422: problem_doc("Unknown topic, or the order is not valid: `errors` names each field."),
    },
)
async def receive_order_webhook(
    request: Request,
    delivery_id: Annotated[str, Header(alias="X-Storefront-Webhook-Id", min_length=1, max_length=128)],
    shop_domain: Annotated[str, Header(alias="X-Storefront-Shop-Domain", min_length=1, max_length=255)],
    topic: Annotated[str, Header(alias="X-Storefront-Topic", examples=[t.value for t in Topic])],
    signature: Annotated[str | None, Header(alias="X-Storefront-Hmac-Sha256")] = None,
) -> WebhookReceipt:
    delivery = webhooks.Delivery(
        delivery_id=delivery_id,
        shop_domain=shop_domain,
        topic=topic,
        signature=signature,
        body=await request.body(),
    )
    return await webhooks.receive_order(
        db=request.app.state.db,
        box=request.app.state.secrets,
        orders=OrdersApi(upstream(request.app, "orders")),
        delivery=delivery,
    )
