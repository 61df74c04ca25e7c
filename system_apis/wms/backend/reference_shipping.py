"""The reference WMS's shipments and return receipts, as synchronous Core over the connection of
one unit of work (``system_apis.wms.units``), like its reservations and receipts.

A shipment takes its goods from the order's live allocations in that warehouse (the allocation
of the order, or of each part of a split order, ``<order id>.<n>``): on hand and allocated go down
together in one conditional UPDATE per SKU, the allocation counts as picked (too late to release),
and each SKU's change is journaled and announced as a ``stock.moved`` (movement ``shipment``). A
return receipt puts its sellable goods back on hand as a receipt does (movement ``receipt``, the
return id as its reference) and records the damaged ones only. Both announce themselves through
the outbox when asked (``warehouse.shipped`` / ``warehouse.return_received``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from contracts import Quantity
from contracts.events import MovementKind, WarehouseShippedV1
from contracts.events.fulfillment import FulfillmentLine
from service_kit.errors import Conflict
from service_kit.events import new_event
from system_apis.wms.backend import statements as sql
from system_apis.wms.backend.reference_returns import ReferenceReturnReceipts
from system_apis.wms.backend.reference_store import ReferenceStore, utc
from system_apis.wms.models import (
    ALLOCATED,
    DEALLOCATED,
    PICK_RELEASED,
    PICKED,
    WmsShipment,
    WmsShipmentLine,
)
from system_apis.wms.movements import SOURCE, Movement, stage_on_unit, write_movements
from system_apis.wms.shipping_schemas import (
    ShippedLine,
    WarehouseShipment,
    WarehouseShipmentCreate,
)
from system_apis.wms.units import Unit

shipments = cast(Table, WmsShipment.__table__)
shipment_lines = cast(Table, WmsShipmentLine.__table__)

#: Stock leaves the building: on hand and allocated down together, never below what is allocated.
_SHIP = (
    update(sql.stock)
    .where(
        sql.stock.c.whse_id == bindparam("w"),
        sql.stock.c.article == bindparam("a"),
        sql.stock.c.qty_allocated >= bindparam("q"),
    )
    .values(
        qty_on_hand=sql.stock.c.qty_on_hand - bindparam("q"),
        qty_allocated=sql.stock.c.qty_allocated - bindparam("q"),
        last_movement_at=bindparam("at"),
        movement_seq=sql.stock.c.movement_seq + 1,
    )
    .returning(sql.stock.c.qty_on_hand, sql.stock.c.qty_allocated, sql.stock.c.movement_seq)
)


def _of_order(column: Any, reference: str) -> Any:
    """The order itself, or a part of it (``<order id>.<n>``, as the orders saga names a split's parts)."""
    return or_(column == reference, column.startswith(f"{reference}.", autoescape=True))


class ReferenceShippingStore(ReferenceReturnReceipts):
    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.conn = unit.conn
        self.stock = ReferenceStore(unit)

    # Shipments --------------------------------------------------------------------------------

    def _shipments(self, condition: Any) -> list[WarehouseShipment]:
        heads = self.conn.execute(
            select(shipments, sql.warehouses.c.site_code)
            .join(sql.warehouses, sql.warehouses.c.whse_id == shipments.c.whse_id)
            .where(condition)
            .order_by(shipments.c.ship_no)
        ).all()
        if not heads:
            return []
        lines: dict[int, list[ShippedLine]] = defaultdict(list)
        for row in self.conn.execute(
            select(shipment_lines)
            .where(shipment_lines.c.ship_no.in_([head.ship_no for head in heads]))
            .order_by(shipment_lines.c.ship_no, shipment_lines.c.line_no)
        ):
            lines[row.ship_no].append(ShippedLine(sku=row.article, quantity=Quantity.of(row.qty, "EA")))
        return [
            WarehouseShipment(
                shipment_id=head.shipment_ref,
                reference=head.order_ref,
                warehouse=head.site_code,
                carrier=head.carrier,
                tracking_number=head.tracking_no,
                shipped_at=utc(head.shipped_at),
                lines=_merged(lines[head.ship_no]),
                created_at=utc(head.created_at),
            )
            for head in heads
        ]

    def find_shipment(self, shipment_id: str) -> WarehouseShipment | None:
        found = self._shipments(shipments.c.shipment_ref == shipment_id)
        return found[0] if found else None

    def find_shipments(self, reference: str) -> list[WarehouseShipment]:
        return self._shipments(shipments.c.order_ref == reference)

    def _open_allocations(self, *, reference: str, whse_id: str) -> list[tuple[int, str, int]]:
        """(allocation, SKU, allocated and not shipped yet) of the order's live allocations there."""
        allocated = self.conn.execute(
            select(sql.allocations.c.alloc_no, sql.allocation_lines.c.article, func.sum(sql.allocation_lines.c.qty))
            .join(sql.allocation_lines, sql.allocation_lines.c.alloc_no == sql.allocations.c.alloc_no)
            .where(
                _of_order(sql.allocations.c.order_ref, reference),
                sql.allocations.c.whse_id == whse_id,
                sql.allocations.c.alloc_status != DEALLOCATED,
            )
            .group_by(sql.allocations.c.alloc_no, sql.allocation_lines.c.article)
            .order_by(sql.allocations.c.alloc_no, sql.allocation_lines.c.article)
        ).all()
        if not allocated:
            return []
        shipped = {
            (alloc_no, article): int(qty)
            for alloc_no, article, qty in self.conn.execute(
                select(shipment_lines.c.alloc_no, shipment_lines.c.article, func.sum(shipment_lines.c.qty))
                .where(shipment_lines.c.alloc_no.in_({row[0] for row in allocated}))
                .group_by(shipment_lines.c.alloc_no, shipment_lines.c.article)
            )
        }
        return [(no, article, int(qty) - shipped.get((no, article), 0)) for no, article, qty in allocated]

    def open_to_ship(self, *, reference: str, warehouse: str) -> dict[str, int] | None:
        """SKU -> reserved there for the order and not shipped yet; None: the order has no
        reservation in that warehouse."""
        found = self._open_allocations(reference=reference, whse_id=self.whse_id(warehouse))
        if not found:
            return None
        totals: dict[str, int] = defaultdict(int)
        for _, article, qty in found:
            totals[article] += qty
        return dict(totals)

    def ship(
        self, *, request: WarehouseShipmentCreate, lines: dict[str, int], correlation_id: str | None = None
    ) -> WarehouseShipment:
        """Book it (the service checked ``lines`` against ``open_to_ship``)."""
        whse_id = self.whse_id(request.warehouse)
        now = datetime.now(UTC)
        shipped_at = request.shipped_at or now
        try:
            ship_no = self.conn.execute(
                insert(shipments).returning(shipments.c.ship_no),
                {
                    "shipment_ref": request.shipment_id,
                    "order_ref": request.reference,
                    "whse_id": whse_id,
                    "carrier": request.carrier,
                    "tracking_no": request.tracking_number,
                    "shipped_at": shipped_at,
                    "created_at": now,
                },
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(f"Shipment {request.shipment_id!r} is being booked by another request.") from exc
        rows, taken_from = [], set()
        open_by_sku: dict[str, list[list[int]]] = defaultdict(list)
        for alloc_no, article, qty in self._open_allocations(reference=request.reference, whse_id=whse_id):
            open_by_sku[article].append([alloc_no, qty])
        for article, wanted in lines.items():
            for position in open_by_sku[article]:
                take = min(wanted, position[1])
                if take > 0:
                    rows.append({"alloc_no": position[0], "article": article, "qty": take})
                    position[1] -= take
                    wanted -= take
                    taken_from.add(position[0])
            if wanted:
                raise Conflict(f"{article}: the reservation changed meanwhile; send the shipment again.")
        self.conn.execute(
            insert(shipment_lines),
            [{"ship_no": ship_no, "line_no": n, "uom": "EACH", **row} for n, row in enumerate(rows, 1)],
        )
        # Goods that left were picked: too late to release the allocation or cancel its picking.
        self.conn.execute(
            update(sql.allocations)
            .where(
                sql.allocations.c.alloc_no.in_(taken_from),
                sql.allocations.c.alloc_status.in_((ALLOCATED, PICK_RELEASED)),
            )
            .values(alloc_status=PICKED)
        )
        moved = []
        for article, qty in lines.items():
            balance = self.conn.execute(_SHIP, {"w": whse_id, "a": article, "q": qty, "at": now}).one_or_none()
            if balance is None:
                raise Conflict(f"{article}: the stock changed meanwhile; send the shipment again.")
            on_hand, allocated, seq = balance
            moved.append(
                Movement(
                    article,
                    request.warehouse,
                    MovementKind.shipment,
                    -qty,
                    on_hand,
                    allocated,
                    seq,
                    now,
                    request.reference,
                )
            )
        write_movements(unit=self.unit, whse_id=whse_id, movements=moved)
        if request.publish_event:
            data = WarehouseShippedV1(
                shipment_id=request.shipment_id,
                reference=request.reference,
                warehouse=request.warehouse,
                carrier=request.carrier,
                tracking_number=request.tracking_number,
                lines=[FulfillmentLine(sku=sku, quantity=str(qty)) for sku, qty in lines.items()],
                shipped_at=shipped_at,
            )
            stage_on_unit(
                unit=self.unit,
                event=new_event(
                    data=data,
                    source=SOURCE,
                    subject=f"shipment/{request.shipment_id}",
                    time=shipped_at,
                    correlation_id=correlation_id,
                ),
            )
        found = self.find_shipment(request.shipment_id)
        assert found is not None  # written above
        return found


def _merged(lines: Sequence[ShippedLine]) -> list[ShippedLine]:
    """One line per SKU (a shipment taken from two allocations has two rows of one SKU)."""
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.sku] += int(line.quantity.amount)
    return [ShippedLine(sku=sku, quantity=Quantity.of(qty)) for sku, qty in totals.items()]


__all__ = ["ReferenceShippingStore"]
