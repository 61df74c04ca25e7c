"""The reference WMS's return receipts, as synchronous Core over one unit of work's connection:
sellable goods back on hand as a receipt puts them (movement ``receipt``, the return id as its
reference), damaged goods recorded only; announced as ``warehouse.return_received`` when asked.
Only goods shipped for the order (``wms_shipments``) and not returned yet come back."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from contracts import Quantity, ReturnCondition
from contracts.events import WarehouseReturnReceivedV1
from contracts.events.fulfillment import ReturnedLine as ReturnedEventLine
from service_kit.errors import Conflict
from service_kit.events import new_event
from system_apis.wms.backend import statements as sql
from system_apis.wms.backend.reference_store import UNIT_TO_CANONICAL, ReferenceStore, utc
from system_apis.wms.models import (
    DAMAGED,
    SELLABLE,
    WmsReturnReceipt,
    WmsReturnReceiptLine,
    WmsShipment,
    WmsShipmentLine,
)
from system_apis.wms.movements import SOURCE, stage_on_unit
from system_apis.wms.shipping_schemas import ReturnedLine, WarehouseReturnReceipt, WarehouseReturnReceiptCreate
from system_apis.wms.units import Unit

shipments = cast(Table, WmsShipment.__table__)
shipment_lines = cast(Table, WmsShipmentLine.__table__)
return_receipts = cast(Table, WmsReturnReceipt.__table__)
return_lines = cast(Table, WmsReturnReceiptLine.__table__)
_CONDITION = {ReturnCondition.sellable: SELLABLE, ReturnCondition.damaged: DAMAGED}
_CONDITION_TO_CANONICAL = {native: canonical for canonical, native in _CONDITION.items()}


class ReferenceReturnReceipts:
    unit: Unit
    conn: Any
    stock: ReferenceStore

    def whse_id(self, warehouse: str) -> str:
        """The native id of a site code; ``BusinessRuleViolation`` for an unknown one."""
        return self.stock._whse_id(warehouse)

    def _receipts(self, condition: Any) -> list[WarehouseReturnReceipt]:
        heads = self.conn.execute(
            select(return_receipts, sql.warehouses.c.site_code)
            .join(sql.warehouses, sql.warehouses.c.whse_id == return_receipts.c.whse_id)
            .where(condition)
            .order_by(return_receipts.c.rr_no)
        ).all()
        if not heads:
            return []
        lines: dict[int, list[ReturnedLine]] = defaultdict(list)
        for row in self.conn.execute(
            select(return_lines)
            .where(return_lines.c.rr_no.in_([head.rr_no for head in heads]))
            .order_by(return_lines.c.rr_no, return_lines.c.line_no)
        ):
            lines[row.rr_no].append(
                ReturnedLine(
                    sku=row.article,
                    quantity=Quantity.of(row.qty, UNIT_TO_CANONICAL[row.uom]),
                    condition=_CONDITION_TO_CANONICAL[row.condition],
                )
            )
        return [
            WarehouseReturnReceipt(
                return_id=head.return_ref,
                reference=head.order_ref,
                warehouse=head.site_code,
                received_at=utc(head.received_at),
                lines=lines[head.rr_no],
            )
            for head in heads
        ]

    def find_return_receipt(self, return_id: str) -> WarehouseReturnReceipt | None:
        found = self._receipts(return_receipts.c.return_ref == return_id)
        return found[0] if found else None

    def find_return_receipts(self, reference: str) -> list[WarehouseReturnReceipt]:
        return self._receipts(return_receipts.c.order_ref == reference)

    def open_to_return(self, reference: str) -> dict[str, int] | None:
        """SKU -> shipped for the order and not returned yet; None: nothing was shipped for it."""
        shipped = self.conn.execute(
            select(shipment_lines.c.article, func.sum(shipment_lines.c.qty))
            .join(shipments, shipments.c.ship_no == shipment_lines.c.ship_no)
            .where(shipments.c.order_ref == reference)
            .group_by(shipment_lines.c.article)
        ).all()
        if not shipped:
            return None
        returned = dict(
            self.conn.execute(
                select(return_lines.c.article, func.sum(return_lines.c.qty))
                .join(return_receipts, return_receipts.c.rr_no == return_lines.c.rr_no)
                .where(return_receipts.c.order_ref == reference)
                .group_by(return_lines.c.article)
            ).all()
        )
        return {article: int(qty) - int(returned.get(article, 0)) for article, qty in shipped}

    def receive_return(
        self, *, request: WarehouseReturnReceiptCreate, correlation_id: str | None = None
    ) -> WarehouseReturnReceipt:
        """Book it (the service checked the lines against ``open_to_return``)."""
        whse_id = self.whse_id(request.warehouse)
        received_at = request.received_at or datetime.now(UTC)
        try:
            rr_no = self.conn.execute(
                insert(return_receipts).returning(return_receipts.c.rr_no),
                {
                    "return_ref": request.return_id,
                    "order_ref": request.reference,
                    "whse_id": whse_id,
                    "received_at": received_at,
                },
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(f"Return {request.return_id!r} is being received by another request.") from exc
        self.conn.execute(
            insert(return_lines),
            [
                {
                    "rr_no": rr_no,
                    "line_no": n,
                    "article": line.sku,
                    "qty": int(line.quantity.amount),
                    "uom": "EACH",
                    "condition": _CONDITION[line.condition],
                }
                for n, line in enumerate(request.lines, 1)
            ],
        )
        sellable: dict[str, int] = defaultdict(int)
        for line in request.lines:
            if line.condition is ReturnCondition.sellable:
                sellable[line.sku] += int(line.quantity.amount)
        if sellable:
            self.stock.receive(
                reference=request.return_id,
                warehouse=request.warehouse,
                lines=[(sku, request.warehouse, qty) for sku, qty in sellable.items()],
            )
        if request.publish_event:
            data = WarehouseReturnReceivedV1(
                return_id=request.return_id,
                reference=request.reference,
                warehouse=request.warehouse,
                lines=[
                    ReturnedEventLine(sku=line.sku, quantity=line.quantity.value, condition=line.condition)
                    for line in request.lines
                ],
                received_at=received_at,
            )
            stage_on_unit(
                unit=self.unit,
                event=new_event(
                    data=data,
                    source=SOURCE,
                    subject=f"return/{request.return_id}",
                    time=received_at,
                    correlation_id=correlation_id,
                ),
            )
        found = self.find_return_receipt(request.return_id)
        assert found is not None  # written above
        return found


__all__ = ["ReferenceReturnReceipts"]
