"""Receipts, adjustments and cycle counts in business terms: whole units of a unit the WMS
stocks, once per reference (the same reference and lines again answer what was booked)."""

from __future__ import annotations

from contracts import Quantity
from contracts.events import MovementKind
from service_kit.errors import BusinessRuleViolation
from system_apis.wms.backend import MovementLine, WmsBackend, WmsStore
from system_apis.wms.schemas import (
    AdjustmentCreate,
    CycleCountCreate,
    ReceiptCreate,
    StockMovementRead,
    StockSnapshot,
)
from system_apis.wms.service import StoreFor
from system_apis.wms.units import UnitRunner

_UNITS = {"EA"}


def _whole_units(*, sku: str, quantity: Quantity) -> int:
    if quantity.unit not in _UNITS:
        raise BusinessRuleViolation(f"The WMS does not stock {sku} in {quantity.unit}.")
    if quantity.amount != quantity.amount.to_integral_value():
        raise BusinessRuleViolation(f"The WMS counts {sku} in whole units, not {quantity.value}.")
    return int(quantity.amount)


async def receive_goods(
    *, units: UnitRunner, store: StoreFor, receipt: ReceiptCreate
) -> tuple[list[StockMovementRead], bool]:
    """``(movements, True)`` when booked now, ``(movements booked before, False)`` on a resend;
    one unit of work (``system_apis.wms.units``)."""
    totals: dict[str, int] = {}
    for line in receipt.lines:
        totals[line.sku] = totals.get(line.sku, 0) + _whole_units(sku=line.sku, quantity=line.quantity)
    lines = [(sku, receipt.warehouse, qty) for sku, qty in totals.items()]
    return await units.run(lambda unit: _receive(store=store(unit), receipt=receipt, lines=lines))


def _receive(
    *, store: WmsStore, receipt: ReceiptCreate, lines: list[MovementLine]
) -> tuple[list[StockMovementRead], bool]:
    booked = store.previous_movements(kind=MovementKind.receipt, reference=receipt.reference, lines=lines)
    if booked is not None:
        return booked, False
    return store.receive(reference=receipt.reference, warehouse=receipt.warehouse, lines=lines), True


async def adjust_stock(*, backend: WmsBackend, adjustment: AdjustmentCreate) -> tuple[StockMovementRead, bool]:
    if adjustment.unit not in _UNITS:
        raise BusinessRuleViolation(f"The WMS does not stock {adjustment.sku} in {adjustment.unit}.")
    delta = int(adjustment.quantity_delta)
    lines = [(adjustment.sku, adjustment.warehouse, delta)]
    booked = await backend.previous_movements(kind=MovementKind.adjustment, reference=adjustment.reference, lines=lines)
    if booked is not None:
        return booked[0], False
    movement = await backend.adjust(
        reference=adjustment.reference,
        warehouse=adjustment.warehouse,
        sku=adjustment.sku,
        delta=delta,
        reason=adjustment.reason,
    )
    return movement, True


async def record_count(*, backend: WmsBackend, count: CycleCountCreate) -> tuple[StockMovementRead, bool]:
    counted = _whole_units(sku=count.sku, quantity=count.counted)
    booked = await backend.previous_movements(kind=MovementKind.cycle_count, reference=count.reference, lines=[])
    if booked is not None:
        return booked[0], False
    movement = await backend.count(
        reference=count.reference,
        warehouse=count.warehouse,
        sku=count.sku,
        counted=counted,
        expected_version=count.expected_version,
    )
    return movement, True


async def stock_snapshot(*, backend: WmsBackend, after: str | None, limit: int) -> StockSnapshot:
    items, next_after = await backend.stock_snapshot(after=after, limit=limit)
    return StockSnapshot(items=items, next_after=next_after)


__all__ = ["adjust_stock", "receive_goods", "record_count", "stock_snapshot"]
