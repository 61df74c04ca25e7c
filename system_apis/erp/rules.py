"""What the ERP accepts on a quote or a sales order, as problem ``errors`` entries (a JSON pointer
into the request and what to change). Pure functions: the service looks the facts up first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from contracts import Customer, CustomerStatus, Money, Product, ProductStatus, Quantity, SalesOrderLineCreate

Error = dict[str, Any]
#: Units the ERP counts in whole pieces.
_COUNTED_UNITS = {"EA", "CS", "PK"}
_CENT = Decimal("0.01")


class RequestedLine(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> Quantity: ...


def _error(pointer: str, detail: str) -> Error:
    return {"pointer": pointer, "detail": detail}


def customer_errors(customer: Customer | None, *, customer_id: str, currency: str, must_be_active: bool) -> list[Error]:
    if customer is None:
        return [_error("#/customer_id", f"No customer {customer_id!r} in the ERP.")]
    errors = []
    if must_be_active and customer.status is not CustomerStatus.active:
        errors.append(_error("#/customer_id", f"Customer {customer_id!r} is blocked in the ERP."))
    if currency != customer.currency:
        errors.append(_error("#/currency", f"Customer {customer_id!r} buys in {customer.currency}, not {currency}."))
    return errors


def line_errors(
    lines: Sequence[RequestedLine], products: Mapping[str, Product], *, must_be_active: bool
) -> list[Error]:
    errors = []
    for index, line in enumerate(lines):
        at = f"#/lines/{index}"
        product = products.get(line.sku)
        if product is None:
            errors.append(_error(f"{at}/sku", f"No item with SKU {line.sku!r} in the ERP."))
            continue
        if must_be_active and product.status is not ProductStatus.active:
            errors.append(_error(f"{at}/sku", f"{line.sku} is {product.status.value} and can no longer be sold."))
        quantity = line.quantity
        if quantity.unit != product.unit:
            errors.append(_error(f"{at}/quantity/unit", f"{line.sku} is sold in {product.unit}, not {quantity.unit}."))
        elif quantity.amount <= 0:
            errors.append(_error(f"{at}/quantity/value", "The quantity must be greater than zero."))
        elif quantity.unit in _COUNTED_UNITS and quantity.amount != quantity.amount.to_integral_value():
            errors.append(_error(f"{at}/quantity/value", f"{line.sku} is sold in whole {quantity.unit}."))
    return errors


def price_errors(lines: Sequence[SalesOrderLineCreate], *, currency: str) -> list[Error]:
    errors = []
    for index, line in enumerate(lines):
        price: Money = line.unit_price
        if price.currency != currency:
            errors.append(_error(f"#/lines/{index}/unit_price/currency", f"The order is in {currency}."))
        if price.value < 0 or price.value != price.value.quantize(_CENT):
            errors.append(
                _error(f"#/lines/{index}/unit_price/amount", "The ERP books prices of zero or more, in cents.")
            )
    return errors


def summary(errors: Sequence[Error]) -> str:
    return "Fix these fields and send the request again: " + ", ".join(e["pointer"] for e in errors[:5]) + "."
