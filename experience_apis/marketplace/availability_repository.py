"""The SQL of the availability feed. The caller's session owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.marketplace.models import AvailabilityLevel, Listing


class AvailabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def listings_of(self, sku: str) -> Sequence[Listing]:
        stmt = select(Listing).where(Listing.sku == sku).order_by(Listing.partner_id, Listing.seller_sku)
        return (await self.session.scalars(stmt)).all()

    async def set_level(self, *, listing: Listing, available: int, updated_at: datetime) -> AvailabilityLevel | None:
        """Record the listing's level under the next cursor; None when it is unchanged.

        The next cursor is max + 1 in the consumer's transaction. That is gap-free because the
        consumer's transaction holds the database's write lock from its first insert (SQLite
        serializes writers; see ``service_kit.events.consumer``), so cursors commit in order. On a
        database with concurrent writers this wants a sequence read under a table lock instead."""
        row = await self.session.get(AvailabilityLevel, (listing.partner_id, listing.seller_sku))
        if row is not None and row.available == available:
            return None
        seq = int(await self.session.scalar(select(func.coalesce(func.max(AvailabilityLevel.seq), 0))) or 0) + 1
        if row is None:
            row = AvailabilityLevel(
                partner_id=listing.partner_id,
                seller_sku=listing.seller_sku,
                sku=listing.sku,
                available=available,
                updated_at=updated_at,
                seq=seq,
            )
            self.session.add(row)
        else:
            row.available, row.updated_at, row.seq = available, updated_at, seq
        await self.session.flush()
        return row

    async def changes(self, *, partner_id: str, since: int, limit: int) -> Sequence[AvailabilityLevel]:
        stmt = (
            select(AvailabilityLevel)
            .where(AvailabilityLevel.partner_id == partner_id, AvailabilityLevel.seq > since)
            .order_by(AvailabilityLevel.seq)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
