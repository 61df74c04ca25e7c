"""Inventory in business terms: availability per channel, and the projection's rebuild from the
systems of record (which also makes it right for stock that existed before any event)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Quantity
from process_apis.inventory import projection, repository
from process_apis.inventory.clients import fetch_items, fetch_stock
from process_apis.inventory.models import ChannelAvailability
from process_apis.inventory.projection import ItemState, PositionState
from process_apis.inventory.schemas import (
    ChannelAvailabilityList,
    ChannelAvailabilityRead,
    ChannelList,
    ChannelRead,
    RebuildResult,
)
from process_apis.inventory.settings import ChannelRule
from service_kit.errors import BusinessRuleViolation, NotFound
from service_kit.http import Upstream


def _check_channel(*, rules: Mapping[str, ChannelRule], channel: str) -> None:
    if channel not in rules:
        raise BusinessRuleViolation(f"No channel {channel!r}; the channels are {', '.join(sorted(rules))}.")


def _read(*, sku: str, channel: str, value: int, state: ChannelAvailability | None) -> ChannelAvailabilityRead:
    told = None if state is None or state.told is None else Quantity.of(state.told)
    return ChannelAvailabilityRead(
        sku=sku,
        channel=channel,
        available=Quantity.of(value),
        told=told,
        told_at=None if state is None or state.told_at is None else state.told_at.replace(tzinfo=UTC),
        publication_pending=state is not None and state.due_at is not None,
    )


async def channel_availability(
    *, session: AsyncSession, rules: Mapping[str, ChannelRule], skus: Sequence[str], channel: str
) -> list[ChannelAvailabilityRead]:
    """What ``channel`` may sell of each SKU the projection knows (others are left out)."""
    _check_channel(rules=rules, channel=channel)
    answers = []
    for sku in dict.fromkeys(skus):
        if not await repository.positions(session=session, sku=sku):
            continue
        values = await projection.availability(session=session, sku=sku, rules={channel: rules[channel]})
        state = await repository.channel_state(session=session, channel=channel, sku=sku)
        answers.append(_read(sku=sku, channel=channel, value=values[channel], state=state))
    return answers


async def sku_availability(
    *, session: AsyncSession, rules: Mapping[str, ChannelRule], sku: str, channel: str
) -> ChannelAvailabilityRead:
    found = await channel_availability(session=session, rules=rules, skus=[sku], channel=channel)
    if not found:
        raise NotFound(f"No stock of {sku!r} is known in any warehouse.")
    return found[0]


def channel_list(*, rules: Mapping[str, ChannelRule]) -> ChannelList:
    """The configured channels (the service's settings), by name."""
    return ChannelList(
        items=[
            ChannelRead(
                channel=name,
                warehouses=None if rule.warehouses is None else list(rule.warehouses),
                share_percent=rule.share_percent,
                cap=rule.cap,
                max_updates_per_second=rule.max_updates_per_second,
            )
            for name, rule in sorted(rules.items())
        ]
    )


def availability_list(items: list[ChannelAvailabilityRead]) -> ChannelAvailabilityList:
    return ChannelAvailabilityList(items=items)


async def seed_projection(
    *,
    session: AsyncSession,
    stock: Sequence[PositionState],
    items: Sequence[ItemState],
    rules: Mapping[str, ChannelRule],
    window: float,
    now: datetime | None = None,
) -> RebuildResult:
    """Apply a snapshot (newer versions only) and recompute every SKU's channel values."""
    now = now or datetime.now(UTC)
    await projection.apply_items(session=session, states=items)
    await projection.apply_positions(session=session, states=stock)
    skus = await repository.known_skus(session=session)
    await projection.refresh_skus(session=session, skus=skus, rules=rules, now=now, window=window)
    return RebuildResult(positions=len(stock), items=len(items), skus=len(skus))


async def rebuild_projection(
    *, session: AsyncSession, wms: Upstream, erp: Upstream, rules: Mapping[str, ChannelRule], window: float
) -> RebuildResult:
    """Fetch every stock position (WMS) and item policy (ERP), then seed from them. The fetches
    come before the first statement, so no write lock is held while waiting on the network."""
    stock = await fetch_stock(wms=wms)
    items = await fetch_items(erp=erp)
    return await seed_projection(session=session, stock=stock, items=items, rules=rules, window=window)


__all__ = [
    "availability_list",
    "channel_availability",
    "rebuild_projection",
    "seed_projection",
    "sku_availability",
]
