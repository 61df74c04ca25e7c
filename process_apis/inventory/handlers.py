"""The consumer side: stock.moved and item.changed applied to the projection.

Run through ``service_kit.events.consumer`` (group ``inventory``), which dedupes by event id and
skips an event older than the subject's last applied ``entityversion``; the events carry state
("on hand is now 12"), so applying the newest one is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, ItemChangedV1, StockMovedV1
from process_apis.inventory import projection
from process_apis.inventory.settings import ChannelRule
from service_kit.events import EventHandler, event_data

GROUP = "inventory"
Clock = Callable[[], datetime]


def _units(value: str) -> int:
    return int(Decimal(value))  # the WMS counts whole units


def _now() -> datetime:
    return datetime.now(UTC)


def handlers(*, rules: Mapping[str, ChannelRule], window: float, clock: Clock = _now) -> dict[str, EventHandler]:
    async def on_stock_moved(*, session: AsyncSession, event: CloudEvent) -> None:
        moved = event_data(event=event, model=StockMovedV1)
        state = projection.PositionState(
            sku=moved.sku,
            warehouse=moved.warehouse,
            on_hand=_units(moved.on_hand_after),
            reserved=_units(moved.reserved_after),
            version=event.entityversion or 0,
            moved_at=moved.occurred_at,
        )
        if await projection.apply_position(session=session, state=state):
            await projection.refresh_channels(
                session=session, sku=moved.sku, rules=rules, now=clock(), window=window, as_of=moved.occurred_at
            )

    async def on_item_changed(*, session: AsyncSession, event: CloudEvent) -> None:
        changed = event_data(event=event, model=ItemChangedV1)
        state = projection.ItemState(
            sku=changed.sku,
            status=changed.status.value,
            safety_stock=_units(changed.safety_stock),
            version=event.entityversion or 0,
        )
        if await projection.apply_item(session=session, state=state):
            await projection.refresh_channels(
                session=session, sku=changed.sku, rules=rules, now=clock(), window=window, as_of=event.time
            )

    return {StockMovedV1.event_type: on_stock_moved, ItemChangedV1.event_type: on_item_changed}


__all__ = ["GROUP", "handlers"]
