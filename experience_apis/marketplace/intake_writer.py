"""Group commit for intake's writes (``service_kit.group_commit``): the Idempotency-Key claims and
the answers (the key's answer with the submitted order's row) that arrive while one batch is being
written go in the next batch, one transaction with one ``executemany`` per statement, instead of a
transaction per claim and per answer (py-spy before: the two commits were most of the marketplace's
database share of intake). A conflict fails the batch and each write is made on its own by its
``one`` (the replay, the 422, the 409 or the conflict as the unbatched path gives).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service_kit.group_commit import GroupCommit

#: One statement and the values of one of its rows.
Statement = tuple[Executable, dict[str, Any]]


class IntakeWriter(GroupCommit[Sequence[Statement], Any]):
    """One per process (``app.state``), on the service's engine."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 100) -> None:
        super().__init__(engine, commit=_commit, name="marketplace-intake-writer", max_batch=max_batch)


async def _commit(conn: AsyncConnection, batch: Sequence[Sequence[Statement]]) -> None:
    # Rows grouped by statement, statements in the order they first appear: one executemany each.
    # (Keyed by identity: the statements are built once, at import.)
    grouped: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
    for statements in batch:
        for statement, values in statements:
            grouped.setdefault(id(statement), (statement, []))[1].append(values)
    for statement, rows in grouped.values():
        await conn.execute(statement, rows)


__all__ = ["IntakeWriter", "Statement"]
