"""All SQL of the inventory service. Functions take the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory.models import ChannelAvailability, ItemPolicy, Publication, StockPosition

#: Rows per compare-and-set statement (3 parameters each: under SQLite's oldest limit of 999).
_CAS_CHUNK = 300
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


async def due_states(
    *, session: AsyncSession, now: datetime, limit: int, skip_channels: Collection[str] = ()
) -> Sequence[DueRow]:
    """The rows whose publication is due, oldest first, as plain values (a snapshot: nothing the
    publisher does later writes through them; ``mark_told`` compares their ``version``)."""
    stmt = (
        select(*_DUE_COLUMNS)
        .where(ChannelAvailability.due_at.is_not(None), ChannelAvailability.due_at <= now)
        .order_by(ChannelAvailability.due_at)
        .limit(limit)
    )
    if skip_channels:
        stmt = stmt.where(ChannelAvailability.channel.not_in(list(skip_channels)))
    return (await session.execute(stmt)).all()


async def next_due(*, session: AsyncSession) -> datetime | None:
    """When the earliest pending publication falls due (None: nothing is pending)."""
    earliest: datetime | None = await session.scalar(select(func.min(ChannelAvailability.due_at)))
    return earliest


_channels = cast(Table, ChannelAvailability.__table__)


def _read_versions(rows: Sequence[DueRow]) -> Any:
    table = _channels.c
    read = tuple_(table.channel, table.sku, table.version).in_([(r.channel, r.sku, r.version) for r in rows])
    # Still due: another replica's publisher that read the same rows and marked them first leaves
    # them at the version read but no longer due (PostgreSQL re-checks this after its commit).
    return and_(read, table.due_at.is_not(None))


async def mark_told(*, session: AsyncSession, rows: Sequence[DueRow], now: datetime) -> dict[tuple[str, str], int]:
    """Compare-and-set, one statement per ``CHUNK`` rows: record that each row's channel was told
    its ``desired`` and clear the due mark, only where the row is still at the version read. The
    new ``told_seq`` of each row marked, by (channel, sku); a row that changed since it was read
    is left out (it stays due, with the newer value)."""
    table = _channels.c
    marked: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), _CAS_CHUNK):
        stmt = (
            update(_channels)
            .where(_read_versions(rows[start : start + _CAS_CHUNK]))
            .values(told=table.desired, told_at=now, told_seq=table.told_seq + 1, due_at=None)
            .returning(table.channel, table.sku, table.told_seq)
        )
        marked.update({(channel, sku): seq for channel, sku, seq in await session.execute(stmt)})
    return marked


async def clear_due(*, session: AsyncSession, rows: Sequence[DueRow]) -> None:
    """Compare-and-set: nothing to publish for these rows (the value changed and changed back),
    unless a row changed since it was read."""
    for start in range(0, len(rows), _CAS_CHUNK):
        await session.execute(
            update(_channels).where(_read_versions(rows[start : start + _CAS_CHUNK])).values(due_at=None)
        )


# -- in bulk, for the consumer's batches and the snapshot seed: plain rows, no ORM objects -------

#: Bound parameters per ``IN (...)`` list: far below every database's limit.
CHUNK = 500

PositionRow = Row[str, str, int, int, int, datetime | None]
ItemRow = Row[str, str, int, int]
ChannelRow = Row[str, str, int, datetime | None, datetime | None, int | None, int]


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


async def positions_of(*, session: AsyncSession, skus: Iterable[str]) -> list[PositionRow]:
    """Every stock position of these SKUs: (sku, warehouse, on_hand, reserved, version, moved_at)."""
    columns = (
        StockPosition.sku,
        StockPosition.warehouse,
        StockPosition.on_hand,
        StockPosition.reserved,
        StockPosition.version,
        StockPosition.moved_at,
    )
    found: list[PositionRow] = []
    for chunk in _chunks(skus):
        found.extend((await session.execute(select(*columns).where(StockPosition.sku.in_(chunk)))).all())
    return found


async def items_of(*, session: AsyncSession, skus: Iterable[str]) -> dict[str, ItemRow]:
    """The stock policy of these SKUs, where known: (sku, status, safety_stock, version)."""
    columns = (ItemPolicy.sku, ItemPolicy.status, ItemPolicy.safety_stock, ItemPolicy.version)
    found: dict[str, ItemRow] = {}
    for chunk in _chunks(skus):
        found.update(
            {row.sku: row for row in (await session.execute(select(*columns).where(ItemPolicy.sku.in_(chunk))))}
        )
    return found


async def channel_rows_of(*, session: AsyncSession, skus: Iterable[str]) -> dict[tuple[str, str], ChannelRow]:
    """Every channel's row for these SKUs: (channel, sku, desired, as_of, due_at, told, version)."""
    columns = (
        ChannelAvailability.channel,
        ChannelAvailability.sku,
        ChannelAvailability.desired,
        ChannelAvailability.as_of,
        ChannelAvailability.due_at,
        ChannelAvailability.told,
        ChannelAvailability.version,
    )
    found: dict[tuple[str, str], ChannelRow] = {}
    for chunk in _chunks(skus):
        rows = await session.execute(select(*columns).where(ChannelAvailability.sku.in_(chunk)))
        found.update({(row.channel, row.sku): row for row in rows})
    return found


async def write(
    *,
    session: AsyncSession,
    model: type[StockPosition | ItemPolicy | ChannelAvailability | Publication],
    inserts: Sequence[Mapping[str, Any]] = (),
    updates: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Insert new rows and update existing ones by primary key, each kind in one statement (per
    set of columns). On the table (Core): the ORM's bulk paths cost several times more per row
    for the same executemany (a consumer batch writes hundreds)."""
    table = cast(Table, model.__table__)
    if inserts:
        await session.execute(insert(table), list(inserts))
    keys = [column.name for column in table.primary_key.columns]
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        values = {name: value for name, value in row.items() if name not in keys}
        by_columns.setdefault(tuple(values), []).append(values | {f"pk_{k}": row[k] for k in keys})
    for rows in by_columns.values():
        stmt = update(table).where(*(table.c[k] == bindparam(f"pk_{k}") for k in keys))
        await session.execute(stmt, rows)


async def publications(*, session: AsyncSession, sku: str, channel: str | None, limit: int) -> list[Publication]:
    stmt = select(Publication).where(Publication.sku == sku).order_by(Publication.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(Publication.channel == channel)
    return list((await session.execute(stmt)).scalars())


__all__ = [
    "ChannelRow",
    "DueRow",
    "ItemRow",
    "PositionRow",
    "channel_rows_of",
    "channel_state",
    "channel_states",
    "clear_due",
    "due_states",
    "items",
    "items_of",
    "known_skus",
    "mark_told",
    "next_due",
    "positions",
    "positions_of",
    "publications",
    "write",
]
