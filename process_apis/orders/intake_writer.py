"""Group commit for intake: the orders that arrive while one batch is being written go in the next
batch, written as one transaction with one ``executemany`` per table, instead of a transaction and
four statements per order.

Why hand-written: it is a queue, a task and a transaction, specific to intake's four tables
(SQLAlchemy and aiosqlite have no group commit; a generic one would need savepoints per order).

How it keeps intake's guarantees:
- a batch commits whole or not at all, so each order is written with its key's answer or not;
- the common batch has no conflict (new keys, new orders); any conflict (a key sent again, an order
  already received, another process writing the same rows) fails the batch's inserts with an
  IntegrityError, the batch rolls back, and each of its orders is then written on its own by
  ``record_one`` (which answers the replay, the 422 or the 409 as before);
- the writer runs in a task of its own, so a request that goes away (its client gave up) does not
  stop the batch its order is in; each request waits for its own order's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from process_apis.orders import intake_repository as sql

Outcome = TypeVar("Outcome")


@dataclass(frozen=True, slots=True)
class Rows:
    """One order's rows: its key with the answer, the order, its lines and its first history entry."""

    key: dict[str, Any]
    order: dict[str, Any]
    lines: list[dict[str, Any]]
    history: dict[str, Any]


@dataclass(slots=True)
class _Queued(Generic[Outcome]):
    rows: Rows
    written: Outcome  # the outcome when the batch commits
    one: Callable[[], Awaitable[Outcome]]  # the order written on its own, when its batch could not be
    done: asyncio.Future[Outcome]


class IntakeWriter(Generic[Outcome]):
    """One per process (``app.state``), on the service's engine. ``max_batch`` bounds a batch (and
    so how long a transaction holds SQLite's write lock)."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 100) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[_Queued[Outcome]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, rows: Rows, *, written: Outcome, one: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Write ``rows`` in the next batch and answer ``written``; if that batch cannot take them,
        answer what ``one()`` (the order written on its own) answers or raises."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Read by the request, or here when the request went away, so no failure goes unretrieved.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._queue.append(_Queued(rows, written, one, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="orders-intake-writer")
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # orders already on their way to the queue join the first batch
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._commit([queued.rows for queued in batch])
            except IntegrityError:
                for queued in batch:  # one after the other: each holds the write lock in turn
                    await self._one(queued)
            except Exception as exc:  # the database failed: every order of the batch is told
                for queued in batch:
                    _settle(queued.done, exception=exc)
            else:
                for queued in batch:
                    _settle(queued.done, result=queued.written)

    async def _commit(self, batch: Sequence[Rows]) -> None:
        async with self.engine.begin() as conn:
            await sql.insert_batch(
                conn,
                keys=[rows.key for rows in batch],
                orders=[rows.order for rows in batch],
                lines=[line for rows in batch for line in rows.lines],
                history=[rows.history for rows in batch],
            )

    async def _one(self, queued: _Queued[Outcome]) -> None:
        try:
            _settle(queued.done, result=await queued.one())
        except Exception as exc:
            _settle(queued.done, exception=exc)


def _settle(done: asyncio.Future[Any], *, result: Any = None, exception: BaseException | None = None) -> None:
    if done.done():  # its request is gone (cancelled): its order's outcome stands in the database
        return
    if exception is not None:
        done.set_exception(exception)
    else:
        done.set_result(result)


__all__ = ["IntakeWriter", "Rows"]
