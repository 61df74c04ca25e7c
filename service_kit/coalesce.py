"""Coalescing: what arrives while one batch is being handled goes in the next batch, and each caller
waits for its own item's outcome. The kit's group commit (``group_commit``: a transaction per batch)
and the marketplace's order hand-over (a ``POST /v1/order-batches`` per batch) are built on it.

Why hand-written: it is a queue, one task and a future per item; neither asyncio, SQLAlchemy nor
the HTTP clients coalesce. The batch runs in a task of its own, so a caller that goes away (a
request cancelled) does not stop the batch its item is in, and its outcome stands.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass(slots=True)
class Waiting(Generic[Item, Outcome]):
    """An item in a batch, and the future its caller waits on."""

    item: Item
    done: asyncio.Future[Outcome]

    def settle(self, *, result: Any = None, exception: BaseException | None = None) -> None:
        if self.done.done():  # its caller is gone (cancelled): the outcome stands where it was made
            return
        if exception is not None:
            self.done.set_exception(exception)
        else:
            self.done.set_result(result)


#: Handles one batch: settles every item (one left unsettled is told the handler's failure).
Handle = Callable[[list[Waiting[Item, Outcome]]], Awaitable[None]]


class Coalescer(Generic[Item, Outcome]):
    """One per process (``app.state``). ``max_batch`` bounds a batch. ``own_context``: the batch
    task runs in a fresh context, not that of the caller that happened to start it."""

    def __init__(self, handle: Handle[Item, Outcome], *, name: str, max_batch: int, own_context: bool = False) -> None:
        self.max_batch = max_batch
        self._handle = handle
        self._name = name
        self._own_context = own_context
        self._queue: list[Waiting[Item, Outcome]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Items queued for the next batch."""
        return len(self._queue)

    async def submit(self, item: Item) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Read by the caller, or here when the caller went away, so no failure goes unretrieved.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._queue.append(Waiting(item, done))
        if self._task is None or self._task.done():
            context = contextvars.Context() if self._own_context else None
            self._task = asyncio.create_task(self._drain(), name=self._name, context=context)
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # items already on their way to the queue join the first batch
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._handle(batch)
            except Exception as exc:  # a bug of the handler's, say: no caller waits for ever
                for waiting in batch:
                    waiting.settle(exception=exc)


__all__ = ["Coalescer", "Handle", "Waiting"]
