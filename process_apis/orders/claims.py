"""The SQL of claiming due orders several at a time (the worker's pass): the kit's saga claim
(``service_kit.saga.claims``) on the orders table. Takes the caller's session, never commits.

The claim is the same conditional update as ``repository.claim_next_due`` (``next_attempt_at``
moved to the lease's end, only while the order is still due), so two workers never hold the same
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from process_apis.orders.models import OrderRow
from service_kit.saga import claims

_ORDERS = cast(Table, OrderRow.__table__)


async def claim_due(
    session: AsyncSession | AsyncConnection,
    *,
    now: datetime,
    lease_until: datetime,
    worker_id: str,
    limit: int,
    skip: Sequence[str] = (),
) -> list[str]:
    """Up to ``limit`` due orders, oldest first, claimed for ``worker_id`` (which must not be empty)."""
    return await claims.claim_due(
        session, table=_ORDERS, now=now, lease_until=lease_until, worker_id=worker_id, limit=limit, skip=skip
    )


__all__ = ["claim_due"]
