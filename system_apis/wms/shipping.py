"""Shipments and return receipts in business terms: goods leave a warehouse only from the order's
reservation there (never more than it holds, nor shipped twice), returned goods come back only
for what was shipped for the order and not returned yet. Once per shipment id and per return id:
the same request again answers what was booked; other content under the same id is a conflict.

Each operation is one unit of work (``system_apis.wms.units``): its checks and writes run in one
transaction, so a refusal writes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from contracts import Quantity
from service_kit.correlation import current_correlation_id
from service_kit.errors import BusinessRuleViolation, Conflict, NotFound
from system_apis.wms.shipping_schemas import (
    WarehouseReturnReceipt,
    WarehouseReturnReceiptCreate,
    WarehouseShipment,
    WarehouseShipmentCreate,
)
from system_apis.wms.units import Unit, UnitRunner


class ShippingStore(Protocol):
    """Shipments and return receipts, synchronous over one unit of work's connection."""

    def find_shipment(self, shipment_id: str) -> WarehouseShipment | None: ...

    def find_shipments(self, reference: str) -> list[WarehouseShipment]: ...

    def open_to_ship(self, *, reference: str, warehouse: str) -> dict[str, int] | None:
        """SKU -> reserved there for the order, not shipped yet; None: no reservation there.
        ``BusinessRuleViolation`` for an unknown warehouse."""
        ...

    def ship(
        self, *, request: WarehouseShipmentCreate, lines: dict[str, int], correlation_id: str | None
    ) -> WarehouseShipment: ...

    def find_return_receipt(self, return_id: str) -> WarehouseReturnReceipt | None: ...

    def find_return_receipts(self, reference: str) -> list[WarehouseReturnReceipt]: ...

    def open_to_return(self, reference: str) -> dict[str, int] | None:
        """SKU -> shipped for the order, not returned yet; None: nothing shipped for it."""
        ...

    def whse_id(self, warehouse: str) -> str: ...

    def receive_return(
        self, *, request: WarehouseReturnReceiptCreate, correlation_id: str | None
    ) -> WarehouseReturnReceipt: ...


ShippingStoreFor = Callable[[Unit], ShippingStore]


class _Line(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> Quantity: ...


def _whole(lines: Sequence[_Line]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    totals: dict[str, int] = defaultdict(int)
    errors = []
    for index, line in enumerate(lines):
        amount = line.quantity.amount
        if line.quantity.unit != "EA" or amount != amount.to_integral_value():
            errors.append({"pointer": f"#/lines/{index}/quantity", "detail": f"{line.sku}: the WMS counts whole EA."})
        else:
            totals[line.sku] += int(amount)
    return dict(totals), errors


def _over(
    lines: Sequence[_Line], totals: dict[str, int], open_qty: dict[str, int], *, what: str
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        available = open_qty.get(line.sku, 0)
        if totals.get(line.sku, 0) > available and line.sku not in {e.get("sku") for e in errors}:
            errors.append(
                {
                    "pointer": f"#/lines/{index}/quantity",
                    "sku": line.sku,
                    "detail": f"{line.sku}: {totals[line.sku]} EA asked, {available} {what}.",
                }
            )
    return errors


def _refuse(errors: list[dict[str, Any]], *, done: str) -> BusinessRuleViolation:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return BusinessRuleViolation(f"Nothing was {done}: {errors[0]['detail']}{more}", errors=errors)


def _same(booked: Sequence[Any], asked: dict[tuple[Any, ...], int], *, conditions: bool = False) -> bool:
    def key(line: Any) -> tuple[Any, ...]:
        return (line.sku, line.condition) if conditions else (line.sku,)

    mine: dict[tuple[Any, ...], int] = defaultdict(int)
    for line in booked:
        mine[key(line)] += int(line.quantity.amount)
    return dict(mine) == asked


async def ship_goods(
    *, units: UnitRunner, store: ShippingStoreFor, request: WarehouseShipmentCreate
) -> tuple[WarehouseShipment, bool]:
    """``(shipment, True)`` when booked now, ``(booked before, False)`` on a resend."""
    # Read here: the unit runs in the database's thread, where the request's context is not.
    correlation_id = current_correlation_id() or None
    return await units.run(lambda unit: _ship(store=store(unit), request=request, correlation_id=correlation_id))


def _ship(
    *, store: ShippingStore, request: WarehouseShipmentCreate, correlation_id: str | None
) -> tuple[WarehouseShipment, bool]:
    lines, errors = _whole(request.lines)
    booked = store.find_shipment(request.shipment_id)
    if booked is not None:
        same = (booked.reference, booked.warehouse) == (request.reference, request.warehouse)
        if not same or errors or not _same(booked.lines, {(sku,): qty for sku, qty in lines.items()}):
            raise Conflict(f"Shipment {request.shipment_id!r} was booked with another order, warehouse or lines.")
        return booked, False
    if errors:
        raise _refuse(errors, done="shipped")
    open_qty = store.open_to_ship(reference=request.reference, warehouse=request.warehouse)
    if open_qty is None:
        raise NotFound(f"Order {request.reference!r} has no reservation in warehouse {request.warehouse}.")
    errors = _over(request.lines, lines, open_qty, what="reserved there and not shipped yet")
    if errors:
        raise _refuse(errors, done="shipped")
    return store.ship(request=request, lines=lines, correlation_id=correlation_id), True


async def receive_return(
    *, units: UnitRunner, store: ShippingStoreFor, request: WarehouseReturnReceiptCreate
) -> tuple[WarehouseReturnReceipt, bool]:
    """``(receipt, True)`` when booked now, ``(booked before, False)`` on a resend."""
    correlation_id = current_correlation_id() or None
    return await units.run(lambda unit: _receive(store=store(unit), request=request, correlation_id=correlation_id))


def _receive(
    *, store: ShippingStore, request: WarehouseReturnReceiptCreate, correlation_id: str | None
) -> tuple[WarehouseReturnReceipt, bool]:
    lines, errors = _whole(request.lines)
    booked = store.find_return_receipt(request.return_id)
    if booked is not None:
        asked: dict[tuple[Any, ...], int] = defaultdict(int)
        for line in request.lines:
            asked[line.sku, line.condition] += int(line.quantity.amount)
        same = (booked.reference, booked.warehouse) == (request.reference, request.warehouse)
        if not same or errors or not _same(booked.lines, dict(asked), conditions=True):
            raise Conflict(f"Return {request.return_id!r} was received with another order, warehouse or lines.")
        return booked, False
    if errors:
        raise _refuse(errors, done="received")
    store.whse_id(request.warehouse)  # an unknown warehouse is refused before anything else
    open_qty = store.open_to_return(request.reference)
    if open_qty is None:
        raise NotFound(f"Nothing was shipped for order {request.reference!r}: there is nothing to return.")
    errors = _over(request.lines, lines, open_qty, what="shipped and not returned yet")
    if errors:
        raise _refuse(errors, done="received")
    return store.receive_return(request=request, correlation_id=correlation_id), True


async def get_shipment(*, units: UnitRunner, store: ShippingStoreFor, shipment_id: str) -> WarehouseShipment:
    found = await units.run(lambda unit: store(unit).find_shipment(shipment_id))
    if found is None:
        raise NotFound(f"No shipment {shipment_id!r} in the WMS.")
    return found


async def find_shipments(*, units: UnitRunner, store: ShippingStoreFor, reference: str) -> list[WarehouseShipment]:
    return await units.run(lambda unit: store(unit).find_shipments(reference))


async def get_return_receipt(*, units: UnitRunner, store: ShippingStoreFor, return_id: str) -> WarehouseReturnReceipt:
    found = await units.run(lambda unit: store(unit).find_return_receipt(return_id))
    if found is None:
        raise NotFound(f"No return receipt {return_id!r} in the WMS.")
    return found


async def find_return_receipts(
    *, units: UnitRunner, store: ShippingStoreFor, reference: str
) -> list[WarehouseReturnReceipt]:
    return await units.run(lambda unit: store(unit).find_return_receipts(reference))
