"""All SQL of the storefront experience API. The caller's session owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.storefront.models import InventoryPush, PushStatus, StorefrontItem


class StorefrontRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def item_id(self, sku: str) -> int | None:
        item = await self.session.get(StorefrontItem, sku)
        return item.inventory_item_id if item else None

    async def push(self, sku: str) -> InventoryPush | None:
        return await self.session.get(InventoryPush, sku, populate_existing=True)

    async def want_level(self, *, sku: str, available: int, now: datetime) -> None:
        """The latest level replaces any unsent one: the next push sends only this."""
        row = await self.push(sku)
        if row is None:
            self.session.add(
                InventoryPush(
                    sku=sku,
                    available=available,
                    version=1,
                    status=PushStatus.pending,
                    attempts=0,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
        elif row.available != available or row.status != PushStatus.synced:
            row.available, row.version, row.updated_at = available, row.version + 1, now
            if row.status != PushStatus.pending:  # a throttled or retrying SKU keeps its wait
                row.status, row.attempts, row.next_attempt_at = PushStatus.pending, 0, now
        await self.session.flush()

    async def due(self, *, now: datetime, limit: int) -> Sequence[InventoryPush]:
        stmt = (
            select(InventoryPush)
            .where(InventoryPush.status == PushStatus.pending, InventoryPush.next_attempt_at <= now)
            .order_by(InventoryPush.next_attempt_at, InventoryPush.sku)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def counts(self) -> dict[str, int]:
        stmt = select(InventoryPush.status, func.count()).group_by(InventoryPush.status)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def dead(self, *, limit: int) -> Sequence[InventoryPush]:
        stmt = (
            select(InventoryPush)
            .where(InventoryPush.status == PushStatus.dead)
            .order_by(InventoryPush.updated_at, InventoryPush.sku)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
