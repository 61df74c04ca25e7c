"""Find an order by any reference a person may hold (ops console, CLI): the order id, the
channel's order id, the ERP sales order number or a correlation id. Each match says which of its
references matched."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Order
from contracts.common import CanonicalModel
from process_apis.orders import lookup_repository, repository
from process_apis.orders.models import OrderRow


class ReferenceKind(StrEnum):
    order_id = "order_id"
    channel_order_id = "channel_order_id"
    erp_order_number = "erp_order_number"
    correlation_id = "correlation_id"


class OrderMatch(CanonicalModel):
    """One order the reference names, and which of its references it is."""

    order: Order
    matched_on: list[ReferenceKind]


class OrderMatches(CanonicalModel):
    reference: str
    items: list[OrderMatch]


def _matched_on(row: OrderRow, reference: str) -> list[ReferenceKind]:
    kinds = [
        kind
        for kind, value in (
            (ReferenceKind.order_id, row.id),
            (ReferenceKind.channel_order_id, row.channel_order_id),
            (ReferenceKind.erp_order_number, row.erp_order_number),
            (ReferenceKind.correlation_id, row.correlation_id),
        )
        if value == reference
    ]
    # Not on the order itself: a later status change carried it (a replay, a cancellation).
    return kinds or [ReferenceKind.correlation_id]


async def find_by_reference(*, session: AsyncSession, reference: str, limit: int) -> OrderMatches:
    rows = await lookup_repository.find_by_reference(session, reference=reference, limit=limit)
    return OrderMatches(
        reference=reference,
        items=[OrderMatch(order=repository.to_order(row), matched_on=_matched_on(row, reference)) for row in rows],
    )


__all__ = ["OrderMatch", "OrderMatches", "ReferenceKind", "find_by_reference"]
