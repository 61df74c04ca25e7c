"""Group commit: the writes that arrive while one batch is being written go in the next batch, one
transaction for the batch, instead of a transaction per write (the marketplace's and the orders
service's intake use it).

Why hand-written: SQLAlchemy and aiosqlite have no group commit. It is a queue, a task and a
transaction; what a batch writes is the caller's ``commit`` (one ``executemany`` per table, say).

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

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

#: Writes a batch's items in the transaction it is given.
Commit = Callable[[AsyncConnection, Sequence[Item]], Awaitable[None]]


@dataclass(slots=True)
class _Queued(Generic[Item, Outcome]):
    item: Item
    written: Outcome  # the outcome when the batch commits
    one: Callable[[], Awaitable[Outcome]]  # the write made on its own, when its batch could not take it
    done: asyncio.Future[Outcome]


class GroupCommit(Generic[Item, Outcome]):
    """One per process (``app.state``), on the service's engine. ``max_batch`` bounds a batch (and
    so how long a transaction holds SQLite's write lock)."""

    def __init__(self, engine: AsyncEngine, *, commit: Commit[Item], name: str, max_batch: int = 100) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._commit = commit
        self._name = name
        self._queue: list[_Queued[Item, Outcome]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, item: Item, *, written: Outcome, one: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Write ``item`` in the next batch and answer ``written``; if that batch cannot take it,
        answer what ``one()`` (the same write on its own) answers or raises."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Read by the request, or here when the request went away, so no failure goes unretrieved.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._queue.append(_Queued(item, written, one, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=self._name)
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # writes already on their way to the queue join the first batch
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                async with self.engine.begin() as conn:
                    await self._commit(conn, [queued.item for queued in batch])
            except IntegrityError:
                for queued in batch:  # one after the other: each holds the write lock in turn
                    await _one(queued)
            except Exception as exc:  # the database failed: every write of the batch is told
                for queued in batch:
                    _settle(queued.done, exception=exc)
            else:
                for queued in batch:
                    _settle(queued.done, result=queued.written)


async def _one(queued: _Queued[Any, Any]) -> None:
    try:
        _settle(queued.done, result=await queued.one())
    except Exception as exc:
        _settle(queued.done, exception=exc)


def _settle(done: asyncio.Future[Any], *, result: Any = None, exception: BaseException | None = None) -> None:
    if done.done():  # its request is gone (cancelled): its write's outcome stands in the database
        return
    if exception is not None:
        done.set_exception(exception)
    else:
        done.set_result(result)


__all__ = ["Commit", "GroupCommit"]
