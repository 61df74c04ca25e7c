"""What a channel may sell: pure rules, no I/O.

available(channel) = floor(share% x sum over the channel's warehouses of
max(0, on hand - reserved - safety stock)), capped; 0 for an item that is not active.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from process_apis.inventory.settings import ChannelRule

SELLABLE = "active"


@dataclass(frozen=True)
class Stock:
    warehouse: str
    on_hand: int
    reserved: int


def available_to_sell(*, rule: ChannelRule, stock: Iterable[Stock], status: str, safety_stock: int) -> int:
    if status != SELLABLE:
        return 0
    allowed = None if rule.warehouses is None else set(rule.warehouses)
    free = sum(
        max(0, s.on_hand - s.reserved - safety_stock) for s in stock if allowed is None or s.warehouse in allowed
    )
    offered = free * rule.share_percent // 100  # integer arithmetic: rounded down, no float error
    return offered if rule.cap is None else min(offered, rule.cap)


__all__ = ["SELLABLE", "Stock", "available_to_sell"]
