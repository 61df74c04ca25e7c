"""The reference WMS's stock changes outside reservations: receipts, adjustments, cycle counts,
and the versioned stock snapshot. Each change is one conditional UPDATE (so a concurrent
movement cannot slip between the check and the write) followed by ``record_movement``, which
versions, journals and announces it in the same transaction; a receipt bumps the version in its
UPDATE and announces its lines together (``announce_movement``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Quantity
from contracts.events import MovementKind
from service_kit.errors import BusinessRuleViolation, Conflict
from system_apis.wms.models import WmsStock, WmsStockMovement, WmsWarehouse
from system_apis.wms.movements import Movement, announce_movement, record_movement
from system_apis.wms.schemas import StockMovementRead, VersionedPosition

#: (sku, site code, delta) of one movement line, as a request asks for it.
Line = tuple[str, str, int]

_stock = cast(Table, WmsStock.__table__)
#: One receipt line: the balance and its movement sequence in one statement, built once (Core:
#: a receipt runs it once per line, and building or ORM-compiling it each time cost more than
#: running it).
_RECEIVE_LINE = (
    update(_stock)
    .where(_stock.c.whse_id == bindparam("w"), _stock.c.article == bindparam("a"))
    .values(
        qty_on_hand=_stock.c.qty_on_hand + bindparam("q"),
        last_movement_at=bindparam("at"),
        movement_seq=_stock.c.movement_seq + 1,
    )
    .returning(_stock.c.qty_on_hand, _stock.c.qty_allocated, _stock.c.movement_seq)
)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_movement(row: WmsStockMovement, site: str) -> StockMovementRead:
    return StockMovementRead(
        sku=row.article,
        warehouse=site,
        movement=MovementKind(row.kind),
        quantity_delta=str(row.qty_delta),
        on_hand=Quantity.of(row.on_hand_after),
        reserved=Quantity.of(row.allocated_after),
        version=row.seq,
        occurred_at=_utc(row.occurred_at),
        reference=row.reference,
    )


def _read(movement: Movement) -> StockMovementRead:
    return StockMovementRead(
        sku=movement.sku,
        warehouse=movement.warehouse,
        movement=movement.kind,
        quantity_delta=str(movement.delta),
        on_hand=Quantity.of(movement.on_hand_after),
        reserved=Quantity.of(movement.reserved_after),
        version=movement.version,
        occurred_at=movement.occurred_at,
        reference=movement.reference,
    )


class ReferenceStockChanges:
    session: AsyncSession

    async def _whse_id(self, site: str) -> str:
        found = await self.session.scalar(select(WmsWarehouse.whse_id).where(WmsWarehouse.site_code == site))
        if found is None:
            raise BusinessRuleViolation(f"The WMS has no warehouse {site!r}.")
        return found

    async def _journal(self, kind: MovementKind, reference: str) -> list[StockMovementRead]:
        stmt = (
            select(WmsStockMovement, WmsWarehouse.site_code)
            .join(WmsWarehouse, WmsWarehouse.whse_id == WmsStockMovement.whse_id)
            .where(WmsStockMovement.kind == kind.value, WmsStockMovement.reference == reference)
            .order_by(WmsStockMovement.id)
        )
        return [to_movement(row, site) for row, site in (await self.session.execute(stmt)).all()]

    async def previous_movements(
        self, *, kind: MovementKind, reference: str, lines: Sequence[Line]
    ) -> list[StockMovementRead] | None:
        """The movements already booked under ``reference`` (None when there are none); 409 when
        they are not the ones asked for now."""
        booked = await self._journal(kind, reference)
        if not booked:
            return None
        if sorted((m.sku, m.warehouse, int(m.quantity_delta)) for m in booked) != sorted(lines) and kind != (
            MovementKind.cycle_count
        ):
            raise Conflict(f"The {kind.value} {reference!r} was booked with other lines.")
        return booked

    async def receive(self, *, reference: str, warehouse: str, lines: Sequence[Line]) -> list[StockMovementRead]:
        whse_id = await self._whse_id(warehouse)
        now = datetime.now(UTC)
        # One statement per line (the balance and its movement sequence move together); the new
        # balances, journal rows and events are written by one flush at the end.
        new: list[WmsStock] = []
        booked: list[Movement] = []
        with self.session.no_autoflush:  # else every UPDATE would first flush the lines before it
            conn = await self.session.connection()
            for sku, _, qty in lines:
                bumped = (
                    await conn.execute(_RECEIVE_LINE, {"w": whse_id, "a": sku, "q": qty, "at": now})
                ).one_or_none()
                if bumped is None:  # first receipt of this SKU here
                    new.append(
                        WmsStock(
                            whse_id=whse_id,
                            article=sku,
                            uom="EACH",
                            qty_on_hand=qty,
                            qty_allocated=0,
                            last_movement_at=now,
                            movement_seq=1,
                        )
                    )
                    on_hand, allocated, seq = qty, 0, 1
                else:
                    on_hand, allocated, seq = bumped
                movement = Movement(sku, warehouse, MovementKind.receipt, qty, on_hand, allocated, seq, now, reference)
                announce_movement(session=self.session, whse_id=whse_id, movement=movement)
                booked.append(movement)
        self.session.add_all(new)
        await self._flush(MovementKind.receipt, reference)
        return [_read(m) for m in booked]

    async def adjust(self, *, reference: str, warehouse: str, sku: str, delta: int, reason: str) -> StockMovementRead:
        whse_id = await self._whse_id(warehouse)
        now = datetime.now(UTC)
        changed = await self.session.execute(
            update(WmsStock)
            .where(
                WmsStock.whse_id == whse_id,
                WmsStock.article == sku,
                WmsStock.qty_on_hand + delta >= WmsStock.qty_allocated,  # never below reserved, so never < 0
            )
            .values(qty_on_hand=WmsStock.qty_on_hand + delta, last_movement_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], changed).rowcount == 0:
            position = await self.session.get(WmsStock, (whse_id, sku))
            if position is not None or delta < 0:
                held = 0 if position is None else position.qty_on_hand
                raise BusinessRuleViolation(
                    f"Adjusting {sku} in {warehouse} by {delta} would leave less on hand than is reserved "
                    f"(on hand {held})."
                )
            self.session.add(
                WmsStock(
                    whse_id=whse_id, article=sku, uom="EACH", qty_on_hand=delta, qty_allocated=0, last_movement_at=now
                )
            )
            await self.session.flush()
        await record_movement(
            session=self.session,
            whse_id=whse_id,
            article=sku,
            kind=MovementKind.adjustment,
            delta=delta,
            at=now,
            reference=reference,
            reason=reason,
        )
        return (await self._booked(MovementKind.adjustment, reference))[0]

    async def count(
        self, *, reference: str, warehouse: str, sku: str, counted: int, expected_version: int | None
    ) -> StockMovementRead:
        whse_id = await self._whse_id(warehouse)
        now = datetime.now(UTC)
        position = await self.session.get(WmsStock, (whse_id, sku))
        version = 0 if position is None else position.movement_seq
        if expected_version is not None and expected_version != version:
            raise Conflict(f"{sku} in {warehouse} moved since version {expected_version} (now {version}); count again.")
        if position is None:
            self.session.add(
                WmsStock(
                    whse_id=whse_id, article=sku, uom="EACH", qty_on_hand=counted, qty_allocated=0, last_movement_at=now
                )
            )
            await self.session.flush()
            delta = counted
        else:
            if counted < position.qty_allocated:
                raise BusinessRuleViolation(
                    f"Counted {counted} of {sku} in {warehouse}, less than the {position.qty_allocated} reserved: "
                    "release reservations first."
                )
            delta = counted - position.qty_on_hand
            # Conditional on the version read above: a movement in between makes this a 409.
            changed = await self.session.execute(
                update(WmsStock)
                .where(WmsStock.whse_id == whse_id, WmsStock.article == sku, WmsStock.movement_seq == version)
                .values(qty_on_hand=counted, last_movement_at=now)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], changed).rowcount == 0:
                raise Conflict(f"{sku} in {warehouse} moved while it was being counted; count again.")
        await record_movement(
            session=self.session,
            whse_id=whse_id,
            article=sku,
            kind=MovementKind.cycle_count,
            delta=delta,
            at=now,
            reference=reference,
        )
        return (await self._booked(MovementKind.cycle_count, reference))[0]

    async def _booked(self, kind: MovementKind, reference: str) -> list[StockMovementRead]:
        await self._flush(kind, reference)
        return await self._journal(kind, reference)

    async def _flush(self, kind: MovementKind, reference: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same reference booked by a concurrent request
            raise Conflict(
                f"The {kind.value} {reference!r} is being booked by another request; send it again."
            ) from exc

    async def stock_snapshot(self, *, after: str | None, limit: int) -> tuple[list[VersionedPosition], str | None]:
        """Every position, by SKU then warehouse, ``limit`` SKUs per page after ``after``."""
        skus_stmt = select(WmsStock.article).distinct().order_by(WmsStock.article).limit(limit + 1)
        if after:
            skus_stmt = skus_stmt.where(WmsStock.article > after)
        skus = list((await self.session.execute(skus_stmt)).scalars())
        page, more = skus[:limit], len(skus) > limit
        stmt = (
            select(WmsStock, WmsWarehouse.site_code)
            .join(WmsWarehouse, WmsWarehouse.whse_id == WmsStock.whse_id)
            .where(WmsStock.article.in_(page))
            .order_by(WmsStock.article, WmsWarehouse.site_code)
        )
        items = [
            VersionedPosition(
                sku=row.article,
                warehouse=site,
                on_hand=Quantity.of(row.qty_on_hand),
                reserved=Quantity.of(row.qty_allocated),
                available=Quantity.of(row.qty_on_hand - row.qty_allocated),
                version=row.movement_seq,
                updated_at=_utc(row.last_movement_at),
            )
            for row, site in (await self.session.execute(stmt)).all()
        ]
        return items, (page[-1] if more and page else None)
