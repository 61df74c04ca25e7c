"""The SQL of the ops lookup: orders by any of their references (lookup.py).

The references it matches (the order's id, the channel's order id, the ERP sales order number, a
correlation id of its intake or of any later status change) are each indexed (migration 0002), so
each term of the OR is an index lookup, not a scan of the orders table.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.orders.models import OrderRow, OrderStatusChange


async def find_by_reference(session: AsyncSession, *, reference: str, limit: int) -> list[OrderRow]:
    """Orders whose id, channel order id, ERP sales order number or a correlation id is ``reference``,
    oldest first."""
    changed_under = select(OrderStatusChange.order_id).where(OrderStatusChange.correlation_id == reference)
    stmt = (
        select(OrderRow)
        .where(
            or_(
                OrderRow.id == reference,
                OrderRow.channel_order_id == reference,
                OrderRow.erp_order_number == reference,
                OrderRow.correlation_id == reference,
                OrderRow.id.in_(changed_under),
            )
        )
        .order_by(OrderRow.created_at, OrderRow.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


__all__ = ["find_by_reference"]
