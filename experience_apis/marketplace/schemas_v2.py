"""The marketplace dialect, version 2: money is an object (amount and currency together, no
order-level currency code), order items are ``lines`` with a ``quantity``, and the order total is
``total``. Buyer, shipping address and status words are version 1's (``schemas.py``).

The class names carry ``V2`` where version 1 has a class of the same role: both versions are
served by one app, whose OpenAPI document needs one name per schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from experience_apis.marketplace.schemas import (
    Buyer,
    CurrencyCode,
    DecimalAmount,
    DialectModel,
    MarketplaceOrderId,
    MarketplaceOrderStatus,
    SellerSku,
    ShippingAddress,
)


class Money(DialectModel):
    """An amount of money: a decimal string and its ISO 4217 currency."""

    amount: DecimalAmount
    currency: CurrencyCode


class OrderLineCreateV2(DialectModel):
    seller_sku: SellerSku
    quantity: Annotated[int, Field(strict=True, gt=0, le=999_999_999, examples=[2])]
    item_price: Annotated[
        Money,
        Field(
            description="The price the buyer paid on the marketplace, per unit. Kept for reference only: "
            "the seller's price comes from its own price list. Every line of an order is in one currency, "
            "the partner's billing currency."
        ),
    ]


class MarketplaceOrderCreateV2(DialectModel):
    """An order as the marketplace hands it in. The account billed, prices and status are derived
    by the seller, never taken from the request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "marketplace_order_id": "ACME-100234",
                    "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
                    "shipping_address": {
                        "recipient": "Jane Doe",
                        "street": "Damrak 1",
                        "city": "Amsterdam",
                        "zip": "1012 LG",
                        "country_code": "NL",
                    },
                    "lines": [
                        {"seller_sku": "ACME-WB", "quantity": 2, "item_price": {"amount": "19.99", "currency": "EUR"}},
                        {"seller_sku": "ACME-USB", "quantity": 1, "item_price": {"amount": "9.50", "currency": "EUR"}},
                    ],
                }
            ]
        },
    )

    marketplace_order_id: MarketplaceOrderId
    buyer: Buyer
    shipping_address: ShippingAddress
    lines: Annotated[list[OrderLineCreateV2], Field(min_length=1, max_length=200)]


class MarketplaceOrderAcceptedV2(DialectModel):
    """The intake answer (202): the order is recorded; follow it at ``status_url``."""

    marketplace_order_id: MarketplaceOrderId
    order_reference: Annotated[str, Field(description="The seller's reference for this order.")]
    order_status: MarketplaceOrderStatus
    status_url: Annotated[str, Field(examples=["/marketplace/v2/orders/ACME-100234"])]


class OrderLineReadV2(DialectModel):
    seller_sku: SellerSku
    quantity: int
    unit_price: Annotated[Money | None, Field(description="The seller's unit price, once priced.")] = None


class MarketplaceOrderReadV2(DialectModel):
    marketplace_order_id: MarketplaceOrderId
    order_reference: str
    order_status: MarketplaceOrderStatus
    status_reason: str | None = None
    status_reason_code: Annotated[
        str | None,
        Field(
            description="Why the order is where it is, as a stable code: `rejected`, `cancelled`, "
            "`held_for_review`, or `held_for_retry` (a system behind the seller failed; it is retried or "
            "resumed, nothing is needed from the channel). Null for any other status."
        ),
    ] = None
    seller_order_number: Annotated[str | None, Field(description="The seller's ERP order number, once accepted.")] = (
        None
    )
    total: Annotated[Money | None, Field(description="The seller's order total, once priced.")] = None
    lines: list[OrderLineReadV2]
