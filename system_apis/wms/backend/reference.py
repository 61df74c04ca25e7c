"""The reference WMS: persists in the service's database and maps its native shape (WH01/WH02,
EACH, allocations) to canonical objects. Stock is taken with one conditional UPDATE per SKU, so
the availability check and the increment cannot be split by a concurrent request. Reservations
run on Core statements built once (``backend.statements``), not ORM objects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
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
from system_apis.wms.backend import statements as sql
from system_apis.wms.backend.reference_stock import ReferenceStockChanges
from system_apis.wms.models import (
    ALLOCATED,
    DEALLOCATED,
    PICK_RELEASED,
    PICKED,
    WmsStock,
    WmsWarehouse,
)
from system_apis.wms.movements import Movement, write_movements
from system_apis.wms.schemas import Warehouse

_UNIT_TO_CANONICAL = {"EACH": "EA"}
_UNIT_TO_NATIVE = {canonical: native for native, canonical in _UNIT_TO_CANONICAL.items()}
_STATUS_TO_CANONICAL = {
    ALLOCATED: ReservationStatus.active,
    DEALLOCATED: ReservationStatus.released,
    PICK_RELEASED: ReservationStatus.picking,
    PICKED: ReservationStatus.picked,
}
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


def _reservations(rows: Sequence[Any]) -> list[Reservation]:
    """Allocation rows (one per line, as ``sql.ALLOCATION_BY_NO`` and its kin answer) as reservations."""
    found: dict[int, Reservation] = {}
    for row in rows:
        reservation = found.get(row.alloc_no)
        if reservation is None:
            reservation = found[row.alloc_no] = Reservation(
                id=reservation_id(row.alloc_no),
                reference=row.order_ref,
                status=_STATUS_TO_CANONICAL[row.alloc_status],
                warehouse=row.site_code,
                lines=[],
                created_at=_utc(row.created_at),
            )
        if row.article is not None:
            unit = _UNIT_TO_CANONICAL[row.uom]
            reservation.lines.append(
                ReservationLine(sku=row.article, quantity=Quantity.of(row.qty, unit), warehouse=row.site_code)
            )
    return list(found.values())


class ReferenceWmsBackend(ReferenceStockChanges):
    """One per request. Reservations run on Core statements built once (``backend.sql``): a
    reservation is four statements and a pick release two, besides the commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._whse_ids: dict[str, str] = {}  # site code -> native id, as read by this request
        self._read: dict[str, tuple[str, Reservation]] = {}  # reservation id -> (native whse id, as read)

    async def _rows(self, stmt: Any, params: dict[str, Any]) -> Sequence[Any]:
        conn = await self.session.connection()
        return (await conn.execute(stmt, params)).all()

    async def _found(self, stmt: Any, params: dict[str, Any]) -> list[Reservation]:
        rows = await self._rows(stmt, params)
        reservations = _reservations(rows)
        whse_ids = {row.alloc_no: row.whse_id for row in rows}
        for reservation in reservations:
            self._read[reservation.id] = (whse_ids[allocation_no(reservation.id) or 0], reservation)
        return reservations

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

    async def reservation_candidates(self, skus: Sequence[str]) -> tuple[list[str], list[InventoryPosition]]:
        rows = await self._rows(sql.CANDIDATES, {"skus": sorted(set(skus))})
        sites: list[str] = []
        positions: list[InventoryPosition] = []
        for row in rows:
            if row.site_code not in self._whse_ids:
                self._whse_ids[row.site_code] = row.whse_id
                sites.append(row.site_code)
            if row.article is not None:
                unit = _UNIT_TO_CANONICAL[row.uom]
                positions.append(
                    InventoryPosition(
                        sku=row.article,
                        warehouse=row.site_code,
                        on_hand=Quantity.of(row.qty_on_hand, unit),
                        reserved=Quantity.of(row.qty_allocated, unit),
                        available=Quantity.of(row.qty_on_hand - row.qty_allocated, unit),
                        updated_at=_utc(row.last_movement_at),
                    )
                )
        return sites, positions

    async def reserve(self, *, reference: str, warehouse: str, lines: Sequence[ReservationLineCreate]) -> Reservation:
        conn = await self.session.connection()
        whse_id = self._whse_ids.get(warehouse) or (await conn.execute(sql.WHSE_ID, {"site": warehouse})).scalar_one()
        now = datetime.now(UTC)
        native = [(n, line.sku, int(line.quantity.amount), self._native_unit(line)) for n, line in enumerate(lines, 1)]
        totals: dict[str, int] = {}
        for _, article, qty, _ in native:
            totals[article] = totals.get(article, 0) + qty
        short, taken = [], []
        for article, qty in totals.items():
            row = (await conn.execute(sql.TAKE, {"w": whse_id, "a": article, "q": qty, "at": now})).one_or_none()
            if row is None:
                short.append(article)
            else:
                on_hand, allocated, seq = row
                taken.append(
                    Movement(article, warehouse, MovementKind.reservation, qty, on_hand, allocated, seq, now, reference)
                )
        if short:
            raise StockShortage(await self._available(whse_id=whse_id, articles=short))
        try:
            alloc_no = (
                await conn.execute(
                    sql.NEW_ALLOCATION,
                    {"order_ref": reference, "whse_id": whse_id, "alloc_status": ALLOCATED, "created_at": now},
                )
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(
                f"A reservation for reference {reference!r} is being made by another request; "
                "send this one again to get it."
            ) from exc
        await conn.execute(
            sql.NEW_ALLOCATION_LINE,
            [{"alloc_no": alloc_no, "line_no": n, "article": a, "qty": q, "uom": u} for n, a, q, u in native],
        )
        await write_movements(session=self.session, whse_id=whse_id, movements=taken)
        return Reservation(
            id=reservation_id(alloc_no),
            reference=reference,
            status=ReservationStatus.active,
            warehouse=warehouse,
            lines=[
                ReservationLine(sku=a, quantity=Quantity.of(q, _UNIT_TO_CANONICAL[u]), warehouse=warehouse)
                for _, a, q, u in native
            ],
            created_at=now,
        )

    @staticmethod
    def _native_unit(line: ReservationLineCreate) -> str:
        unit = _UNIT_TO_NATIVE.get(line.quantity.unit)
        if unit is None:
            raise BusinessRuleViolation(f"The WMS does not reserve {line.sku} in {line.quantity.unit}.")
        return unit

    async def _available(self, *, whse_id: str, articles: Sequence[str]) -> dict[str, Decimal]:
        found: dict[str, int] = {
            article: qty for article, qty in await self._rows(sql.AVAILABLE, {"w": whse_id, "articles": list(articles)})
        }
        return {article: Decimal(found.get(article, 0)) for article in articles}

    async def get_reservation(self, reservation_id: str) -> Reservation | None:
        alloc_no = allocation_no(reservation_id)
        if alloc_no is None:
            return None
        found = await self._found(sql.ALLOCATION_BY_NO, {"no": alloc_no})
        return found[0] if found else None

    async def find_reservations(self, reference: str) -> list[Reservation]:
        return await self._found(sql.ALLOCATIONS_BY_REF, {"ref": reference})

    async def find_active_reservation(self, reference: str) -> Reservation | None:
        found = await self._found(sql.OPEN_ALLOCATION_BY_REF, {"ref": reference})
        return found[0] if found else None

    async def _as_read(self, reservation_id: str) -> tuple[str, Reservation] | None:
        """The reservation as this request read it (reading it when it did not)."""
        if reservation_id not in self._read and await self.get_reservation(reservation_id) is None:
            return None
        return self._read[reservation_id]

    async def release(self, reservation_id: str) -> Reservation | None:
        read = await self._as_read(reservation_id)
        if read is None:
            return None
        whse_id, reservation = read
        conn = await self.session.connection()
        now = datetime.now(UTC)
        # Only the request that flips the status returns the stock, so a release never counts twice.
        flipped = (await conn.execute(sql.DEALLOCATE, {"no": allocation_no(reservation_id), "at": now})).first()
        if flipped is None:  # moved by another request since it was read: answer it as it is now
            self._read.pop(reservation_id, None)
            return await self.get_reservation(reservation_id)
        totals: dict[str, int] = {}
        for line in reservation.lines:
            totals[line.sku] = totals.get(line.sku, 0) + int(line.quantity.amount)
        given: list[Movement] = []
        for article, qty in totals.items():
            on_hand, allocated, seq = (
                await conn.execute(sql.GIVE_BACK, {"w": whse_id, "a": article, "q": qty, "at": now})
            ).one()
            given.append(
                Movement(
                    article,
                    reservation.warehouse,
                    MovementKind.release,
                    -qty,
                    on_hand,
                    allocated,
                    seq,
                    now,
                    reservation.reference,
                )
            )
        await write_movements(session=self.session, whse_id=whse_id, movements=given)
        released = reservation.model_copy(update={"status": ReservationStatus.released})
        self._read[reservation_id] = (whse_id, released)
        return released

    async def set_floor_status(self, reservation_id: str, *, before: str, after: str) -> Reservation | None:
        """Moves the allocation from ``before`` to ``after`` in one conditional update (so two
        requests cannot both move it); answers the allocation as it then is."""
        read = await self._as_read(reservation_id)
        if read is None:
            return None
        whse_id, reservation = read
        conn = await self.session.connection()
        params = {"no": allocation_no(reservation_id), "before": before, "after": after}
        if (await conn.execute(sql.MOVE_ALLOCATION, params)).first() is None:
            self._read.pop(reservation_id, None)
            return await self.get_reservation(reservation_id)
        moved = reservation.model_copy(update={"status": _STATUS_TO_CANONICAL[after]})
        self._read[reservation_id] = (whse_id, moved)
        return moved
