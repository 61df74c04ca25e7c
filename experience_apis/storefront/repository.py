"""All SQL of the storefront experience API. The caller's session owns the transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.storefront.models import InventoryPush, PushReplayRecord, PushStatus, StorefrontItem


def unmapped_error(sku: str) -> str:
    return f"no storefront item is mapped to SKU {sku}"


class StorefrontRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def item_id(self, sku: str) -> int | None:
        item = await self.session.get(StorefrontItem, sku)
        return item.inventory_item_id if item else None

    async def push(self, sku: str) -> InventoryPush | None:
        return await self.session.get(InventoryPush, sku, populate_existing=True)

    def add_replay(self, record: PushReplayRecord) -> None:
        self.session.add(record)

    async def item_ids(self, skus: Collection[str]) -> dict[str, int]:
        """The storefront item ids of those of ``skus`` that are mapped (one query)."""
        stmt = select(StorefrontItem.sku, StorefrontItem.inventory_item_id).where(StorefrontItem.sku.in_(skus))
        return {sku: item_id for sku, item_id in (await self.session.execute(stmt)).all()}

    async def want_levels(self, *, levels: Mapping[str, int], now: datetime) -> set[str]:
        """Record the latest level of each SKU (two reads and one flush for all of them); the SKUs
        now pending. An SKU with no storefront item is parked as dead once, with the reason, and
        keeps only its latest level while it stays unmapped (not queued and failed again per
        level); its next level after a mapping appears queues it again, as does a replay."""
        if not levels:
            return set()
        items = await self.item_ids(list(levels))
        stmt = select(InventoryPush).where(InventoryPush.sku.in_(list(levels)))
        rows = {row.sku: row for row in (await self.session.scalars(stmt)).all()}
        pending: set[str] = set()
        for sku, available in levels.items():
            row, mapped = rows.get(sku), sku in items
            if row is None:
                self.session.add(
                    InventoryPush(
                        sku=sku,
                        available=available,
                        version=1,
                        status=PushStatus.pending if mapped else PushStatus.dead,
                        attempts=0,
                        next_attempt_at=now,
                        last_error=None if mapped else unmapped_error(sku),
                        updated_at=now,
                    )
                )
            elif not mapped and row.status != PushStatus.pending:
                if row.available != available:  # keep the latest level for when it is mapped
                    row.available, row.version = available, row.version + 1
                if row.status != PushStatus.dead:
                    row.status, row.last_error, row.updated_at = PushStatus.dead, unmapped_error(sku), now
            elif row.available != available or row.status != PushStatus.synced:
                row.available, row.version, row.updated_at = available, row.version + 1, now
                if row.status != PushStatus.pending:  # a throttled or retrying SKU keeps its wait
                    row.status, row.attempts, row.next_attempt_at = PushStatus.pending, 0, now
            if (row is None and mapped) or (row is not None and row.status == PushStatus.pending):
                pending.add(sku)
        await self.session.flush()
        return pending

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
