from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from contracts import CanonicalModel, Money, PriceQuote, Product, ProductStatus, Quantity, SalesOrder
from contracts.common import CurrencyCode, Sku


class PriceQuoteLineCreate(CanonicalModel):
    sku: Sku
    quantity: Quantity

    @field_validator("quantity")
    @classmethod
    def _positive(cls, quantity: Quantity) -> Quantity:
        if quantity.amount <= 0:
            raise ValueError("quantity must be greater than zero")
        return quantity


class PriceQuoteCreate(CanonicalModel):
    """What a customer would pay for these lines, with its price list applied."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-2001",
                    "currency": "EUR",
                    "lines": [
                        {"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}},
                        {"sku": "CABLE-USB-C", "quantity": {"value": "10", "unit": "EA"}},
                    ],
                }
            ]
        },
    )

    customer_id: Annotated[str, Field(min_length=1, max_length=64, examples=["C-2001"])]
    currency: CurrencyCode
    lines: Annotated[list[PriceQuoteLineCreate], Field(min_length=1, max_length=200)]


class PriceQuoteResult(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuote]
    total: Money


class ProductList(CanonicalModel):
    items: list[Product]


class SalesOrderList(CanonicalModel):
    items: list[SalesOrder]


class ItemUpdate(CanonicalModel):
    """Change what makes an item sellable: its status and the safety stock kept back from sale.
    Fields left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "discontinued"}, {"safety_stock": {"value": "5", "unit": "EA"}}]},
    )

    status: ProductStatus | None = None
    safety_stock: Quantity | None = None


class ItemStockPolicy(CanonicalModel):
    sku: Sku
    status: ProductStatus
    safety_stock: Quantity
    version: Annotated[int, Field(description="Changes so far: the entityversion of the item's item.changed events")]


class ItemStockPolicyList(CanonicalModel):
    items: list[ItemStockPolicy]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: str | None = None
