"""The availability projection: stock per SKU and warehouse and the item's policy, applied from
events (or a snapshot) as state, never as deltas, and what each channel should show, recomputed
in the same transaction whenever either changes.

Everything works on sets (a consumer batch, a snapshot): a few statements per batch, whatever its
size, and each SKU recomputed once however many movements it had (coalescing per SKU).

A change of what a channel should show marks a publication due ``coalesce_window`` seconds after
the first change; later changes before it goes out only replace the value and bump the row's
``version``, which the publisher compares before it records a publication (``publisher``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory import repository
from process_apis.inventory.allocation import SELLABLE, Stock, available_to_sell
from process_apis.inventory.models import ChannelAvailability, ItemPolicy, StockPosition
from process_apis.inventory.settings import ChannelRule
from service_kit.workers import notify_after_commit

#: The publisher's wake-up topic (``service_kit.workers.wakeup_for``): a value fell due.
DUE = "inventory.availability_due"


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


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _newest_positions(states: Iterable[PositionState]) -> dict[tuple[str, str], PositionState]:
    newest: dict[tuple[str, str], PositionState] = {}
    for state in states:
        key = (state.sku, state.warehouse)
        if key not in newest or state.version >= newest[key].version:
            newest[key] = state
    return newest


async def apply_positions(*, session: AsyncSession, states: Iterable[PositionState]) -> set[tuple[str, str]]:
    """Store each position (the newest of each SKU and warehouse) unless a newer version, or the
    same version with the same figures, is already there. The (sku, warehouse) keys stored."""
    newest = _newest_positions(states)
    if not newest:
        return set()
    stored = {
        (r.sku, r.warehouse): r for r in await repository.positions_of(session=session, skus={k[0] for k in newest})
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, state in newest.items():
        row = stored.get(key)
        values = {
            "sku": state.sku,
            "warehouse": state.warehouse,
            "on_hand": state.on_hand,
            "reserved": state.reserved,
            "version": state.version,
            "moved_at": state.moved_at,
        }
        if row is None:
            inserts.append(values)
            continue
        if state.version < row.version:
            continue  # an older state: never regress (the consumer also skips stale events)
        if state.version == row.version and (row.on_hand, row.reserved) == (state.on_hand, state.reserved):
            continue
        updates.append(values | {"moved_at": state.moved_at or row.moved_at})
    await repository.write(session=session, model=StockPosition, inserts=inserts, updates=updates)
    return {(v["sku"], v["warehouse"]) for v in (*inserts, *updates)}


async def apply_items(*, session: AsyncSession, states: Iterable[ItemState]) -> set[str]:
    """Store each item's policy unless a newer version is there or nothing changed. The SKUs stored."""
    newest: dict[str, ItemState] = {}
    for state in states:
        if state.sku not in newest or state.version >= newest[state.sku].version:
            newest[state.sku] = state
    if not newest:
        return set()
    stored = await repository.items_of(session=session, skus=newest)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for sku, state in newest.items():
        values = {"sku": sku, "status": state.status, "safety_stock": state.safety_stock, "version": state.version}
        row = stored.get(sku)
        if row is None:
            inserts.append(values)
        elif state.version >= row.version and (row.status, row.safety_stock) != (state.status, state.safety_stock):
            updates.append(values)
    await repository.write(session=session, model=ItemPolicy, inserts=inserts, updates=updates)
    return {v["sku"] for v in (*inserts, *updates)}


def _values(*, stock: list[Stock], item: repository.ItemRow | None, rules: Mapping[str, ChannelRule]) -> dict[str, int]:
    status, safety = (item.status, item.safety_stock) if item is not None else (SELLABLE, 0)
    return {
        channel: available_to_sell(rule=rule, stock=stock, status=status, safety_stock=safety)
        for channel, rule in rules.items()
    }


async def availability(*, session: AsyncSession, sku: str, rules: Mapping[str, ChannelRule]) -> dict[str, int]:
    """What each channel should show for ``sku`` now, from the projection."""
    stock = [
        Stock(p.warehouse, p.on_hand, p.reserved) for p in await repository.positions_of(session=session, skus=[sku])
    ]
    items = await repository.items_of(session=session, skus=[sku])
    return _values(stock=stock, item=items.get(sku), rules=rules)


async def refresh_skus(
    *,
    session: AsyncSession,
    skus: Iterable[str],
    rules: Mapping[str, ChannelRule],
    now: datetime,
    window: float,
    as_of: Mapping[str, datetime | None] | None = None,
    force: bool = False,
) -> dict[str, dict[str, int]]:
    """Recompute what each channel should show of each SKU (once per SKU); mark a publication due
    where it changed (or, with ``force``, wherever the channel was told something else).
    ``as_of``: per SKU, when the latest movement reflected happened (sync lag starts there)."""
    wanted = set(skus)
    if not wanted:
        return {}
    as_of = as_of or {}
    stock: dict[str, list[Stock]] = defaultdict(list)
    for p in await repository.positions_of(session=session, skus=wanted):
        stock[p.sku].append(Stock(p.warehouse, p.on_hand, p.reserved))
    items = await repository.items_of(session=session, skus=wanted)
    rows = await repository.channel_rows_of(session=session, skus=wanted)
    due = now + timedelta(seconds=window)
    newly_due = False
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    result: dict[str, dict[str, int]] = {}
    for sku in sorted(wanted):
        values = result[sku] = _values(stock=stock.get(sku, []), item=items.get(sku), rules=rules)
        for channel, value in values.items():
            row = rows.get((channel, sku))
            if row is None:
                newly_due = True
                inserts.append(
                    {
                        "channel": channel,
                        "sku": sku,
                        "desired": value,
                        "as_of": as_of.get(sku),
                        "due_at": due,
                        "told_seq": 0,
                        "version": 0,
                    }
                )
                continue
            changed = row.desired != value
            mark_due = (changed or (force and row.told != value)) and row.due_at is None
            # A value waiting to go out (coalescing, or held by the throttle) reflects this batch's
            # movements too, even those that left it unchanged (a capped or unaffected channel):
            # its as_of moves on, so the event says how fresh the figure really is.
            newer = as_of.get(sku)
            fresher = newer is not None and (row.as_of is None or _utc(newer) > _utc(row.as_of))
            refresh = fresher and (changed or mark_due or row.due_at is not None)
            if not (changed or mark_due or refresh):
                continue
            newly_due = newly_due or mark_due
            updates.append(
                {
                    "channel": channel,
                    "sku": sku,
                    "desired": value,
                    "as_of": newer if refresh else row.as_of,
                    "due_at": ((now if force else due) if mark_due else row.due_at),
                    # The publisher's compare-and-set sees a change of the value or the due mark
                    # (publisher.py); a fresher as_of alone does not make it publish again.
                    "version": row.version + 1 if changed or mark_due else row.version,
                }
            )
    await repository.write(session=session, model=ChannelAvailability, inserts=inserts, updates=updates)
    if newly_due:
        # Only a row that was not due yet: for one already due the publisher is still at work
        # (it keeps passing while anything is pending), and a wake-up per consumer commit cost it
        # two reads per batch in a burst for nothing.
        notify_after_commit(session=session, topic=DUE)
    return result


__all__ = [
    "DUE",
    "ItemState",
    "PositionState",
    "apply_items",
    "apply_positions",
    "availability",
    "refresh_skus",
]
