"""The availability projection: stock per SKU and warehouse and the item's policy, applied from
events (or a snapshot) as state, never as deltas, and what each channel should show, recomputed
in the same transaction whenever either changes.

A change of what a channel should show marks a publication due ``coalesce_window`` seconds after
the first change; later changes before it goes out only replace the value (``publisher``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory import repository
from process_apis.inventory.allocation import SELLABLE, Stock, available_to_sell
from process_apis.inventory.models import ChannelAvailability, ItemPolicy, StockPosition
from process_apis.inventory.settings import ChannelRule


@dataclass(frozen=True)
class PositionState:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    version: int
    moved_at: datetime | None


@dataclass(frozen=True)
class ItemState:
    sku: str
    status: str
    safety_stock: int
    version: int


async def apply_position(*, session: AsyncSession, state: PositionState) -> bool:
    """Store the position unless a newer (or the same) version is already there. True if stored."""
    row = await repository.position(session=session, sku=state.sku, warehouse=state.warehouse)
    if row is None:
        repository.add(
            session=session,
            row=StockPosition(
                sku=state.sku,
                warehouse=state.warehouse,
                on_hand=state.on_hand,
                reserved=state.reserved,
                version=state.version,
                moved_at=state.moved_at,
            ),
        )
        return True
    if state.version <= row.version and (row.on_hand, row.reserved) == (state.on_hand, state.reserved):
        return False
    if state.version < row.version:
        return False  # an older state: never regress (the consumer also skips stale events)
    row.on_hand, row.reserved, row.version = state.on_hand, state.reserved, state.version
    row.moved_at = state.moved_at or row.moved_at
    return True


async def apply_item(*, session: AsyncSession, state: ItemState) -> bool:
    row = await repository.item(session=session, sku=state.sku)
    if row is None:
        repository.add(
            session=session,
            row=ItemPolicy(sku=state.sku, status=state.status, safety_stock=state.safety_stock, version=state.version),
        )
        return True
    if state.version < row.version or (row.status, row.safety_stock) == (state.status, state.safety_stock):
        return False
    row.status, row.safety_stock, row.version = state.status, state.safety_stock, state.version
    return True


async def availability(*, session: AsyncSession, sku: str, rules: Mapping[str, ChannelRule]) -> dict[str, int]:
    """What each channel should show for ``sku`` now, from the projection."""
    stock = [Stock(p.warehouse, p.on_hand, p.reserved) for p in await repository.positions(session=session, sku=sku)]
    item = await repository.item(session=session, sku=sku)
    status, safety = (item.status, item.safety_stock) if item else (SELLABLE, 0)
    return {
        channel: available_to_sell(rule=rule, stock=stock, status=status, safety_stock=safety)
        for channel, rule in rules.items()
    }


async def refresh_channels(
    *,
    session: AsyncSession,
    sku: str,
    rules: Mapping[str, ChannelRule],
    now: datetime,
    window: float,
    as_of: datetime | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Recompute what each channel should show; mark a publication due where it changed (or,
    with ``force``, wherever the channel was told something else)."""
    values = await availability(session=session, sku=sku, rules=rules)
    due = now + timedelta(seconds=window)
    for channel, value in values.items():
        state = await repository.channel_state(session=session, channel=channel, sku=sku)
        if state is None:
            repository.add(
                session=session,
                row=ChannelAvailability(channel=channel, sku=sku, desired=value, as_of=as_of, due_at=due, told_seq=0),
            )
            continue
        changed = state.desired != value
        if changed:
            state.desired = value
            state.as_of = as_of or state.as_of
        if (changed or (force and state.told != value)) and state.due_at is None:
            state.due_at = now if force else due
            changed = True
        if changed:
            state.version += 1  # the publisher's compare-and-set sees this change (publisher.py)
    return values


__all__ = ["ItemState", "PositionState", "apply_item", "apply_position", "availability", "refresh_channels"]
