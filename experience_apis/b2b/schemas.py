"""The B2B dialect (version 1): purchase orders by the reseller's PO number, prices and credit in
the account's currency. The reseller is the token's partner, never a field; prices, totals and
status are the server's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from contracts import Address, CustomerStatus, Money, OrderLine, OrderStatus, ProductStatus
from contracts.common import CanonicalModel, Line, PositiveQuantity, Sku


class CatalogItem(CanonicalModel):
    sku: Sku
    unit: str
    unit_price: Annotated[Money, Field(description="Your net price per unit (your account's price list).")]
    status: Annotated[ProductStatus, Field(description="`discontinued`: it can no longer be ordered.")]


class Catalog(CanonicalModel):
    price_list: Annotated[str, Field(description="Your account's price list in the ERP.")]
    currency: str
    items: list[CatalogItem]


class PurchaseOrderLineCreate(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


class PurchaseOrderCreate(CanonicalModel):
    po_number: Annotated[
        Line, Field(min_length=1, max_length=64, description="Your purchase order number: one order per number.")
    ]
    lines: Annotated[list[PurchaseOrderLineCreate], Field(min_length=1, max_length=200)]
    ship_to: Address | None = None
    split_shipments_allowed: Annotated[
        bool, Field(description="Whether it may ship from more than one warehouse (default: it may not).")
    ] = False
    quote_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=40,
            description="A quote of yours to hold to: refused if it expired, a line is not on it or its price moved.",
        ),
    ] = None


class PurchaseOrderAccepted(CanonicalModel):
    order_id: str
    po_number: str
    status: OrderStatus
    status_url: Annotated[str, Field(description="Where to follow the order (also in `Location`).")]


class PurchaseOrder(CanonicalModel):
    order_id: str
    po_number: str
    status: OrderStatus
    status_reason: str | None = None
    status_reason_code: str | None = None
    currency: str
    lines: list[OrderLine]
    total: Annotated[Money | None, Field(description="Your net total, once priced.")] = None
    erp_order_number: Annotated[str | None, Field(description="The ERP sales order, once booked.")] = None
    ship_to: Address | None = None
    created_at: datetime
    updated_at: datetime


class PurchaseOrderList(CanonicalModel):
    """Your purchase orders, oldest first."""

    items: list[PurchaseOrder]


class Account(CanonicalModel):
    customer_id: Annotated[str, Field(description="Your account in the ERP.")]
    name: str
    status: CustomerStatus
    currency: str
    price_list: str
    credit_limit: Annotated[Money | None, Field(description="Null: no credit limit.")] = None
    open_orders: Annotated[Money, Field(description="What your booked, not yet invoiced orders hold of your credit.")]
    credit_headroom: Annotated[
        Money | None, Field(description="Credit left for new orders (limit less open orders); null: no limit.")
    ] = None
