"""Products, customers and stock: what the systems of record know."""

from __future__ import annotations

from enum import StrEnum

from contracts.common import CanonicalModel, CurrencyCode, Money, Quantity, Sku, UnitCode, UtcDateTime


class ProductStatus(StrEnum):
    active = "active"
    discontinued = "discontinued"


class Product(CanonicalModel):
    sku: Sku
    name: str
    unit: UnitCode
    status: ProductStatus
    list_price: Money


class CustomerKind(StrEnum):
    b2c = "b2c"
    b2b = "b2b"


class CustomerStatus(StrEnum):
    active = "active"
    inactive = "inactive"


class Customer(CanonicalModel):
    id: str
    name: str
    kind: CustomerKind
    status: CustomerStatus
    currency: CurrencyCode
    credit_limit: Money | None = None
    email: str | None = None


class InventoryPosition(CanonicalModel):
    sku: Sku
    warehouse: str
    on_hand: Quantity
    reserved: Quantity
    available: Quantity
    updated_at: UtcDateTime | None = None


class PriceQuote(CanonicalModel):
    customer_id: str
    sku: Sku
    quantity: Quantity
    unit_price: Money
    line_total: Money
