"""The reservation rules, as pure functions over canonical data: what may be reserved, and from
which warehouse (docs/first-flow.md: the warehouse that can ship every line in full; among
several, the one with most available stock of the order's SKUs, then by code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts import InventoryPosition, ReservationLineCreate
from service_kit.errors import BusinessRuleViolation
from system_apis.wms.errors import InsufficientStock

#: The only unit the WMS reserves in (its EACH).
RESERVABLE_UNIT = "EA"


@dataclass(frozen=True)
class WarehouseChoice:
    """The warehouse to reserve in, or the closest one with ``short``: SKU -> available there."""

    warehouse: str | None
    short: dict[str, Decimal] = field(default_factory=dict)


def demand(lines: Sequence[ReservationLineCreate]) -> dict[str, Decimal]:
    """The quantity asked per SKU (lines of the same SKU add up); refuses what the WMS cannot hold."""
    errors: list[dict[str, Any]] = []
    wanted: dict[str, Decimal] = {}
    for index, line in enumerate(lines):
        quantity = line.quantity
        if quantity.unit != RESERVABLE_UNIT:
            errors.append({"pointer": f"#/lines/{index}/quantity/unit", "detail": "The WMS reserves in EA only."})
        elif quantity.amount <= 0 or quantity.amount != quantity.amount.to_integral_value():
            errors.append({"pointer": f"#/lines/{index}/quantity/value", "detail": "Reserve a whole number above 0."})
        else:
            wanted[line.sku] = wanted.get(line.sku, Decimal(0)) + quantity.amount
    if errors:
        pointers = ", ".join(e["pointer"] for e in errors[:5])
        raise BusinessRuleViolation(f"Fix these fields and send the request again: {pointers}.", errors=errors)
    return wanted


def choose_warehouse(
    wanted: Mapping[str, Decimal], positions: Sequence[InventoryPosition], warehouses: Sequence[str]
) -> WarehouseChoice:
    available = {(p.warehouse, p.sku): p.available.amount for p in positions}

    def short_in(warehouse: str) -> dict[str, Decimal]:
        there = {sku: available.get((warehouse, sku), Decimal(0)) for sku in wanted}
        return {sku: qty for sku, qty in there.items() if qty < wanted[sku]}

    def stock_in(warehouse: str) -> Decimal:
        return sum((available.get((warehouse, sku), Decimal(0)) for sku in wanted), Decimal(0))

    if not warehouses:
        return WarehouseChoice(None, dict.fromkeys(wanted, Decimal(0)))
    best = min(warehouses, key=lambda w: (len(short_in(w)), -stock_in(w), w))
    return WarehouseChoice(best, short_in(best))


def insufficient_stock(
    *, reference: str, lines: Sequence[ReservationLineCreate], choice: WarehouseChoice, wanted: Mapping[str, Decimal]
) -> InsufficientStock:
    where = choice.warehouse or "any warehouse"
    first_line = {line.sku: index for index, line in reversed(list(enumerate(lines)))}
    errors = [
        {
            "pointer": f"#/lines/{first_line[sku]}/quantity",
            "sku": sku,
            "detail": f"{sku}: {wanted[sku]} EA requested, {available} available in {where} "
            "(a reservation ships from one warehouse).",
        }
        for sku, available in choice.short.items()
    ]
    return InsufficientStock(
        f"No warehouse can ship reference {reference!r} in full; short: {', '.join(choice.short)}.",
        errors=errors,
    )
