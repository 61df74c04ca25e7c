"""The reference WMS's stock changes outside reservations: adjustments, cycle counts,
and the versioned stock snapshot. Each change is one conditional UPDATE (so a concurrent
movement cannot slip between the check and the write) followed by ``record_movement``, which
versions, journals and announces it in the same transaction; receipts are booked by
``ReferenceStore`` in one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Quantity
from contracts.events import MovementKind
from service_kit.errors import BusinessRuleViolation, Conflict
from system_apis.wms.backend import statements as sql
from system_apis.wms.backend.reference_store import ReferenceStore, to_movement
from system_apis.wms.models import WmsStock, WmsWarehouse
from system_apis.wms.movements import record_movement
from system_apis.wms.schemas import StockMovementRead, VersionedPosition
from system_apis.wms.units import Unit

#: (sku, site code, delta) of one movement line, as a request asks for it.
Line = tuple[str, str, int]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ReferenceStockChanges:
    session: AsyncSession

    async def _whse_id(self, site: str) -> str:
        conn = await self.session.connection()
        found = (await conn.execute(sql.WHSE_ID, {"site": site})).scalar_one_or_none()
        if found is None:
            raise BusinessRuleViolation(f"The WMS has no warehouse {site!r}.")
        return str(found)

    async def _journal(self, kind: MovementKind, reference: str) -> list[StockMovementRead]:
        conn = await self.session.connection()
        rows = await conn.execute(sql.JOURNAL_BY_REF, {"kind": kind.value, "ref": reference})
        return [to_movement(row) for row in rows]

    async def previous_movements(
        self, *, kind: MovementKind, reference: str, lines: Sequence[Line]
    ) -> list[StockMovementRead] | None:
        """The movements already booked under ``reference`` (None when there are none); 409 when
        they are not the ones asked for now (``ReferenceStore.previous_movements``, on this
        request's connection)."""
        conn = await self.session.connection()
        return await conn.run_sync(
            lambda sync_conn: ReferenceStore(Unit(sync_conn)).previous_movements(
                kind=kind, reference=reference, lines=lines
            )
        )

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
