"""The SQL of claiming due orders several at a time (the worker's pass): one transaction claims
up to ``limit`` orders instead of one transaction each. Takes the caller's session, never commits.

The claim is the same conditional update as ``repository.claim_next_due`` (``next_attempt_at``
moved to the lease's end, only while the order is still due), so two workers never hold the same
order; which candidates this worker got is read back by its lease and worker id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from process_apis.orders.models import OrderRow

_ORDERS = cast(Table, OrderRow.__table__)
_O = _ORDERS.c


async def claim_due(
    session: AsyncSession | AsyncConnection,
    *,
    now: datetime,
    lease_until: datetime,
    worker_id: str,
    limit: int,
    skip: Sequence[str] = (),
) -> list[str]:
    """Up to ``limit`` due orders, oldest first, claimed for ``worker_id`` (which must not be empty).
    Core statements on the table: no ORM state to keep in sync for a claim."""
    due = (_O.saga_active.is_(True), or_(_O.next_attempt_at.is_(None), _O.next_attempt_at <= now))
    stmt = select(_O.id).where(*due)
    if skip:
        stmt = stmt.where(_O.id.not_in(list(skip)))
    candidates = list((await session.execute(stmt.order_by(_O.created_at, _O.id).limit(limit))).scalars())
    if not candidates:
        return []
    await session.execute(
        update(_ORDERS).where(_O.id.in_(candidates), *due).values(next_attempt_at=lease_until, claimed_by=worker_id)
    )
    mine = select(_O.id).where(_O.id.in_(candidates), _O.claimed_by == worker_id, _O.next_attempt_at == lease_until)
    got = set((await session.execute(mine)).scalars())
    return [order_id for order_id in candidates if order_id in got]


__all__ = ["claim_due"]
