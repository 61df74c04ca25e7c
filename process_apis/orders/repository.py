"""All SQL of the orders service, and the mapping between its rows and the canonical ``Order``.

Functions take the caller's session and never commit: the request or the worker owns the
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Address, Money, Order, OrderLine, OrderStatus, Quantity
from process_apis.orders.models import NO_PARTNER, OrderRow, OrderStatusChange


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_order(row: OrderRow) -> Order:
    return Order(
        id=row.id,
        channel=row.channel,
        channel_order_id=row.channel_order_id,
        partner_id=row.partner_id or None,
        customer_id=row.customer_id,
        currency=row.currency,
        status=OrderStatus(row.status),
        status_reason=row.status_reason,
        lines=[
            OrderLine(
                line_no=line.line_no,
                sku=line.sku,
                quantity=Quantity(value=line.quantity, unit=line.unit),
                unit_price=Money(amount=line.unit_price, currency=row.currency) if line.unit_price else None,
                line_total=Money(amount=line.line_total, currency=row.currency) if line.line_total else None,
                warehouse=line.warehouse,
            )
            for line in row.lines
        ],
        total=Money(amount=row.total_amount, currency=row.currency) if row.total_amount else None,
        erp_order_number=row.erp_order_number,
        reservation_id=row.reservation_id,
        ship_to=Address.model_validate(row.ship_to) if row.ship_to else None,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


async def get_order(session: AsyncSession, *, order_id: str) -> OrderRow | None:
    return await session.get(OrderRow, order_id)


def _natural_key(*, channel: str, partner_id: str | None, channel_order_id: str) -> Select[OrderRow]:
    return select(OrderRow).where(
        OrderRow.channel == channel,
        OrderRow.partner_id == (partner_id or NO_PARTNER),
        OrderRow.channel_order_id == channel_order_id,
    )


async def find_by_natural_key(
    session: AsyncSession, *, channel: str, partner_id: str | None, channel_order_id: str
) -> OrderRow | None:
    stmt = _natural_key(channel=channel, partner_id=partner_id, channel_order_id=channel_order_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_committed_by_natural_key(
    session: AsyncSession, *, channel: str, partner_id: str | None, channel_order_id: str
) -> OrderRow | None:
    """The same lookup through a fresh session: after a failed insert the caller's session is
    unusable until its transaction is rolled back."""
    stmt = _natural_key(channel=channel, partner_id=partner_id, channel_order_id=channel_order_id)
    async with AsyncSession(session.bind, expire_on_commit=False) as fresh:
        return (await fresh.execute(stmt)).scalar_one_or_none()


async def add_order(session: AsyncSession, *, order: OrderRow) -> None:
    """Raises IntegrityError when another order already holds the natural key."""
    session.add(order)
    await session.flush()


async def list_orders(
    session: AsyncSession,
    *,
    partner_id: str | None,
    channel: str | None,
    channel_order_id: str | None,
    status: OrderStatus | None,
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
    stmt = stmt.order_by(OrderRow.created_at, OrderRow.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def add_status_change(session: AsyncSession, *, change: OrderStatusChange) -> None:
    session.add(change)
    await session.flush()


async def status_history(session: AsyncSession, *, order_id: str) -> list[OrderStatusChange]:
    stmt = select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
    return list((await session.execute(stmt)).scalars())


async def claim_next_due(session: AsyncSession, *, now: datetime, lease_until: datetime) -> str | None:
    """Claims the oldest received order that is due (never tried, or its backoff or lease is
    over) by moving its ``next_attempt_at`` to ``lease_until``. The update is conditional, so two
    workers never claim the same order."""
    due = (
        OrderRow.status == OrderStatus.received.value,
        or_(OrderRow.next_attempt_at.is_(None), OrderRow.next_attempt_at <= now),
    )
    for _ in range(3):
        candidate = (
            await session.execute(select(OrderRow.id).where(*due).order_by(OrderRow.created_at, OrderRow.id).limit(1))
        ).scalar_one_or_none()
        if candidate is None:
            return None
        claimed = await session.execute(
            update(OrderRow)
            .where(OrderRow.id == candidate, *due)
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return candidate
    return None


__all__ = [
    "add_order",
    "add_status_change",
    "aware",
    "claim_next_due",
    "find_by_natural_key",
    "find_committed_by_natural_key",
    "get_order",
    "list_orders",
    "status_history",
    "to_order",
]
