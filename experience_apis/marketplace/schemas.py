"""The marketplace dialect: the field names and status words marketplace partners speak.

Canonical objects never appear on this API; ``mapping.py`` translates in both directions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Line, one_line

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])]
DecimalAmount = Annotated[
    str,
    Field(pattern=r"^\d{1,12}(\.\d{1,4})?$", description="Decimal amount as a string", examples=["19.99"]),
]
MarketplaceOrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
        description="The marketplace's own order id; unique per partner.",
        examples=["ACME-100234"],
    ),
]
SellerSku = Annotated[
    Line,
    Field(min_length=1, max_length=64, description="The partner's SKU for a listed product.", examples=["ACME-WB"]),
]


class DialectModel(BaseModel):
    """Marketplace bodies reject unknown fields: a typo is an error, not silently dropped data."""

    model_config = ConfigDict(extra="forbid")


class MarketplaceOrderStatus(StrEnum):
    PENDING = "PENDING"  # received; validation passed, not yet accepted
    ACCEPTED = "ACCEPTED"  # priced, stock reserved, seller order created (also while being picked)
    REJECTED = "REJECTED"  # refused by a business rule (see status_reason)
    ON_HOLD = "ON_HOLD"  # parked for review or for a retry
    SHIPPED = "SHIPPED"  # left the warehouse (also once invoiced)
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Buyer(DialectModel):
    name: Annotated[Line, Field(min_length=1, max_length=200, examples=["Jane Doe"])]
    email: Annotated[
        Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"), one_line] | None,
        Field(examples=["jane@example.com"]),
    ] = None


class ShippingAddress(DialectModel):
    recipient: Annotated[Line, Field(min_length=1, max_length=200, examples=["Jane Doe"])]
    street: Annotated[Line, Field(min_length=1, max_length=200, examples=["Damrak 1"])]
    city: Annotated[Line, Field(min_length=1, max_length=100, examples=["Amsterdam"])]
    zip: Annotated[Line, Field(min_length=1, max_length=20, examples=["1012 LG"])]
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["NL"])]


class OrderItemCreate(DialectModel):
    seller_sku: SellerSku
    quantity_ordered: Annotated[int, Field(strict=True, gt=0, le=999_999_999, examples=[2])]
    item_price: Annotated[
        DecimalAmount,
        Field(
            description="The price the buyer paid on the marketplace, per unit. Kept for reference only: "
            "the seller's price comes from its own price list."
        ),
    ]


class MarketplaceOrderCreate(DialectModel):
    """An order as the marketplace hands it in. The account billed, prices and status are derived
    by the seller, never taken from the request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "marketplace_order_id": "ACME-100234",
                    "currency_code": "EUR",
                    "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
                    "shipping_address": {
                        "recipient": "Jane Doe",
                        "street": "Damrak 1",
                        "city": "Amsterdam",
                        "zip": "1012 LG",
                        "country_code": "NL",
                    },
                    "order_items": [
                        {"seller_sku": "ACME-WB", "quantity_ordered": 2, "item_price": "19.99"},
                        {"seller_sku": "ACME-USB", "quantity_ordered": 1, "item_price": "9.50"},
                    ],
                }
            ]
        },
    )

    marketplace_order_id: MarketplaceOrderId
    currency_code: CurrencyCode
    buyer: Buyer
    shipping_address: ShippingAddress
    order_items: Annotated[list[OrderItemCreate], Field(min_length=1, max_length=200)]


class MarketplaceOrderAccepted(DialectModel):
    """The intake answer (202): the order is recorded; follow it at ``status_url``."""

    marketplace_order_id: MarketplaceOrderId
    order_reference: Annotated[str, Field(description="The seller's reference for this order.")]
    order_status: MarketplaceOrderStatus
    status_url: Annotated[str, Field(examples=["/marketplace/v1/orders/ACME-100234"])]


class OrderTotal(DialectModel):
    amount: DecimalAmount
    currency_code: CurrencyCode


class OrderItemRead(DialectModel):
    seller_sku: SellerSku
    quantity_ordered: int
    unit_price: Annotated[DecimalAmount | None, Field(description="The seller's unit price, once priced.")] = None


class MarketplaceOrderRead(DialectModel):
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
    order_total: OrderTotal | None = None
    order_items: list[OrderItemRead]
