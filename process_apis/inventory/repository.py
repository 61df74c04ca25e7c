"""All SQL of the inventory service. Functions take the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory.models import ChannelAvailability, ItemPolicy, Publication, StockPosition

DueRow = Row[str, str, int, int | None, int, datetime | None, int]
_DUE_COLUMNS = (
    ChannelAvailability.channel,
    ChannelAvailability.sku,
    ChannelAvailability.desired,
    ChannelAvailability.told,
    ChannelAvailability.told_seq,
    ChannelAvailability.as_of,
    ChannelAvailability.version,
)


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


async def due_states(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[DueRow]:
    """The rows whose publication is due, oldest first, as plain values (a snapshot: nothing the
    publisher does later writes through them; ``mark_told`` compares their ``version``)."""
    stmt = (
        select(*_DUE_COLUMNS)
        .where(ChannelAvailability.due_at.is_not(None), ChannelAvailability.due_at <= now)
        .order_by(ChannelAvailability.due_at)
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def mark_told(
    *, session: AsyncSession, channel: str, sku: str, version: int, told: int, now: datetime
) -> int | None:
    """Compare-and-set: record that ``channel`` was told ``told`` of ``sku`` and clear the due
    mark, only if the row is still at ``version``. The new ``told_seq``, or None when the row
    changed since it was read (it stays due, with the newer value)."""
    stmt = (
        update(ChannelAvailability)
        .where(
            ChannelAvailability.channel == channel,
            ChannelAvailability.sku == sku,
            ChannelAvailability.version == version,
        )
        .values(told=told, told_at=now, told_seq=ChannelAvailability.told_seq + 1, due_at=None)
        .returning(ChannelAvailability.told_seq)
        .execution_options(synchronize_session=False)
    )
    seq: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return seq


async def clear_due(*, session: AsyncSession, channel: str, sku: str, version: int) -> bool:
    """Compare-and-set: nothing to publish (the value changed and changed back), unless the row
    changed since it was read."""
    stmt = (
        update(ChannelAvailability)
        .where(
            ChannelAvailability.channel == channel,
            ChannelAvailability.sku == sku,
            ChannelAvailability.version == version,
        )
        .values(due_at=None)
        .returning(ChannelAvailability.version)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


def add(*, session: AsyncSession, row: StockPosition | ItemPolicy | ChannelAvailability | Publication) -> None:
    session.add(row)


async def publications(*, session: AsyncSession, sku: str, channel: str | None, limit: int) -> list[Publication]:
    stmt = select(Publication).where(Publication.sku == sku).order_by(Publication.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(Publication.channel == channel)
    return list((await session.execute(stmt)).scalars())


__all__ = [
    "DueRow",
    "add",
    "channel_state",
    "channel_states",
    "clear_due",
    "due_states",
    "item",
    "items",
    "known_skus",
    "mark_told",
    "position",
    "positions",
    "publications",
]
