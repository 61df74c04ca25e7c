"""The reference WMS: persists in the service's database and maps its native shape (WH01/WH02,
EACH, allocations) to canonical objects. Stock is taken with one conditional UPDATE per SKU, so
the availability check and the increment cannot be split by a concurrent request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import (
    InventoryPosition,
    Quantity,
    Reservation,
    ReservationLine,
    ReservationLineCreate,
    ReservationStatus,
)
from contracts.events import MovementKind
from service_kit.errors import BusinessRuleViolation, Conflict
from system_apis.wms.backend import StockShortage
from system_apis.wms.backend.reference_stock import ReferenceStockChanges
from system_apis.wms.models import (
    ALLOCATED,
    DEALLOCATED,
    PICK_RELEASED,
    PICKED,
    WmsAllocation,
    WmsAllocationLine,
    WmsStock,
    WmsWarehouse,
)
from system_apis.wms.movements import record_movement
from system_apis.wms.schemas import Warehouse

_UNIT_TO_CANONICAL = {"EACH": "EA"}
_UNIT_TO_NATIVE = {canonical: native for native, canonical in _UNIT_TO_CANONICAL.items()}
_STATUS_TO_CANONICAL = {
    ALLOCATED: ReservationStatus.active,
    DEALLOCATED: ReservationStatus.released,
    PICK_RELEASED: ReservationStatus.picking,
    PICKED: ReservationStatus.picked,
}
_OPEN = (ALLOCATED, PICK_RELEASED, PICKED)
_ID = re.compile(r"^RSV-(\d{6,})$")


def reservation_id(alloc_no: int) -> str:
    return f"RSV-{alloc_no:06d}"


def allocation_no(reservation_id: str) -> int | None:
    match = _ID.match(reservation_id)
    return int(match.group(1)) if match else None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_position(stock: WmsStock, site: str) -> InventoryPosition:
    unit = _UNIT_TO_CANONICAL[stock.uom]
    return InventoryPosition(
        sku=stock.article,
        warehouse=site,
        on_hand=Quantity.of(stock.qty_on_hand, unit),
        reserved=Quantity.of(stock.qty_allocated, unit),
        available=Quantity.of(stock.qty_on_hand - stock.qty_allocated, unit),
        updated_at=_utc(stock.last_movement_at),
    )


def to_reservation(allocation: WmsAllocation, site: str) -> Reservation:
    return Reservation(
        id=reservation_id(allocation.alloc_no),
        reference=allocation.order_ref,
        status=_STATUS_TO_CANONICAL[allocation.alloc_status],
        warehouse=site,
        lines=[
            ReservationLine(
                sku=line.article, quantity=Quantity.of(line.qty, _UNIT_TO_CANONICAL[line.uom]), warehouse=site
            )
            for line in allocation.lines
        ],
        created_at=_utc(allocation.created_at),
    )


def _rows_changed(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _per_article(lines: Sequence[WmsAllocationLine]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.article] = totals.get(line.article, 0) + line.qty
    return totals


class ReferenceWmsBackend(ReferenceStockChanges):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _sites(self) -> dict[str, str]:
        """Native warehouse id -> canonical site code."""
        rows = await self.session.execute(select(WmsWarehouse.whse_id, WmsWarehouse.site_code))
        return dict(rows.all())

    async def _allocation(self, reservation_id: str) -> WmsAllocation | None:
        alloc_no = allocation_no(reservation_id)
        return None if alloc_no is None else await self.session.get(WmsAllocation, alloc_no)

    async def _canonical(self, allocations: Sequence[WmsAllocation]) -> list[Reservation]:
        sites = await self._sites()
        return [to_reservation(allocation, sites[allocation.whse_id]) for allocation in allocations]

    async def list_warehouses(self) -> list[Warehouse]:
        rows = (await self.session.execute(select(WmsWarehouse).order_by(WmsWarehouse.site_code))).scalars()
        return [Warehouse(code=row.site_code, name=row.whse_name) for row in rows]

    async def stock_positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        stmt = (
            select(WmsStock, WmsWarehouse.site_code)
            .join(WmsWarehouse, WmsWarehouse.whse_id == WmsStock.whse_id)
            .where(WmsStock.article.in_(set(skus)))
            .order_by(WmsStock.article, WmsWarehouse.site_code)
        )
        return [to_position(stock, site) for stock, site in (await self.session.execute(stmt)).all()]

    async def reserve(self, *, reference: str, warehouse: str, lines: Sequence[ReservationLineCreate]) -> Reservation:
        stmt = select(WmsWarehouse.whse_id).where(WmsWarehouse.site_code == warehouse)
        whse_id = (await self.session.execute(stmt)).scalar_one()
        now = datetime.now(UTC)
        native = [
            WmsAllocationLine(line_no=n, article=line.sku, qty=int(line.quantity.amount), uom=self._native_unit(line))
            for n, line in enumerate(lines, start=1)
        ]
        short = []
        for article, qty in _per_article(native).items():
            if not await self._take(whse_id=whse_id, article=article, qty=qty, now=now):
                short.append(article)
        if short:
            raise StockShortage(await self._available(whse_id=whse_id, articles=short))
        for article, qty in _per_article(native).items():
            await record_movement(
                session=self.session,
                whse_id=whse_id,
                article=article,
                kind=MovementKind.reservation,
                delta=qty,
                at=now,
                reference=reference,
            )
        allocation = WmsAllocation(
            order_ref=reference, whse_id=whse_id, alloc_status=ALLOCATED, created_at=now, lines=native
        )
        self.session.add(allocation)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"A reservation for reference {reference!r} is being made by another request; "
                "send this one again to get it."
            ) from exc
        return to_reservation(allocation, warehouse)

    @staticmethod
    def _native_unit(line: ReservationLineCreate) -> str:
        unit = _UNIT_TO_NATIVE.get(line.quantity.unit)
        if unit is None:
            raise BusinessRuleViolation(f"The WMS does not reserve {line.sku} in {line.quantity.unit}.")
        return unit

    async def _take(self, *, whse_id: str, article: str, qty: int, now: datetime) -> bool:
        """Check and allocate in one statement: no other request can take the stock in between."""
        stmt = (
            update(WmsStock)
            .where(
                WmsStock.whse_id == whse_id,
                WmsStock.article == article,
                WmsStock.qty_on_hand - WmsStock.qty_allocated >= qty,
            )
            .values(qty_allocated=WmsStock.qty_allocated + qty, last_movement_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return _rows_changed(result) == 1

    async def _available(self, *, whse_id: str, articles: Sequence[str]) -> dict[str, Decimal]:
        stmt = select(WmsStock.article, WmsStock.qty_on_hand - WmsStock.qty_allocated).where(
            WmsStock.whse_id == whse_id, WmsStock.article.in_(articles)
        )
        found = dict((await self.session.execute(stmt)).all())
        return {article: Decimal(found.get(article, 0)) for article in articles}

    async def get_reservation(self, reservation_id: str) -> Reservation | None:
        allocation = await self._allocation(reservation_id)
        return (await self._canonical([allocation]))[0] if allocation else None

    async def find_reservations(self, reference: str) -> list[Reservation]:
        stmt = select(WmsAllocation).where(WmsAllocation.order_ref == reference).order_by(WmsAllocation.alloc_no)
        return await self._canonical(list((await self.session.execute(stmt)).scalars()))

    async def find_active_reservation(self, reference: str) -> Reservation | None:
        stmt = select(WmsAllocation).where(WmsAllocation.order_ref == reference, WmsAllocation.alloc_status.in_(_OPEN))
        allocation = (await self.session.execute(stmt)).scalar_one_or_none()
        return (await self._canonical([allocation]))[0] if allocation else None

    async def release(self, reservation_id: str) -> Reservation | None:
        allocation = await self._allocation(reservation_id)
        if allocation is None:
            return None
        now = datetime.now(UTC)
        # Only the request that flips the status returns the stock, so a release never counts twice.
        flipped = await self.session.execute(
            update(WmsAllocation)
            .where(WmsAllocation.alloc_no == allocation.alloc_no, WmsAllocation.alloc_status == ALLOCATED)
            .values(alloc_status=DEALLOCATED, released_at=now)
            .execution_options(synchronize_session=False)
        )
        if _rows_changed(flipped) == 1:
            for article, qty in _per_article(allocation.lines).items():
                await self.session.execute(
                    update(WmsStock)
                    .where(WmsStock.whse_id == allocation.whse_id, WmsStock.article == article)
                    .values(qty_allocated=WmsStock.qty_allocated - qty, last_movement_at=now)
                    .execution_options(synchronize_session=False)
                )
                await record_movement(
                    session=self.session,
                    whse_id=allocation.whse_id,
                    article=article,
                    kind=MovementKind.release,
                    delta=-qty,
                    at=now,
                    reference=allocation.order_ref,
                )
        await self.session.refresh(allocation, ["alloc_status", "released_at"])
        return (await self._canonical([allocation]))[0]

    async def set_floor_status(self, reservation_id: str, *, before: str, after: str) -> Reservation | None:
        """Moves the allocation from ``before`` to ``after`` in one conditional update (so two
        requests cannot both move it); answers the allocation as it then is."""
        allocation = await self._allocation(reservation_id)
        if allocation is None:
            return None
        await self.session.execute(
            update(WmsAllocation)
            .where(WmsAllocation.alloc_no == allocation.alloc_no, WmsAllocation.alloc_status == before)
            .values(alloc_status=after)
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(allocation, ["alloc_status"])
        return (await self._canonical([allocation]))[0]
