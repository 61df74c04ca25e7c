"""What a channel may sell of one SKU from each warehouse its rule counts (issue 12: the B2B
channel's availability by warehouse), from the projection, by the same allocation rule as the
channel's total (``allocation.available_to_sell`` applied to one warehouse's stock at a time)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import CanonicalModel, Quantity
from contracts.common import Sku
from process_apis.inventory import repository
from process_apis.inventory.allocation import SELLABLE, Stock, available_to_sell
from process_apis.inventory.settings import ChannelRule
from service_kit.errors import BusinessRuleViolation, NotFound


class WarehouseAvailabilityRead(CanonicalModel):
    warehouse: str
    #: What the channel may take from this warehouse alone now (its rule's share and cap applied).
    available: Quantity


class SkuWarehouseAvailability(CanonicalModel):
    """One SKU for one channel: the channel's total and, per warehouse its rule counts, what it may take there."""

    sku: Sku
    channel: str
    available: Quantity
    warehouses: list[WarehouseAvailabilityRead]


async def availability_by_warehouse(
    *, session: AsyncSession, rules: Mapping[str, ChannelRule], sku: str, channel: str
) -> SkuWarehouseAvailability:
    rule = rules.get(channel)
    if rule is None:
        raise BusinessRuleViolation(f"No channel {channel!r}; the channels are {', '.join(sorted(rules))}.")
    positions = await repository.positions_of(session=session, skus=[sku])
    if not positions:
        raise NotFound(f"No stock of {sku!r} is known in any warehouse.")
    item = (await repository.items_of(session=session, skus=[sku])).get(sku)
    status, safety = (item.status, item.safety_stock) if item is not None else (SELLABLE, 0)
    counted = [
        Stock(p.warehouse, p.on_hand, p.reserved)
        for p in sorted(positions, key=lambda p: p.warehouse)
        if rule.warehouses is None or p.warehouse in rule.warehouses
    ]
    total = available_to_sell(rule=rule, stock=counted, status=status, safety_stock=safety)
    return SkuWarehouseAvailability(
        sku=sku,
        channel=channel,
        available=Quantity.of(total),
        warehouses=[
            WarehouseAvailabilityRead(
                warehouse=s.warehouse,
                available=Quantity.of(available_to_sell(rule=rule, stock=[s], status=status, safety_stock=safety)),
            )
            for s in counted
        ],
    )


__all__ = ["SkuWarehouseAvailability", "WarehouseAvailabilityRead", "availability_by_warehouse"]
