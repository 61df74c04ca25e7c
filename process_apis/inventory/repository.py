"""All SQL of the inventory service. Functions take the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory.models import ChannelAvailability, ItemPolicy, Publication, StockPosition


async def positions(*, session: AsyncSession, sku: str) -> list[StockPosition]:
    stmt = select(StockPosition).where(StockPosition.sku == sku).order_by(StockPosition.warehouse)
    return list((await session.execute(stmt)).scalars())


async def position(*, session: AsyncSession, sku: str, warehouse: str) -> StockPosition | None:
    return await session.get(StockPosition, (sku, warehouse))


async def item(*, session: AsyncSession, sku: str) -> ItemPolicy | None:
    return await session.get(ItemPolicy, sku)


async def items(*, session: AsyncSession) -> dict[str, ItemPolicy]:
    return {row.sku: row for row in (await session.execute(select(ItemPolicy))).scalars()}


async def known_skus(*, session: AsyncSession) -> list[str]:
    stock = set((await session.execute(select(StockPosition.sku).distinct())).scalars())
    told = set((await session.execute(select(ChannelAvailability.sku).distinct())).scalars())
    return sorted(stock | told)


async def channel_state(*, session: AsyncSession, channel: str, sku: str) -> ChannelAvailability | None:
    return await session.get(ChannelAvailability, (channel, sku))


async def channel_states(
    *, session: AsyncSession, skus: Sequence[str] | None = None, channel: str | None = None
) -> list[ChannelAvailability]:
    stmt = select(ChannelAvailability).order_by(ChannelAvailability.sku, ChannelAvailability.channel)
    if skus is not None:
        stmt = stmt.where(ChannelAvailability.sku.in_(list(skus)))
    if channel is not None:
        stmt = stmt.where(ChannelAvailability.channel == channel)
    return list((await session.execute(stmt)).scalars())


async def due_states(*, session: AsyncSession, now: datetime, limit: int) -> list[ChannelAvailability]:
    stmt = (
        select(ChannelAvailability)
        .where(ChannelAvailability.due_at.is_not(None), ChannelAvailability.due_at <= now)
        .order_by(ChannelAvailability.due_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


def add(*, session: AsyncSession, row: StockPosition | ItemPolicy | ChannelAvailability | Publication) -> None:
    session.add(row)


async def publications(*, session: AsyncSession, sku: str, channel: str | None, limit: int) -> list[Publication]:
    stmt = select(Publication).where(Publication.sku == sku).order_by(Publication.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(Publication.channel == channel)
    return list((await session.execute(stmt)).scalars())


__all__ = [
    "add",
    "channel_state",
    "channel_states",
    "due_states",
    "item",
    "items",
    "known_skus",
    "position",
    "positions",
    "publications",
]
