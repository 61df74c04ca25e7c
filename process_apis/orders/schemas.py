"""Schemas of the orders API itself; the order and its intake answer are canonical (contracts)."""

from __future__ import annotations

from contracts import Order
from contracts.common import CanonicalModel


class OrderList(CanonicalModel):
    """One page of orders, oldest first."""

    items: list[Order]


__all__ = ["OrderList"]
