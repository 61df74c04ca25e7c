"""The storefront's order dialect -> the canonical order."""

from __future__ import annotations

from contracts import Address, OrderCreate, OrderLineCreate
from experience_apis.storefront.webhook_schemas import WebhookAddress, WebhookOrder

CHANNEL = "storefront"


def channel_order_id(order: WebhookOrder) -> str:
    return str(order.id)


def _address(address: WebhookAddress) -> Address:
    return Address(
        name=address.name,
        line1=address.address1,
        line2=address.address2 or None,
        city=address.city,
        postal_code=address.zip,
        region=address.province_code or None,
        country=address.country_code,
    )


def to_order_create(order: WebhookOrder, *, customer_id: str) -> OrderCreate:
    return OrderCreate(
        channel=CHANNEL,
        channel_order_id=channel_order_id(order),
        customer_id=customer_id,
        currency=order.currency,
        ship_to=_address(order.shipping_address) if order.shipping_address else None,
        lines=[
            OrderLineCreate.model_validate({"sku": li.sku, "quantity": {"value": str(li.quantity)}})
            for li in order.line_items
        ],
    )
