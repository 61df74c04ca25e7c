"""The consumer side: stock.moved and item.changed applied to the projection, a batch at a time.

Run through ``service_kit.events.batch`` (group ``inventory``), which dedupes by event id and
skips an event older than the subject's last applied ``entityversion``; the events carry state
("on hand is now 12"), so the newest one per position is enough, and every SKU a batch touched is
recomputed once for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, ItemChangedV1, StockMovedV1
from process_apis.inventory import projection
from process_apis.inventory.settings import ChannelRule
from service_kit.events import event_data
from service_kit.events.batch import BatchHandler

GROUP = "inventory"
TYPES = frozenset({StockMovedV1.event_type, ItemChangedV1.event_type})
Clock = Callable[[], datetime]


def _units(value: str) -> int:
    return int(Decimal(value))  # the WMS counts whole units


def _now() -> datetime:
    return datetime.now(UTC)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def handler(*, rules: Mapping[str, ChannelRule], window: float, clock: Clock = _now) -> BatchHandler:
    async def apply_stock_events(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        positions: list[projection.PositionState] = []
        items: list[projection.ItemState] = []
        moved_at: dict[str, datetime | None] = {}
        changed_at: dict[str, datetime | None] = {}
        for event in events:
            if event.type == StockMovedV1.event_type:
                moved = event_data(event=event, model=StockMovedV1)
                positions.append(
                    projection.PositionState(
                        sku=moved.sku,
                        warehouse=moved.warehouse,
                        on_hand=_units(moved.on_hand_after),
                        reserved=_units(moved.reserved_after),
                        version=event.entityversion or 0,
                        moved_at=moved.occurred_at,
                    )
                )
            elif event.type == ItemChangedV1.event_type:
                changed = event_data(event=event, model=ItemChangedV1)
                items.append(
                    projection.ItemState(
                        sku=changed.sku,
                        status=changed.status.value,
                        safety_stock=_units(changed.safety_stock),
                        version=event.entityversion or 0,
                    )
                )
                changed_at[changed.sku] = _later(changed_at.get(changed.sku), event.time)
        item_skus = await projection.apply_items(session=session, states=items)
        stored = await projection.apply_positions(session=session, states=positions)
        for state in positions:
            if (state.sku, state.warehouse) in stored:
                moved_at[state.sku] = _later(moved_at.get(state.sku), state.moved_at)
        for sku in item_skus:
            moved_at[sku] = _later(moved_at.get(sku), changed_at.get(sku))
        touched = item_skus | {sku for sku, _ in stored}
        await projection.refresh_skus(
            session=session, skus=touched, rules=rules, now=clock(), window=window, as_of=moved_at
        )

    return apply_stock_events


__all__ = ["GROUP", "TYPES", "handler"]
