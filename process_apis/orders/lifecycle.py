"""The order's lifecycle: every status change goes through ``change_status``, which refuses an
illegal transition, appends the change to the history and adds the event announcing it to the
outbox, all in the caller's transaction.

    received -> accepted -> released -> shipped -> invoiced -> completed
        |           |           |
        +-> rejected|           +-> cancelled (picking cancelled in time)
        +-> on_hold <-> (back to where it was held from) ; on_hold -> rejected | cancelled
        +-> cancelled <-+
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import OrderStatus
from process_apis.orders import outbox, repository
from process_apis.orders.models import OrderRow, OrderStatusChange
from service_kit.errors import Conflict

S = OrderStatus

#: Where an order may go from each status (``None``: the order does not exist yet).
TRANSITIONS: dict[OrderStatus | None, frozenset[OrderStatus]] = {
    None: frozenset({S.received}),
    S.received: frozenset({S.accepted, S.rejected, S.on_hold, S.cancelled}),
    # A hold goes back to the status it was held from (received before the sales order, accepted
    # or released after it), or ends the order.
    S.on_hold: frozenset({S.received, S.accepted, S.released, S.rejected, S.cancelled}),
    S.accepted: frozenset({S.released, S.on_hold, S.cancelled}),
    S.released: frozenset({S.shipped, S.on_hold, S.cancelled}),
    S.shipped: frozenset({S.invoiced, S.completed}),
    S.invoiced: frozenset({S.completed}),
    S.rejected: frozenset(),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
}


class IllegalTransition(Conflict):
    """The order's current status does not allow the change asked for."""


def can_change(current: OrderStatus | None, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


async def change_status(
    session: AsyncSession,
    *,
    order: OrderRow,
    to: OrderStatus,
    reason: str | None,
    correlation_id: str,
    at: datetime,
) -> None:
    current = OrderStatus(order.status)
    if not can_change(current, to):
        raise IllegalTransition(
            f"Order {order.id} cannot go from {current.value} to {to.value}.",
            order_id=order.id,
            order_status=current.value,
        )
    order.status = to.value
    order.status_reason = reason
    order.updated_at = at
    await _append(session, order=order, before=current, reason=reason, correlation_id=correlation_id, at=at)
    announced = outbox.event_type(to)
    if announced is not None:
        outbox.record(session, order=order, type_=announced, correlation_id=correlation_id, at=at)


async def _append(
    session: AsyncSession,
    *,
    order: OrderRow,
    before: OrderStatus | None,
    reason: str | None,
    correlation_id: str,
    at: datetime,
) -> None:
    await repository.add_status_change(
        session,
        change=OrderStatusChange(
            order_id=order.id,
            from_status=before.value if before else None,
            to_status=order.status,
            reason=reason,
            correlation_id=correlation_id,
            changed_at=at,
        ),
    )


__all__ = ["TRANSITIONS", "IllegalTransition", "can_change", "change_status"]
