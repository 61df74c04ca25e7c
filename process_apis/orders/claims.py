"""The SQL of claiming due orders several at a time (the worker's pass): one transaction claims
up to ``limit`` orders instead of one transaction each. Takes the caller's session, never commits.

The claim is the same conditional update as ``repository.claim_next_due`` (``next_attempt_at``
moved to the lease's end, only while the order is still due), so two workers never hold the same
order; which candidates this worker got is read back by its lease and worker id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.orders.models import OrderRow


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, worker_id: str, limit: int, skip: Sequence[str] = ()
) -> list[str]:
    """Up to ``limit`` due orders, oldest first, claimed for ``worker_id`` (which must not be empty)."""
    due = (OrderRow.saga_active.is_(True), or_(OrderRow.next_attempt_at.is_(None), OrderRow.next_attempt_at <= now))
    stmt = select(OrderRow.id).where(*due)
    if skip:
        stmt = stmt.where(OrderRow.id.not_in(list(skip)))
    candidates = list((await session.execute(stmt.order_by(OrderRow.created_at, OrderRow.id).limit(limit))).scalars())
    if not candidates:
        return []
    await session.execute(
        update(OrderRow)
        .where(OrderRow.id.in_(candidates), *due)
        .values(next_attempt_at=lease_until, claimed_by=worker_id)
        .execution_options(synchronize_session=False)
    )
    mine = select(OrderRow.id).where(
        OrderRow.id.in_(candidates), OrderRow.claimed_by == worker_id, OrderRow.next_attempt_at == lease_until
    )
    got = set((await session.execute(mine)).scalars())
    return [order_id for order_id in candidates if order_id in got]


__all__ = ["claim_due"]
