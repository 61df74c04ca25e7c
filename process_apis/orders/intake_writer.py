"""Group commit for intake (``service_kit.group_commit``): the orders that arrive while one batch
is being written go in the next batch, written as one transaction with one ``executemany`` per
table, instead of a transaction and four statements per order. A conflict (a key sent again, an
order already received) fails the batch, and each of its orders is then written on its own by
``record_one`` (which answers the replay, the 422 or the 409 as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from process_apis.orders import intake_repository as sql
from service_kit.group_commit import GroupCommit

Outcome = TypeVar("Outcome")


@dataclass(frozen=True, slots=True)
class Rows:
    """One order's rows: its key with the answer, the order, its lines and its first history entry."""

    key: dict[str, Any]
    order: dict[str, Any]
    lines: list[dict[str, Any]]
    history: dict[str, Any]


class IntakeWriter(GroupCommit[Rows, Outcome]):
    """One per process (``app.state``), on the service's engine."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 100) -> None:
        super().__init__(engine, commit=_commit, name="orders-intake-writer", max_batch=max_batch)


async def _commit(conn: AsyncConnection, batch: Sequence[Rows]) -> None:
    await sql.insert_batch(
        conn,
        keys=[rows.key for rows in batch],
        orders=[rows.order for rows in batch],
        lines=[line for rows in batch for line in rows.lines],
        history=[rows.history for rows in batch],
    )


__all__ = ["IntakeWriter", "Rows"]
