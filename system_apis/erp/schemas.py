from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from contracts import (
    CanonicalModel,
    Customer,
    CustomerStatus,
    Money,
    PriceQuote,
    Product,
    ProductStatus,
    Quantity,
    SalesOrder,
    SalesOrderCreate,
)
from contracts.common import CurrencyCode, PositiveQuantity, Sku

#: Entries one batch call may carry.
MAX_BATCH = 100


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


class SalesOrderBatchCreate(CanonicalModel):
    """Sales orders to book in one call; each entry is booked once per external reference, on its
    own (a refused entry does not stop the others)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "external_reference": "ord_0001",
                            "customer_id": "C-1001",
                            "currency": "EUR",
                            "lines": [
                                {
                                    "sku": "WIDGET-BLUE",
                                    "quantity": {"value": "2", "unit": "EA"},
                                    "unit_price": {"amount": "19.99", "currency": "EUR"},
                                }
                            ],
                        },
                        {
                            "external_reference": "ord_0002",
                            "customer_id": "C-2001",
                            "currency": "EUR",
                            "lines": [
                                {
                                    "sku": "CABLE-USB-C",
                                    "quantity": {"value": "10", "unit": "EA"},
                                    "unit_price": {"amount": "4.50", "currency": "EUR"},
                                }
                            ],
                        },
                    ]
                }
            ]
        },
    )

    entries: Annotated[list[SalesOrderCreate], Field(min_length=1, max_length=MAX_BATCH)]


class BatchOutcome(StrEnum):
    created = "created"  # booked by this call
    existing = "existing"  # booked before under this external reference, with the same content
    refused = "refused"  # a business rule refused it (see problem); nothing booked
    conflict = "conflict"  # the reference holds another order, or is being booked right now


class EntryProblem(CanonicalModel):
    """Why one entry was not booked, as the single-order operation would say it (RFC 9457 fields)."""

    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = []


class SalesOrderBatchEntry(CanonicalModel):
    external_reference: str
    outcome: BatchOutcome
    sales_order: SalesOrder | None = None
    problem: EntryProblem | None = None


class SalesOrderBatchResult(CanonicalModel):
    """One result per entry, in the order of the entries."""

    results: list[SalesOrderBatchEntry]
