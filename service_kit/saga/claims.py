"""Claiming due saga rows several at a time (a worker's pass), on any table with the saga columns
``id``, ``saga_active``, ``next_attempt_at``, ``claimed_by`` and ``created_at``. Functions take the
caller's session or connection and never commit.

The claim is a conditional update (``next_attempt_at`` moved to the lease's end, only while the
row is still due), so two workers never hold the same row; which candidates this worker got is
read back by its lease and worker id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def claim_due(
    session: AsyncSession | AsyncConnection,
    *,
    table: Table,
    now: datetime,
    lease_until: datetime,
    worker_id: str,
    limit: int,
    skip: Sequence[str] = (),
) -> list[str]:
    """Up to ``limit`` due rows of ``table``, oldest first, claimed for ``worker_id`` (which must
    not be empty). Core statements on the table: no ORM state to keep in sync for a claim."""
    c = table.c
    due = (c.saga_active.is_(True), or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now))
    stmt = select(c.id).where(*due)
    if skip:
        stmt = stmt.where(c.id.not_in(list(skip)))
    # On PostgreSQL the candidates are locked, and rows another worker is claiming right now are
    # skipped, not waited for (its claim would win them: this one would come back empty). SQLite
    # renders no FOR UPDATE (one writer at a time); the conditional update below keeps the claim
    # exact on both.
    stmt = stmt.order_by(c.created_at, c.id).limit(limit).with_for_update(skip_locked=True)
    candidates = list((await session.execute(stmt)).scalars())
    if not candidates:
        return []
    await session.execute(
        update(table).where(c.id.in_(candidates), *due).values(next_attempt_at=lease_until, claimed_by=worker_id)
    )
    mine = select(c.id).where(c.id.in_(candidates), c.claimed_by == worker_id, c.next_attempt_at == lease_until)
    got = set((await session.execute(mine)).scalars())
    return [row_id for row_id in candidates if row_id in got]


async def release_claims(session: AsyncSession | AsyncConnection, *, table: Table, worker_id: str) -> int:
    """At start-up: the claims this worker held before it stopped (a crash, a SIGKILL) are due
    at once instead of after their lease."""
    c = table.c
    done = await session.execute(
        update(table)
        .where(c.claimed_by == worker_id, c.saga_active.is_(True))
        .values(next_attempt_at=None, claimed_by=None)
    )
    return int(getattr(done, "rowcount", 0) or 0)


__all__ = ["claim_due", "release_claims"]
