"""Which warehouse ships what: the rule for reserving stock, as a pure function.

1. One warehouse that can ship the whole order: the WMS picks it (the one with most stock of the
   order's SKUs, then by code), so the order ships in one parcel. This is always tried first.
2. Otherwise, only when the order allows split shipments: the warehouse that can cover most of
   the order (in units) ships what it has; the rest comes from the warehouse covering most of
   what is left, and so on. Each shipment is one reservation.
3. Otherwise (or when every warehouse together is short) the order is rejected for insufficient
   stock, naming the short SKUs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from contracts import InventoryPosition


@dataclass(frozen=True)
class Shipment:
    warehouse: str
    #: SKU -> quantity from this warehouse, in the order's line order.
    quantities: dict[str, Decimal]


def demand(lines: Sequence[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Quantity per SKU (lines of the same SKU add up), in first-seen order."""
    wanted: dict[str, Decimal] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, Decimal(0)) + quantity
    return wanted


def plan_split(wanted: Mapping[str, Decimal], positions: Sequence[InventoryPosition]) -> list[Shipment] | None:
    """Shipments covering ``wanted`` from several warehouses (rule 2), or None when the
    warehouses together do not have enough (rule 3)."""
    available: dict[str, dict[str, Decimal]] = {}
    for position in positions:
        if position.sku in wanted and position.available.amount > 0:
            available.setdefault(position.warehouse, {})[position.sku] = position.available.amount
    remaining = {sku: qty for sku, qty in wanted.items() if qty > 0}
    shipments: list[Shipment] = []
    while remaining:
        covers = {w: _coverage(stock, remaining) for w, stock in available.items()}
        candidates = [w for w, units in covers.items() if units > 0]
        if not candidates:
            return None
        best = min(candidates, key=lambda w: (-covers[w], w))
        take = {
            sku: min(available[best].get(sku, Decimal(0)), qty)
            for sku, qty in remaining.items()
            if available[best].get(sku, Decimal(0)) > 0
        }
        shipments.append(Shipment(best, take))
        del available[best]
        remaining = {sku: qty - take.get(sku, Decimal(0)) for sku, qty in remaining.items()}
        remaining = {sku: qty for sku, qty in remaining.items() if qty > 0}
    return shipments


def _coverage(stock: Mapping[str, Decimal], remaining: Mapping[str, Decimal]) -> Decimal:
    return sum((min(stock.get(sku, Decimal(0)), qty) for sku, qty in remaining.items()), Decimal(0))


def short_skus(wanted: Mapping[str, Decimal], positions: Sequence[InventoryPosition]) -> list[str]:
    """SKUs the warehouses together cannot cover."""
    total: dict[str, Decimal] = {}
    for position in positions:
        total[position.sku] = total.get(position.sku, Decimal(0)) + max(position.available.amount, Decimal(0))
    return [sku for sku, qty in wanted.items() if total.get(sku, Decimal(0)) < qty]


__all__ = ["Shipment", "demand", "plan_split", "short_skus"]
