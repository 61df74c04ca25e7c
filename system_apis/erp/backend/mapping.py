"""The reference ERP's native shape mapped to canonical values: units, customer groups, cents,
price lists in basis points, document numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from contracts import Customer, CustomerKind, CustomerStatus, Money, Product, ProductStatus
from system_apis.erp.models import ErpCustomer, ErpItem

_UNIT_TO_CANONICAL = {"PCS": "EA"}
_UNIT_TO_NATIVE = {canonical: native for native, canonical in _UNIT_TO_CANONICAL.items()}
_GROUP_TO_KIND = {"RETAIL": CustomerKind.b2c, "TRADE": CustomerKind.b2b}
_STATUS_TO_CANONICAL = {"O": "open", "X": "cancelled"}
_OPEN, _CANCELLED = "O", "X"
_NUMBER = re.compile(r"^SO-(\d{6,})$")
_LINE_STEP = 10


def money(cents: int, currency: str) -> Money:
    return Money.of(Decimal(cents) / 100, currency)


def cents(amount: Money) -> int:
    return int((amount.value * 100).to_integral_value())


def document_number(doc_no: int) -> str:
    return f"SO-{doc_no:06d}"


def document_no(number: str) -> int | None:
    match = _NUMBER.match(number)
    return int(match.group(1)) if match else None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_product(item: ErpItem) -> Product:
    return Product(
        sku=item.catalog_sku,
        name=item.description,
        unit=_UNIT_TO_CANONICAL[item.base_uom],
        status=ProductStatus.discontinued if item.sales_blocked else ProductStatus.active,
        list_price=money(item.list_price_cents, item.price_currency),
    )


def to_customer(customer: ErpCustomer) -> Customer:
    limit = customer.credit_limit_cents
    return Customer(
        id=customer.customer_no,
        name=customer.name,
        kind=_GROUP_TO_KIND[customer.customer_group],
        status=CustomerStatus.inactive if customer.blocked else CustomerStatus.active,
        currency=customer.currency,
        credit_limit=None if limit is None else money(limit, customer.currency),
    )


def net_cents(list_cents: int, discount_bp: int) -> int:
    """List price less the discount, rounded half up to the cent."""
    return (list_cents * (10_000 - discount_bp) + 5_000) // 10_000


__all__ = [
    "cents",
    "document_no",
    "document_number",
    "money",
    "net_cents",
    "to_customer",
    "to_product",
]
