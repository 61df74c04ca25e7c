"""Group commit: the writes that arrive while one batch is being written go in the next batch, one
transaction for the batch, instead of a transaction per write (the marketplace's and the orders
service's intake use it).

Why hand-written: SQLAlchemy and aiosqlite have no group commit. It is the kit's coalescer
(``coalesce``: a queue and a task) and a transaction; what a batch writes is the caller's
``commit`` (one ``executemany`` per table, say).

How it keeps each write's guarantees:
- a batch commits whole or not at all, so each write is there whole or not at all;
- the common batch has no conflict; any conflict (a key sent again, a row already there, another
  process writing the same rows) fails the batch with an IntegrityError, the batch rolls back, and
  each of its writes is then made on its own, one after the other, by its ``one`` (which answers
  as the unbatched path does);
- the writer runs in a task of its own, so a request that goes away does not stop the batch its
  write is in; each request waits for its own write's outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service_kit.coalesce import Coalescer, Waiting

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

#: Writes a batch's items in the transaction it is given.
Commit = Callable[[AsyncConnection, Sequence[Item]], Awaitable[None]]


@dataclass(slots=True)
class _Write(Generic[Item, Outcome]):
    item: Item
    written: Outcome  # the outcome when the batch commits
    one: Callable[[], Awaitable[Outcome]]  # the write made on its own, when its batch could not take it


class GroupCommit(Generic[Item, Outcome]):
    """One per process (``app.state``), on the service's engine. ``max_batch`` bounds a batch (and
    so how long a transaction holds SQLite's write lock). The queue and its task: ``coalesce``."""

    def __init__(self, engine: AsyncEngine, *, commit: Commit[Item], name: str, max_batch: int = 100) -> None:
        self.engine = engine
        self._commit = commit
        self._writes: Coalescer[_Write[Item, Outcome], Outcome] = Coalescer(
            self._write_batch, name=name, max_batch=max_batch
        )

    @property
    def max_batch(self) -> int:
        return self._writes.max_batch

    async def write(self, item: Item, *, written: Outcome, one: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Write ``item`` in the next batch and answer ``written``; if that batch cannot take it,
        answer what ``one()`` (the same write on its own) answers or raises."""
        return await self._writes.submit(_Write(item, written, one))

    async def _write_batch(self, batch: list[Waiting[_Write[Item, Outcome], Outcome]]) -> None:
        try:
            async with self.engine.begin() as conn:
                await self._commit(conn, [waiting.item.item for waiting in batch])
        except IntegrityError:
            for waiting in batch:  # one after the other: each holds the write lock in turn
                await _one(waiting)
        except Exception as exc:  # the database failed: every write of the batch is told
            for waiting in batch:
                waiting.settle(exception=exc)
        else:
            for waiting in batch:
                waiting.settle(result=waiting.item.written)


async def _one(waiting: Waiting[_Write[Any, Any], Any]) -> None:
    try:
        waiting.settle(result=await waiting.item.one())
    except Exception as exc:
        waiting.settle(exception=exc)


__all__ = ["Commit", "GroupCommit"]
