"""Group commit for intake's writes: the Idempotency-Key claims and the answers (the key's answer
with the submitted order's row) that arrive while one batch is being written go in the next batch,
one transaction with one ``executemany`` per statement, instead of a transaction per claim and per
answer (py-spy before: the two commits were most of the marketplace's database share of intake).

Why hand-written: SQLAlchemy and aiosqlite have no group commit, and the kit has none either (the
orders service keeps its own, ``process_apis/orders/intake_writer.py``, which this service may not
import). It is a queue, a task and a transaction.

How it keeps intake's guarantees:
- a batch commits whole or not at all, so each write (a claim; an answer with its order's row) is
  there whole or not at all;
- the common batch has no conflict (new keys, new orders); any conflict (a key sent again, an order
  already recorded, another replica writing the same rows) fails the batch with an IntegrityError,
  the batch rolls back, and each of its writes is then made on its own by its ``one`` (which gives
  the replay, the 422, the 409 or the conflict as the unbatched path does);
- the writer runs in a task of its own, so a request that goes away does not stop the batch its
  write is in; each request waits for its own write's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

Outcome = TypeVar("Outcome")

#: One statement and the values of one of its rows.
Statement = tuple[Executable, dict[str, Any]]


@dataclass(slots=True)
class _Queued(Generic[Outcome]):
    statements: Sequence[Statement]
    written: Outcome  # the outcome when the batch commits
    one: Callable[[], Awaitable[Outcome]]  # the write made on its own, when its batch could not take it
    done: asyncio.Future[Outcome]


class IntakeWriter:
    """One per process (``app.state``), on the service's engine. ``max_batch`` bounds a batch (and
    so how long a transaction holds SQLite's write lock)."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 100) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[_Queued[Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(
        self, statements: Sequence[Statement], *, written: Outcome, one: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        """Run ``statements`` in the next batch and answer ``written``; if that batch cannot take
        them, answer what ``one()`` (the same write on its own) answers or raises."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Read by the request, or here when the request went away, so no failure goes unretrieved.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._queue.append(_Queued(statements, written, one, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="marketplace-intake-writer")
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # writes already on their way to the queue join the first batch
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._commit(batch)
            except IntegrityError:
                for queued in batch:  # one after the other: each holds the write lock in turn
                    await _one(queued)
            except Exception as exc:  # the database failed: every write of the batch is told
                for queued in batch:
                    _settle(queued.done, exception=exc)
            else:
                for queued in batch:
                    _settle(queued.done, result=queued.written)

    async def _commit(self, batch: Sequence[_Queued[Any]]) -> None:
        # Rows grouped by statement, statements in the order they first appear: one executemany each.
        # (Keyed by identity: the statements are built once, at import.)
        grouped: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
        for queued in batch:
            for statement, values in queued.statements:
                grouped.setdefault(id(statement), (statement, []))[1].append(values)
        async with self.engine.begin() as conn:
            for statement, rows in grouped.values():
                await conn.execute(statement, rows)


async def _one(queued: _Queued[Any]) -> None:
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


__all__ = ["IntakeWriter", "Statement"]
