"""The saga's SQL in batches, as Core statements built once (values bound at execution): the
orders a pass claimed read in three statements whatever their number, and the forward steps'
successes of many orders written in one transaction (``flows.recorder``), one executemany per
statement shape. No ORM objects: on the saga's write path their loading and unit of work cost
more than the rows (py-spy: ORM 36%, Core 34% of the worker's CPU per order before).

Every order update is conditional on the row being exactly as the saga last saw it (its
``version``, active, at the step that ran), and moves the version on as the ORM's optimistic lock
does, so a concurrent change (a cancellation, a replay) is never overwritten: the caller compares
the rows updated with the rows asked for and, when they differ, rolls back and records each order
through the ORM path instead. Functions take the caller's session or connection and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from process_apis.orders.models import (
    OrderLineRow,
    OrderReservationRow,
    OrderRow,
    OrderStatusChange,
    OrderStepLog,
    SagaStep,
)
from service_kit.events.outbox import OutboxRecord

_ORDERS = cast(Table, OrderRow.__table__)
_LINES = cast(Table, OrderLineRow.__table__)
_RESERVATIONS = cast(Table, OrderReservationRow.__table__)
_O, _L, _R = _ORDERS.c, _LINES.c, _RESERVATIONS.c

_SELECT_ORDERS = select(_ORDERS).where(_O.id.in_(bindparam("ids", expanding=True)))
_SELECT_LINES = (
    select(_LINES).where(_L.order_id.in_(bindparam("ids", expanding=True))).order_by(_L.order_id, _L.line_no)
)
_SELECT_RESERVATIONS = (
    select(_RESERVATIONS).where(_R.order_id.in_(bindparam("ids", expanding=True))).order_by(_R.order_id, _R.seq)
)


async def load_orders(
    session: AsyncSession | AsyncConnection, *, order_ids: Sequence[str]
) -> list[tuple[Row[Any], list[Row[Any]], list[Row[Any]]]]:
    """Each order (in ``order_ids``' order, missing ones left out) with its lines and reservations."""
    if not order_ids:
        return []
    params = {"ids": list(order_ids)}
    orders = {row.id: row for row in await session.execute(_SELECT_ORDERS, params)}
    lines: dict[str, list[Row[Any]]] = {}
    for line in await session.execute(_SELECT_LINES, params):
        lines.setdefault(line.order_id, []).append(line)
    reservations: dict[str, list[Row[Any]]] = {}
    for reservation in await session.execute(_SELECT_RESERVATIONS, params):
        reservations.setdefault(reservation.order_id, []).append(reservation)
    return [(orders[i], lines.get(i, []), reservations.get(i, [])) for i in order_ids if i in orders]


_DT = _O.next_attempt_at.type
#: The claim's lease, moved on while the order moves (as ``flows.saga.in_step`` does).
_LEASE = case(
    (
        and_(_O.next_attempt_at > bindparam("b_now", type_=_DT), _O.next_attempt_at < bindparam("b_lease", type_=_DT)),
        bindparam("b_lease", type_=_DT),
    ),
    else_=_O.next_attempt_at,
)
_WHERE = (
    _O.id == bindparam("b_id"),
    _O.version == bindparam("b_version"),
    _O.saga_active.is_(True),
    _O.saga_step == bindparam("b_step"),
)
_FORWARD = {
    "version": bindparam("b_new_version"),
    "saga_step": bindparam("b_next"),
    "attempts": 0,
    "last_error": None,
    "failed_step": None,
    "updated_at": bindparam("b_at", type_=_DT),
}


def _update(**values: Any) -> Any:
    return update(_ORDERS).where(*_WHERE).values(**_FORWARD, **values)


#: One statement per shape of a forward step's success (see ``flows.recorder``).
ORDER_UPDATES: Mapping[str, Any] = {
    SagaStep.price_order.value: _update(total_amount=bindparam("b_total"), next_attempt_at=_LEASE),
    SagaStep.check_credit.value: _update(next_attempt_at=_LEASE),
    SagaStep.reserve_stock.value: _update(
        reservation_id=bindparam("b_reservation"), pivot_attempted=True, next_attempt_at=_LEASE
    ),
    SagaStep.create_sales_order.value: _update(
        erp_order_number=bindparam("b_number"), status="accepted", status_reason=None, next_attempt_at=_LEASE
    ),
    SagaStep.release_to_warehouse.value: _update(
        status="released", status_reason=None, activity_attempted=True, next_attempt_at=_LEASE
    ),
    SagaStep.record_activity.value: _update(
        saga_active=False,
        next_attempt_at=None,
        claimed_by=None,
        compensating_for=None,
        compensation=[],
        resume_step=None,
        hold_kind=None,
        held_from=None,
    ),
}

_PRICE_LINES = (
    update(_LINES)
    .where(_L.order_id == bindparam("b_order"), _L.line_no == bindparam("b_line"))
    .values(unit_price=bindparam("b_price"), line_total=bindparam("b_total"))
)
_LINE_WAREHOUSES = (
    update(_LINES)
    .where(_L.order_id == bindparam("b_order"), _L.line_no == bindparam("b_line"))
    .values(warehouse=bindparam("b_warehouse"))
)
_PICKING = update(_RESERVATIONS).where(_R.order_id == bindparam("b_order")).values(status="picking")
_INSERT_RESERVATIONS = insert(_RESERVATIONS)
_INSERT_STEP_LOG = insert(cast(Table, OrderStepLog.__table__))
_INSERT_HISTORY = insert(cast(Table, OrderStatusChange.__table__))
_INSERT_OUTBOX = insert(cast(Table, OutboxRecord.__table__))


async def update_orders(
    session: AsyncSession | AsyncConnection, *, shape: str, params: list[dict[str, Any]], now: datetime
) -> int:
    """The orders' rows updated for one shape (``ORDER_UPDATES``); returns how many matched."""
    for values in params:
        values.setdefault("b_now", now)
        values.setdefault("b_at", now)
    result = await session.execute(ORDER_UPDATES[shape], params)
    return int(getattr(result, "rowcount", 0) or 0)


async def write_batch(
    session: AsyncSession | AsyncConnection,
    *,
    prices: list[dict[str, Any]],
    warehouses: list[dict[str, Any]],
    reservations: list[dict[str, Any]],
    picking: list[str],
    step_logs: list[dict[str, Any]],
    history: list[dict[str, Any]],
    outbox: list[dict[str, Any]],
) -> None:
    """The rows that go with the orders' updates, one executemany per table."""
    if prices:
        await session.execute(_PRICE_LINES, prices)
    if warehouses:
        await session.execute(_LINE_WAREHOUSES, warehouses)
    if reservations:
        await session.execute(_INSERT_RESERVATIONS, reservations)
    if picking:
        await session.execute(_PICKING, [{"b_order": order_id} for order_id in picking])
    if step_logs:
        await session.execute(_INSERT_STEP_LOG, step_logs)
    if history:
        await session.execute(_INSERT_HISTORY, history)
    if outbox:
        await session.execute(_INSERT_OUTBOX, outbox)


__all__ = ["ORDER_UPDATES", "load_orders", "update_orders", "write_batch"]
