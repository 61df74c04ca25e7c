from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts import (
    CanonicalModel,
    CreditMemo,
    Customer,
    CustomerStatus,
    Invoice,
    Money,
    PriceQuote,
    Product,
    ProductStatus,
    Quantity,
    SalesOrder,
)
from contracts.common import CurrencyCode, Line, PositiveQuantity, Sku


class PriceQuoteLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


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
    list_price: Annotated[
        Money | None, Field(description="The new list price; every price list is announced again (pricelist.changed)")
    ] = None


class ItemStockPolicy(CanonicalModel):
    sku: Sku
    status: ProductStatus
    safety_stock: Quantity
    version: Annotated[int, Field(description="Changes so far: the entityversion of the item's item.changed events")]


class ItemStockPolicyList(CanonicalModel):
    items: list[ItemStockPolicy]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: str | None = None


class CustomerUpdate(CanonicalModel):
    """Change a customer's terms; fields left out stay as they are. Announced as
    `com.interchange.customer.changed.v1`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "inactive"}, {"credit_limit": "2500.00"}]}
    )

    status: CustomerStatus | None = None
    credit_limit: Annotated[
        Decimal | None, Field(ge=0, max_digits=15, decimal_places=2, description="In the customer's currency")
    ] = None


class CustomerTerms(CanonicalModel):
    """A customer as the orders process needs it: the customer, its price list, and the version
    of these terms (the `entityversion` of its customer.changed events)."""

    customer: Customer
    price_list: Annotated[str, Field(description="The code of its price list (`LIST`: list prices)")]
    version: int


class CustomerTermsList(CanonicalModel):
    items: list[CustomerTerms]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: str | None = None


class PriceListLine(CanonicalModel):
    sku: Sku
    unit: str
    unit_price: Money
    status: ProductStatus


class PriceList(CanonicalModel):
    """Every item's net unit price on one price list, with the list's version (the
    `entityversion` of its pricelist.changed events)."""

    code: str
    currency: CurrencyCode
    lines: list[PriceListLine]
    version: int


class PriceListList(CanonicalModel):
    items: list[PriceList]


class BillingLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


def _billing_example(key: str, value: str, sku: str, quantity: str) -> dict[str, Any]:
    return {key: value, "order_reference": "ord_0001", "lines": [{"sku": sku, "quantity": {"value": quantity}}]}


class InvoiceCreate(CanonicalModel):
    """Invoice what one shipment delivered of a sales order, at the sales order's prices."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_billing_example("shipment_id", "ASN-1", "WIDGET-BLUE", "1")]}
    )

    shipment_id: Annotated[Line, Field(min_length=1, max_length=129, description="One invoice per shipment")]
    order_reference: Annotated[
        Line, Field(min_length=1, max_length=100, description="The sales order's external reference (the order id)")
    ]
    lines: Annotated[list[BillingLineCreate], Field(min_length=1, max_length=200)]


class CreditMemoCreate(CanonicalModel):
    """Credit what one return sent back, at the prices it was invoiced at."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_billing_example("return_id", "RMA-1", "WIDGET-BLUE", "1")]}
    )

    return_id: Annotated[Line, Field(min_length=1, max_length=129, description="One credit memo per return")]
    order_reference: Annotated[
        Line, Field(min_length=1, max_length=100, description="The sales order's external reference (the order id)")
    ]
    lines: Annotated[list[BillingLineCreate], Field(min_length=1, max_length=200)]


class InvoiceList(CanonicalModel):
    items: list[Invoice]


class CreditMemoList(CanonicalModel):
    items: list[CreditMemo]
