"""All SQL of the orders service, and the mapping between its rows and the canonical ``Order``.

Functions take the caller's session and never commit: the request or the worker owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import joinedload

from contracts import Address, Money, Order, OrderLine, OrderStatus, Quantity
from process_apis.orders.events_repository import AnnouncedEvent, events
from process_apis.orders.models import (
    OrderLineRow,
    OrderReplay,
    OrderReservationRow,
    OrderRow,
    OrderStatusChange,
    OrderStepLog,
)
from process_apis.orders.reasons import reason_code

#: Statuses whose order counts against the customer's credit (booked, not yet invoiced).
OPEN_CREDIT_STATUSES = (OrderStatus.accepted.value, OrderStatus.released.value, OrderStatus.shipped.value)


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_order(row: OrderRow) -> Order:
    return _order(row, lines=row.lines, reservation_ids=[r.reservation_id for r in row.reservations])


def _order(row: Any, *, lines: Iterable[Any], reservation_ids: list[str]) -> Order:
    """The canonical order from an ORM row or a Core row (same attribute names)."""
    return Order(
        id=row.id,
        channel=row.channel,
        channel_order_id=row.channel_order_id,
        partner_id=row.partner_id or None,
        customer_id=row.customer_id,
        currency=row.currency,
        status=OrderStatus(row.status),
        status_reason=row.status_reason,
        status_reason_code=reason_code(status=OrderStatus(row.status), hold_kind=row.hold_kind),
        lines=[
            OrderLine(
                line_no=line.line_no,
                sku=line.sku,
                quantity=Quantity(value=line.quantity, unit=line.unit),
                unit_price=Money(amount=line.unit_price, currency=row.currency) if line.unit_price else None,
                line_total=Money(amount=line.line_total, currency=row.currency) if line.line_total else None,
                warehouse=line.warehouse,
            )
            for line in lines
        ],
        total=Money(amount=row.total_amount, currency=row.currency) if row.total_amount else None,
        erp_order_number=row.erp_order_number,
        reservation_id=row.reservation_id,
        ship_to=Address.model_validate(row.ship_to) if row.ship_to else None,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        reservation_ids=reservation_ids,
        failed_step=row.failed_step,
        last_error=row.last_error,
        cancel_outcome=row.cancel_outcome,
    )


#: The canonical order from an ORM row or a Core row (the saga's batched reads use Core rows).
canonical_order = _order

_O, _L, _R = OrderRow.__table__.c, OrderLineRow.__table__.c, OrderReservationRow.__table__.c
_ORDER_COLUMNS = (
    "id", "channel", "channel_order_id", "partner_id", "customer_id", "currency", "status", "status_reason",
    "total_amount", "erp_order_number", "reservation_id", "ship_to", "created_at", "updated_at", "failed_step",
    "last_error", "cancel_outcome", "hold_kind",
)  # fmt: skip
#: The order, its lines and its reservations' ids in one Core statement (lines x reservations
#: rows: both are a handful). No ORM objects: a status read is the hot path. Built once, the
#: order id bound at execution.
_READ_ORDER = (
    select(*(_O[name] for name in _ORDER_COLUMNS))
    .add_columns(_L.line_no, _L.sku, _L.quantity, _L.unit, _L.unit_price, _L.line_total, _L.warehouse)
    .add_columns(_R.seq.label("reservation_seq"), _R.reservation_id.label("reserved_as"))
    .select_from(
        OrderRow.__table__.outerjoin(OrderLineRow.__table__, _L.order_id == _O.id).outerjoin(
            OrderReservationRow.__table__, _R.order_id == _O.id
        )
    )
    .where(_O.id == bindparam("order_id"))
    .order_by(_L.line_no, _R.seq)
)


async def read_order(session: AsyncSession | AsyncConnection, *, order_id: str) -> tuple[Order, str] | None:
    """The canonical order and its stored partner (``NO_PARTNER`` for none), for reading only."""
    rows = (await session.execute(_READ_ORDER, {"order_id": order_id})).all()
    if not rows:
        return None
    lines = {row.line_no: row for row in rows if row.line_no is not None}
    reserved = {row.reservation_seq: row.reserved_as for row in rows if row.reservation_seq is not None}
    order = _order(rows[0], lines=lines.values(), reservation_ids=[reserved[seq] for seq in sorted(reserved)])
    return order, rows[0].partner_id


#: An order with its lines and reservations in one statement: the mapped ``selectin`` default
#: costs two more round trips through aiosqlite's thread, most of a read's CPU. Reservations are
#: one per order (or per warehouse), so the joined rows stay about as many as the lines.
_WHOLE_ORDER = (joinedload(OrderRow.lines), joinedload(OrderRow.reservations))


async def get_order(session: AsyncSession, *, order_id: str) -> OrderRow | None:
    return await session.get(OrderRow, order_id, populate_existing=True, options=_WHOLE_ORDER)


async def list_orders(
    session: AsyncSession,
    *,
    partner_id: str | None,
    channel: str | None = None,
    channel_order_id: str | None = None,
    status: OrderStatus | None = None,
    customer_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int,
    offset: int,
) -> list[OrderRow]:
    stmt = select(OrderRow)
    if partner_id is not None:
        stmt = stmt.where(OrderRow.partner_id == partner_id)
    if channel is not None:
        stmt = stmt.where(OrderRow.channel == channel)
    if channel_order_id is not None:
        stmt = stmt.where(OrderRow.channel_order_id == channel_order_id)
    if status is not None:
        stmt = stmt.where(OrderRow.status == status.value)
    if customer_id is not None:
        stmt = stmt.where(OrderRow.customer_id == customer_id)
    if created_from is not None:
        stmt = stmt.where(OrderRow.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(OrderRow.created_at < created_to)
    stmt = stmt.order_by(OrderRow.created_at, OrderRow.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def list_parked(
    session: AsyncSession,
    *,
    step: str | None,
    hold_kind: str | None,
    reason: str | None,
    parked_before: datetime | None,
    parked_after: datetime | None,
    limit: int,
    offset: int,
) -> list[OrderRow]:
    """The exception queue: orders on hold, oldest parked first."""
    stmt = select(OrderRow).where(OrderRow.status == OrderStatus.on_hold.value, OrderRow.saga_active.is_(False))
    if step is not None:
        stmt = stmt.where(OrderRow.failed_step == step)
    if hold_kind is not None:
        stmt = stmt.where(OrderRow.hold_kind == hold_kind)
    if reason is not None:
        pattern = f"%{reason}%"
        stmt = stmt.where(or_(OrderRow.last_error.ilike(pattern), OrderRow.status_reason.ilike(pattern)))
    if parked_before is not None:
        stmt = stmt.where(OrderRow.parked_at < parked_before)
    if parked_after is not None:
        stmt = stmt.where(OrderRow.parked_at >= parked_after)
    stmt = stmt.order_by(OrderRow.parked_at, OrderRow.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def open_credit_exposure(session: AsyncSession, *, customer_id: str, excluding: str) -> Decimal:
    """The total of the customer's booked, not yet invoiced orders (on hold ones included when
    they were booked before the hold)."""
    booked = or_(
        OrderRow.status.in_(OPEN_CREDIT_STATUSES),
        (OrderRow.status == OrderStatus.on_hold.value) & OrderRow.held_from.in_(OPEN_CREDIT_STATUSES),
    )
    stmt = select(OrderRow.total_amount).where(
        OrderRow.customer_id == customer_id, OrderRow.id != excluding, OrderRow.total_amount.is_not(None), booked
    )
    amounts = (await session.execute(stmt)).scalars()
    return sum((Decimal(amount) for amount in amounts if amount is not None), Decimal(0))


async def add_status_change(session: AsyncSession, *, change: OrderStatusChange) -> None:
    session.add(change)
    await session.flush()


async def status_history(session: AsyncSession, *, order_id: str) -> list[OrderStatusChange]:
    stmt = select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
    return list((await session.execute(stmt)).scalars())


def add_step_log(session: AsyncSession, *, entry: OrderStepLog) -> None:
    session.add(entry)


async def step_log(session: AsyncSession, *, order_id: str) -> list[OrderStepLog]:
    stmt = select(OrderStepLog).where(OrderStepLog.order_id == order_id).order_by(OrderStepLog.id)
    return list((await session.execute(stmt)).scalars())


def add_replay(session: AsyncSession, *, replay: OrderReplay) -> None:
    session.add(replay)


async def get_replay(session: AsyncSession, *, replay_id: int) -> OrderReplay | None:
    return await session.get(OrderReplay, replay_id)


async def replays(session: AsyncSession, *, order_id: str) -> list[OrderReplay]:
    stmt = select(OrderReplay).where(OrderReplay.order_id == order_id).order_by(OrderReplay.id)
    return list((await session.execute(stmt)).scalars())


def _due(now: datetime) -> tuple[object, ...]:
    return (
        OrderRow.saga_active.is_(True),
        or_(OrderRow.next_attempt_at.is_(None), OrderRow.next_attempt_at <= now),
    )


async def claim_next_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    worker_id: str = "",
    skip: Sequence[str] = (),
) -> str | None:
    """Claims the oldest order whose saga is due (never tried, its backoff or lease over) by
    moving its ``next_attempt_at`` to ``lease_until``. The update is conditional, so two workers
    never claim the same order."""
    due = _due(now)
    for _ in range(3):
        stmt = select(OrderRow.id).where(*due)  # type: ignore[arg-type]
        if skip:
            stmt = stmt.where(OrderRow.id.not_in(list(skip)))
        candidate = (
            await session.execute(stmt.order_by(OrderRow.created_at, OrderRow.id).limit(1))
        ).scalar_one_or_none()
        if candidate is None:
            return None
        claimed = await session.execute(
            update(OrderRow)
            .where(OrderRow.id == candidate, *due)  # type: ignore[arg-type]
            .values(next_attempt_at=lease_until, claimed_by=worker_id or None)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return candidate
    return None


async def request_cancellation(session: AsyncSession, *, order_id: str, reason: str, at: datetime) -> None:
    await session.execute(
        update(OrderRow)
        .where(OrderRow.id == order_id, OrderRow.cancel_requested_at.is_(None))
        .values(
            cancel_requested_at=at,
            cancel_reason=reason[:500],
            cancel_outcome=None,
            saga_active=True,
            next_attempt_at=None,
            version=OrderRow.version + 1,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status))
    return {status: int(count) for status, count in rows.all()}


__all__ = [
    "OPEN_CREDIT_STATUSES",
    "AnnouncedEvent",
    "add_replay",
    "add_status_change",
    "add_step_log",
    "aware",
    "canonical_order",
    "claim_next_due",
    "count_by_status",
    "events",
    "get_order",
    "get_replay",
    "list_orders",
    "list_parked",
    "open_credit_exposure",
    "read_order",
    "replays",
    "request_cancellation",
    "status_history",
    "step_log",
    "to_order",
]
